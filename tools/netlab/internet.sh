#!/usr/bin/env bash
# internet.sh - xppg's "internet" lab: two home routers with real nftables NAT on one wan.
#
#   <p>wan : the internet: bridge br0 198.18.0.1/24 + 198.18.0.2 + 198.18.0.3 (public hosts:
#            relays, a public node), stund (STUN, two IPs x two ports)
#   <p>r1  : router  wan0 198.18.0.11  lan0 198.19.1.1/24 (bridge)  NAT: cone|symmetric
#   <p>h1  : host behind r1  198.19.1.2        <p>h1b : second host behind r1  198.19.1.3
#   <p>r2  : router  wan0 198.18.0.12  lan0 198.19.2.1/24           NAT: cone|symmetric
#   <p>h2  : host behind r2  198.19.2.2
#
# NAT modes (nftables, table inet xppg in each router):
#   cone       plain masquerade: keeps the source port when it can, one public port per
#              local port whatever the destination (endpoint-independent mapping); the
#              stateful filter lets in only replies from where a packet went
#              (port-restricted cone, "drop unsolicited")
#   symmetric  masquerade random: a new random public port per destination
# Unsolicited packets to a router's wan address are dropped (no RST, no ICMP).
#
# Only 198.18.0.0/15 (RFC 2544) is used. In the root namespace the script only creates
# and deletes its own namespaces (every veth is made inside them); it only ever signals
# processes whose pid and start time it recorded. Needs root, iproute2, nftables; for
# "upnp-start" miniupnpd(-nftables) and stun-server.

set -Eeuo pipefail

PFX=${NETLAB_PREFIX:-xppg-inet-}
ARGS=()
for a in "$@"; do
    case $a in --prefix=*) PFX=${a#--prefix=} ;; *) ARGS+=("$a") ;; esac
done
set -- ${ARGS[@]+"${ARGS[@]}"}
[[ "$PFX" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$ ]] || { echo "internet: error: bad prefix '$PFX'" >&2; exit 2; }
RUN_DIR=${NETLAB_RUN_DIR:-${TMPDIR:-/tmp}/netlab-${PFX%-}}

NS_WAN=${PFX}wan NS_R1=${PFX}r1 NS_H1=${PFX}h1 NS_H1B=${PFX}h1b NS_R2=${PFX}r2 NS_H2=${PFX}h2
ALL_NS=("$NS_H1" "$NS_H1B" "$NS_H2" "$NS_R1" "$NS_R2" "$NS_WAN")
WAN_IPS=(198.18.0.1 198.18.0.2 198.18.0.3)
STUN_PORT=3478 STUN_PORT2=3479 UPNP_HTTP_PORT=5000 NFT_TABLE=xppg

log()  { echo "internet: $*"; }
warn() { echo "internet: warning: $*" >&2; }
die()  { echo "internet: error: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (network namespaces need CAP_NET_ADMIN)"; }
need_cmd() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "'$c' not found (apt-get install -y iproute2 nftables miniupnpd miniupnpd-nftables stun-server)"; done; }
ns_exists() { [ -e "/run/netns/$1" ]; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_of() {
    case $1 in wan) echo "$NS_WAN" ;; r1) echo "$NS_R1" ;; h1) echo "$NS_H1" ;; h1b) echo "$NS_H1B" ;; r2) echo "$NS_R2" ;; h2) echo "$NS_H2" ;;
        *) die "unknown lab namespace '$1' (wan r1 h1 h1b r2 h2)" ;; esac
}
ns_is_ours() {
    local a l
    for l in $(ip -n "$1" -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
        case $l in lo|br0|r1|r2|wan0|lan0|eth0|p1|p2) ;; *) return 1 ;; esac
    done
    for a in $(ip -n "$1" -4 -o addr show 2>/dev/null | awk '{print $4}'); do
        case $a in 127.*|198.18.*|198.19.*) ;; *) return 1 ;; esac
    done
}
check_ownership() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        if ns_exists "$ns" && ! ns_is_ours "$ns"; then die "namespace '$ns' does not look like ours; not touching it (pick another --prefix)"; fi
    done
}
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
pidfile_pid() {
    local pid st; [ -f "$1" ] || return 1
    read -r pid st <"$1" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -e "/proc/$pid" ] && [ "$(proc_start "$pid")" = "$st" ] || return 1
    echo "$pid"
}
kill_pidfile() {
    local pid i
    if pid=$(pidfile_pid "$1"); then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 60); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
        [ -e "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}
start_bg() {
    local name=$1 ns=$2 pid; shift 2
    mkdir -p "$RUN_DIR"
    nohup ip netns exec "$ns" "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid $(proc_start "$pid")" >"$RUN_DIR/$name.pid"
}

cmd_down() {
    need_root; check_ownership
    local f ns left n=0
    for f in "$RUN_DIR"/*.pid; do [ -f "$f" ] && kill_pidfile "$f"; done
    for ns in "${ALL_NS[@]}"; do
        ns_exists "$ns" || continue
        left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ' || true)
        [ -n "$left" ] && warn "processes not started by the lab still run in $ns: $left"
        ip netns del "$ns"; n=$((n+1))
    done
    rm -rf "$RUN_DIR"
    log "down: removed $n namespace(s) with prefix '$PFX'"
}

nat_rule() {  # nat_rule <lan> <cone|symmetric>
    case $2 in
        cone) echo "ip saddr $1 oifname \"wan0\" masquerade" ;;
        symmetric) echo "ip saddr $1 oifname \"wan0\" masquerade random" ;;
        *) die "unknown NAT mode '$2' (cone or symmetric)" ;;
    esac
}
router_nft() {  # router_nft <lan> <mode>
    cat <<NFT
table inet $NFT_TABLE {
    chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }
    chain prerouting_miniupnpd { }
    chain postrouting { type nat hook postrouting priority srcnat; policy accept; jump postrouting_miniupnpd; jump masq; }
    chain postrouting_miniupnpd { }
    chain masq { $(nat_rule "$1" "$2"); }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "lan0" oifname "wan0" accept
        # hosts on one LAN talk directly (bridged traffic meets this hook when br_netfilter is loaded)
        iifname "lan0" oifname "lan0" accept
        iifname "wan0" oifname "lan0" jump miniupnpd
    }
    chain miniupnpd { }
    chain input {
        type filter hook input priority filter; policy accept;
        iifname "wan0" ct state established,related accept
        iifname "wan0" ip saddr { ${WAN_IPS[0]}, ${WAN_IPS[1]} } udp sport { $STUN_PORT, $STUN_PORT2 } accept
        iifname "wan0" icmp type echo-request accept
        iifname "wan0" drop
    }
}
NFT
}

cmd_up() {
    local r1=cone r2=cone a
    for a in "$@"; do
        case $a in --r1=*) r1=${a#--r1=} ;; --r2=*) r2=${a#--r2=} ;; *) die "up: unknown option '$a' (--r1=cone|symmetric --r2=...)" ;; esac
    done
    nat_rule x "$r1" >/dev/null; nat_rule x "$r2" >/dev/null
    need_root; need_cmd ip nft
    cmd_down >/dev/null
    mkdir -p "$RUN_DIR"
    trap 'rc=$?; trap - ERR; echo "internet: error: up failed at line $LINENO: $BASH_COMMAND - rolling back" >&2; cmd_down >/dev/null 2>&1 || true; exit $rc' ERR
    local ns ip i
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        nsx "$ns" ip link set lo up
        nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    nsx "$NS_WAN" ip link add br0 type bridge
    for ip in "${WAN_IPS[@]}"; do nsx "$NS_WAN" ip addr add "$ip/24" dev br0; done
    nsx "$NS_WAN" ip link set br0 up
    for i in 1 2; do
        local r=${PFX}r$i mode; [ $i = 1 ] && mode=$r1 || mode=$r2
        ip -n "$NS_WAN" link add "r$i" type veth peer name wan0 netns "$r"
        nsx "$NS_WAN" ip link set "r$i" master br0 up
        nsx "$r" ip addr add "198.18.0.1$i/24" dev wan0
        nsx "$r" ip link set wan0 up
        nsx "$r" ip link add lan0 type bridge
        nsx "$r" ip addr add "198.19.$i.1/24" dev lan0
        nsx "$r" ip link set lan0 up
        nsx "$r" sysctl -qw net.ipv4.ip_forward=1
        nsx "$r" ip route add default via "${WAN_IPS[0]}"
        router_nft "198.19.$i.0/24" "$mode" | nsx "$r" nft -f -
    done
    # hosts: h1 and h1b share r1's LAN, h2 sits behind r2
    local h hip r p
    for h in h1:198.19.1.2:1:p1 h1b:198.19.1.3:1:p2 h2:198.19.2.2:2:p1; do
        IFS=: read -r ns hip r p <<<"$h"
        ns=${PFX}$ns
        ip -n "${PFX}r$r" link add "$p" type veth peer name eth0 netns "$ns"
        nsx "${PFX}r$r" ip link set "$p" master lan0 up
        nsx "$ns" ip addr add "$hip/24" dev eth0
        nsx "$ns" ip link set eth0 up
        nsx "$ns" ip route add default via "198.19.$r.1"
    done
    if command -v stund >/dev/null 2>&1; then
        start_bg stund "$NS_WAN" stund -h "${WAN_IPS[0]}" -a "${WAN_IPS[1]}" -p "$STUN_PORT" -o "$STUN_PORT2"
    fi
    trap - ERR
    log "up: ${ALL_NS[*]} ready (r1 $r1, r2 $r2)"
}

cmd_nat() {  # nat <r1|r2> <cone|symmetric>
    need_root
    [ $# = 2 ] || die "usage: internet.sh nat <r1|r2> <cone|symmetric>"
    local r i; r=$(ns_of "$1"); i=${1#r}
    printf 'flush chain inet %s masq\nadd rule inet %s masq %s\n' "$NFT_TABLE" "$NFT_TABLE" "$(nat_rule "198.19.$i.0/24" "$2")" | nsx "$r" nft -f -
    nsx "$r" sh -c 'command -v conntrack >/dev/null && conntrack -F >/dev/null 2>&1 || true'
    log "nat: $1 is now $2"
}

cmd_upnp_start() {  # upnp-start <r1|r2> [--natpmp] [--no-upnp]
    need_root; need_cmd miniupnpd stund
    local which=${1:-}; [ -n "$which" ] || die "usage: internet.sh upnp-start <r1|r2> [--natpmp] [--no-upnp]"; shift
    local upnp=yes natpmp=no a r i
    for a in "$@"; do case $a in --natpmp) natpmp=yes ;; --no-upnp) upnp=no ;; *) die "upnp-start: unknown '$a'" ;; esac; done
    r=$(ns_of "$which"); i=${which#r}
    kill_pidfile "$RUN_DIR/miniupnpd-$which.pid"
    cat >"$RUN_DIR/miniupnpd-$which.conf" <<CONF
ext_ifname=wan0
listening_ip=lan0
http_port=$UPNP_HTTP_PORT
ipv6_disable=yes
enable_upnp=$upnp
enable_natpmp=$natpmp
secure_mode=yes
system_uptime=no
ext_perform_stun=yes
ext_stun_host=${WAN_IPS[0]}
ext_stun_port=$STUN_PORT
upnp_table_name=$NFT_TABLE
upnp_nat_table_name=$NFT_TABLE
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=$(cat /proc/sys/kernel/random/uuid)
friendly_name=xppg internet lab $which
allow 1024-65535 198.19.$i.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
    start_bg "miniupnpd-$which" "$r" miniupnpd -d -f "$RUN_DIR/miniupnpd-$which.conf" -P "$RUN_DIR/miniupnpd-$which.daemon"
    for a in $(seq 1 80); do
        pidfile_pid "$RUN_DIR/miniupnpd-$which.pid" >/dev/null || break
        if grep -q 'Port forwarding is now enabled' "$RUN_DIR/miniupnpd-$which.log" \
            && { [ "$upnp" = no ] || nsx "$r" ss -Hltn "sport = :$UPNP_HTTP_PORT" | grep -q LISTEN; }; then
            log "upnp-start: miniupnpd in $r (UPnP $upnp, NAT-PMP/PCP $natpmp)"; return 0
        fi
        sleep 0.1
    done
    tail -20 "$RUN_DIR/miniupnpd-$which.log" >&2 || true
    kill_pidfile "$RUN_DIR/miniupnpd-$which.pid"
    die "miniupnpd did not start in $r"
}

usage() {
    cat <<USAGE
usage: internet.sh [--prefix=P] <command>

  up [--r1=cone|symmetric] [--r2=cone|symmetric]   build the lab (removes leftovers first)
  down                                             stop the lab's processes, delete its namespaces
  nat <r1|r2> <cone|symmetric>                     change a router's NAT on the fly
  upnp-start <r1|r2> [--natpmp] [--no-upnp]        start miniupnpd in a router
  exec <wan|r1|h1|h1b|r2|h2> <cmd...>              run a command in a lab namespace
  names                                            print the namespace names
Prefix: --prefix=P or NETLAB_PREFIX (default xppg-inet-); tests use xppg-<pid>-.
USAGE
}

case ${1:-help} in
    up) shift; cmd_up "$@" ;;
    down) cmd_down ;;
    nat) shift; cmd_nat "$@" ;;
    upnp-start) shift; cmd_upnp_start "$@" ;;
    exec) need_root; [ $# -ge 3 ] || die "usage: internet.sh exec <ns> <cmd...>"; ns=$(ns_of "$2"); shift 2; exec ip netns exec "$ns" "$@" ;;
    names) printf '%s\n' "${ALL_NS[@]}" ;;
    help|-h|--help) usage ;;
    *) usage >&2; die "unknown command '$1'" ;;
esac
