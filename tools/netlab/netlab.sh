#!/usr/bin/env bash
# netlab.sh - xppg's network-namespace lab: one UPnP gateway between a "wan" and a host.
#
#   <p>wan : the "internet": bridge br0 198.18.0.1/24 + 198.18.0.2 (stund, two IPs x two ports)
#   <p>r   : home router  wan0 198.18.0.11/24  lan0 198.19.1.1/24  nftables masquerade,
#            stateful firewall, miniupnpd (IGDv1 or IGDv2)
#   <p>h   : host behind r  eth0 198.19.1.2/24, default route via 198.19.1.1
#
# A second, independent topology for LAN discovery tests ("lan-up N"):
#   <p>lan : bridge br0 (no address), multicast on
#   <p>l1 .. <p>lN : hosts, eth0 198.18.5.N/24, multicast on, route 224.0.0.0/4 via eth0
#
# <p> is the namespace prefix (NETLAB_PREFIX or --prefix, default "xppg-lab-"). Tests
# use "xppg-<pid>-", so parallel runs never share a namespace.
#
# Only 198.18.0.0/15 (RFC 2544 benchmarking) is used. In the root namespace this
# script only creates and deletes its own namespaces; every veth is created directly
# inside the lab namespaces, so the root namespace's addresses, routes and firewall
# are never touched. It only ever kills processes whose pid it recorded itself.
#
# Needs root, iproute2 and nftables; for UPnP also miniupnpd + miniupnpd-nftables and
# stun-server (stund). Run "netlab.sh help" for the commands.

set -Eeuo pipefail

# ----------------------------------------------------------------- settings --
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PFX=${NETLAB_PREFIX:-xppg-lab-}
# parse a leading --prefix=... (may come before or after the command)
ARGS=()
for a in "$@"; do
    case $a in
        --prefix=*) PFX=${a#--prefix=} ;;
        *) ARGS+=("$a") ;;
    esac
done
set -- ${ARGS[@]+"${ARGS[@]}"}

[[ "$PFX" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] || { echo "netlab: error: bad prefix '$PFX' (letters, digits, _ . - only)" >&2; exit 2; }
RUN_DIR=${NETLAB_RUN_DIR:-${TMPDIR:-/tmp}/netlab-${PFX%-}}

NS_WAN=${PFX}wan NS_R=${PFX}r NS_H=${PFX}h
ALL_NS=("$NS_H" "$NS_R" "$NS_WAN")
NS_LAN=${PFX}lan                               # LAN topology: the bridge
LAN_NET=198.18.5 LAN_MAX_HOSTS=20              # hosts <p>l1.. at 198.18.5.1..

WAN_IP=198.18.0.1 WAN_IP2=198.18.0.2          # second address = STUN "alternate IP"
R_WAN=198.18.0.11 R_LAN=198.19.1.1 H_IP=198.19.1.2 LAN=198.19.1.0/24
STUN_PORT=3478 STUN_PORT2=3479
UPNP_HTTP_PORT=5000
NFT_TABLE=xppg

# ------------------------------------------------------------------ helpers --
QUIET=0
log()  { [ "$QUIET" = 1 ] || echo "netlab: $*"; }
warn() { echo "netlab: warning: $*" >&2; }
die()  { echo "netlab: error: $*" >&2; exit 1; }
on_err() {
    local rc=$1 line=$2 cmd=$3
    [ "$BASHPID" = "$$" ] || exit "$rc"
    echo "netlab: error: command failed (exit $rc) at line $line: $cmd" >&2
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (network namespaces need CAP_NET_ADMIN)"; }
pkg_for() {
    case $1 in
        ip) echo iproute2 ;; nft) echo nftables ;;
        miniupnpd) echo "miniupnpd miniupnpd-nftables" ;;
        stund) echo stun-server ;; *) echo "$1" ;;
    esac
}
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' not found. Install it: apt-get install -y $(pkg_for "$c")"
    done
}
ns_exists() { [ -e "/run/netns/$1" ]; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# A namespace carrying one of our names is "ours" only if it holds nothing but the
# lab's interface names and addresses (an interrupted "up" may leave just lo).
ns_is_ours() {
    local a l
    for l in $(ip -n "$1" -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
        case $l in lo|br0|r0|wan0|lan0|eth0|p[0-9]|p[0-9][0-9]) ;; *) return 1 ;; esac
    done
    for a in $(ip -n "$1" -4 -o addr show 2>/dev/null | awk '{print $4}'); do
        case $a in 127.*|198.18.*|198.19.*) ;; *) return 1 ;; esac
    done
    return 0
}
lan_host_ns() {  # the LAN host namespaces that exist now, in order
    local i
    for i in $(seq 1 "$LAN_MAX_HOSTS"); do ns_exists "${PFX}l$i" && echo "${PFX}l$i"; done
    return 0
}
check_ownership() {
    local ns
    for ns in "${ALL_NS[@]}" "$NS_LAN" $(lan_host_ns); do
        if ns_exists "$ns" && ! ns_is_ours "$ns"; then
            die "namespace '$ns' exists but does not look like a netlab namespace; not touching it (pick another --prefix)"
        fi
    done
}

# Processes the lab starts are recorded as "<pid> <starttime>" in $RUN_DIR/<name>.pid.
# The start time (field 22 of /proc/<pid>/stat) guards against pid reuse: we only
# ever signal the exact process we started.
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
pidfile_pid() {  # prints the pid if the recorded process is still the one we started
    local f=$1 pid st
    [ -f "$f" ] || return 1
    read -r pid st <"$f" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -e "/proc/$pid" ] && [ "$(proc_start "$pid")" = "$st" ] || return 1
    echo "$pid"
}
kill_pidfile() {  # kill_pidfile <file> [fast]: SIGTERM, wait up to 3 s, then SIGKILL
    local f=$1 pid i
    if pid=$(pidfile_pid "$f"); then
        if [ "${2:-}" = fast ]; then kill -9 "$pid" 2>/dev/null || true
        else
            kill "$pid" 2>/dev/null || true
            for i in $(seq 1 60); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
            [ -e "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
        fi
        for i in $(seq 1 40); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
    fi
    rm -f "$f"
}
start_bg() {  # start_bg <name> <ns> <cmd...>
    local name=$1 ns=$2 pid; shift 2
    mkdir -p "$RUN_DIR"
    # exec: the recorded pid is the daemon itself (ip netns exec execs into it)
    nohup ip netns exec "$ns" "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid $(proc_start "$pid")" >"$RUN_DIR/$name.pid"
}

# ------------------------------------------------------------------- down --
cmd_down() {
    need_root
    check_ownership
    local ns n=0 f left
    for f in "$RUN_DIR"/miniupnpd.pid; do kill_pidfile "$f"; done
    kill_pidfile "$RUN_DIR/stund.pid" fast     # stateless; SIGTERM takes stund ~1 s
    for ns in "${ALL_NS[@]}" $(lan_host_ns) "$NS_LAN"; do
        ns_exists "$ns" || continue
        left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ' || true)
        # not ours to kill: the namespace disappears once they exit
        [ -n "$left" ] && warn "processes not started by netlab still run in $ns: $left"
        ip netns del "$ns"; n=$((n+1))
    done
    rm -rf "$RUN_DIR"
    log "down: removed $n namespace(s) with prefix '$PFX'"
}

# --------------------------------------------------------------------- up --
router_nft() {
    cat <<NFT
table inet $NFT_TABLE {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        jump prerouting_miniupnpd
    }
    chain prerouting_miniupnpd { }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        jump postrouting_miniupnpd
        ip saddr $LAN oifname "wan0" masquerade
    }
    chain postrouting_miniupnpd { }
    # stateful firewall: LAN->WAN ok, WAN->LAN only if related or mapped by miniupnpd
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        iifname "lan0" oifname "wan0" accept
        iifname "wan0" oifname "lan0" jump miniupnpd
    }
    chain miniupnpd { }
    # traffic to the router itself: unsolicited WAN packets are dropped
    chain input {
        type filter hook input priority filter; policy accept;
        iifname "wan0" ct state established,related accept
        # STUN answers from the alternate address/port (miniupnpd ext_perform_stun)
        iifname "wan0" ip saddr { $WAN_IP, $WAN_IP2 } udp sport { $STUN_PORT, $STUN_PORT2 } accept
        iifname "wan0" icmp type echo-request accept
        iifname "wan0" drop
    }
}
NFT
}

cmd_up() {
    [ $# = 0 ] || die "up: unexpected argument '$1'"
    need_root; need_cmd ip nft
    local t0=$SECONDS
    QUIET=1 cmd_down          # leftovers of an earlier run with this prefix only
    mkdir -p "$RUN_DIR"
    # any failure from here on rolls the lab back
    trap 'rc=$?; trap - ERR; echo "netlab: error: up failed at line $LINENO: $BASH_COMMAND - rolling back" >&2; QUIET=1 cmd_down || true; exit $rc' ERR

    local ns
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        nsx "$ns" ip link set lo up
        nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
    nsx "$NS_WAN" ip link add br0 type bridge
    nsx "$NS_WAN" ip addr add "$WAN_IP/24" dev br0
    nsx "$NS_WAN" ip addr add "$WAN_IP2/24" dev br0
    nsx "$NS_WAN" ip link set br0 up
    # veths are created inside the namespaces: nothing ever appears in the root namespace
    ip -n "$NS_WAN" link add r0 type veth peer name wan0 netns "$NS_R"
    nsx "$NS_WAN" ip link set r0 master br0 up
    nsx "$NS_R" ip addr add "$R_WAN/24" dev wan0
    nsx "$NS_R" ip link set wan0 up
    ip -n "$NS_R" link add lan0 type veth peer name eth0 netns "$NS_H"
    nsx "$NS_R" ip addr add "$R_LAN/24" dev lan0
    nsx "$NS_R" ip link set lan0 up
    nsx "$NS_H" ip addr add "$H_IP/24" dev eth0
    nsx "$NS_H" ip link set eth0 up
    nsx "$NS_H" ip route add default via "$R_LAN"
    nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1
    nsx "$NS_R" ip route add default via "$WAN_IP"
    router_nft | nsx "$NS_R" nft -f -
    if command -v stund >/dev/null 2>&1; then
        start_bg stund "$NS_WAN" stund -h "$WAN_IP" -a "$WAN_IP2" -p "$STUN_PORT" -o "$STUN_PORT2"
    else
        warn "stund not installed (apt-get install stun-server): upnp-start will fail"
    fi
    trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
    log "up: namespaces ${ALL_NS[*]} ready in $((SECONDS - t0))s (run dir $RUN_DIR)"
}

# -------------------------------------------------------------------- LAN --
# Hosts on one bridge, multicast on: what LAN discovery (mDNS) needs. Nothing of
# it touches the root namespace; the bridge lives in its own namespace.
lan_del() {
    local ns left n=0
    for ns in $(lan_host_ns) "$NS_LAN"; do
        ns_exists "$ns" || continue
        left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ' || true)
        [ -n "$left" ] && warn "processes not started by netlab still run in $ns: $left"
        ip netns del "$ns"; n=$((n+1))
    done
    log "lan-down: removed $n namespace(s) with prefix '$PFX'"
}

cmd_lan_down() { need_root; check_ownership; lan_del; }

cmd_lan_up() {
    local n=${1:-3}
    [ $# -le 1 ] || die "lan-up: unexpected argument '$2'"
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le "$LAN_MAX_HOSTS" ] || die "lan-up: host count must be 2 to $LAN_MAX_HOSTS, got '$n'"
    need_root; need_cmd ip
    check_ownership
    QUIET=1 lan_del           # leftovers of an earlier run with this prefix only
    trap 'rc=$?; trap - ERR; echo "netlab: error: lan-up failed at line $LINENO: $BASH_COMMAND - rolling back" >&2; QUIET=1 lan_del || true; exit $rc' ERR
    ip netns add "$NS_LAN"
    nsx "$NS_LAN" ip link set lo up
    nsx "$NS_LAN" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    # no IGMP snooping: every host sees every multicast packet, as on a plain switch
    nsx "$NS_LAN" ip link add br0 type bridge mcast_snooping 0
    nsx "$NS_LAN" ip link set br0 up
    local i ns
    for i in $(seq 1 "$n"); do
        ns=${PFX}l$i
        ip netns add "$ns"
        nsx "$ns" ip link set lo up
        nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n "$NS_LAN" link add "p$i" type veth peer name eth0 netns "$ns"
        nsx "$NS_LAN" ip link set "p$i" master br0 up
        nsx "$ns" ip addr add "$LAN_NET.$i/24" dev eth0
        nsx "$ns" ip link set eth0 up multicast on
        # a host with no default route needs this for IP_ADD_MEMBERSHIP (else ENODEV)
        nsx "$ns" ip route add 224.0.0.0/4 dev eth0
    done
    trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
    log "lan-up: bridge $NS_LAN with $n hosts ${PFX}l1..${PFX}l$n ($LAN_NET.1..$LAN_NET.$n)"
}

# -------------------------------------------------------------- miniupnpd --
upnp_conf() {  # upnp_conf <igd1:yes|no> <upnp:yes|no> <natpmp:yes|no>
    cat <<CONF
# generated by xppg tools/netlab/netlab.sh for miniupnpd 2.3.1 (nftables backend)
ext_ifname=wan0
listening_ip=lan0
http_port=$UPNP_HTTP_PORT
ipv6_disable=yes
enable_upnp=$2
# NAT-PMP and PCP on UDP 5351 of lan0 (one switch for both in 2.3.1)
enable_natpmp=$3
secure_mode=yes
system_uptime=no
# yes: describe an IGDv1 (WANIPConnection:1); no: IGDv2 (WANIPConnection:2)
force_igd_desc_v1=$1
# miniupnpd 2.3.1 counts 198.18.0.0/15 as reserved: without STUN it disables port
# forwarding and reports an empty external IP. stund on wan answers the STUN test.
ext_perform_stun=yes
ext_stun_host=$WAN_IP
ext_stun_port=$STUN_PORT
# Debian's nft_init.sh is broken without iptables: netlab made these chains itself
upnp_table_name=$NFT_TABLE
upnp_nat_table_name=$NFT_TABLE
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
uuid=$(cat /proc/sys/kernel/random/uuid)
friendly_name=xppg netlab gateway
allow 1024-65535 $LAN 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
}

flush_upnp_chains() {
    local c
    for c in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
        nsx "$NS_R" nft flush chain inet "$NFT_TABLE" "$c" 2>/dev/null || true
    done
}

cmd_upnp_start() {
    local igd1=no upnp=yes natpmp=no a
    for a in "$@"; do
        case $a in
            --igd1) igd1=yes ;;
            --igd2) igd1=no ;;
            --natpmp) natpmp=yes ;;
            --no-upnp) upnp=no ;;
            *) die "upnp-start: unknown argument '$a' (use --igd1, --igd2, --natpmp, --no-upnp)" ;;
        esac
    done
    [ "$upnp" = yes ] || [ "$natpmp" = yes ] || die "upnp-start: --no-upnp needs --natpmp"
    need_root; need_cmd miniupnpd stund
    miniupnpd --version 2>&1 | grep -q nftables \
        || die "this miniupnpd is not the nftables build: apt-get install -y miniupnpd-nftables"
    ns_exists "$NS_R" || die "namespace $NS_R does not exist: run 'netlab.sh up' first"
    if ! pidfile_pid "$RUN_DIR/stund.pid" >/dev/null; then
        start_bg stund "$NS_WAN" stund -h "$WAN_IP" -a "$WAN_IP2" -p "$STUN_PORT" -o "$STUN_PORT2"
        sleep 0.2
    fi
    kill_pidfile "$RUN_DIR/miniupnpd.pid"
    flush_upnp_chains
    upnp_conf "$igd1" "$upnp" "$natpmp" >"$RUN_DIR/miniupnpd.conf"
    # -d: foreground, log to stderr (no syslog here); -P: per-lab pid file
    start_bg miniupnpd "$NS_R" miniupnpd -d -f "$RUN_DIR/miniupnpd.conf" -P "$RUN_DIR/miniupnpd.daemon.pid"
    local i
    for i in $(seq 1 80); do     # up to 8 s: STUN, then the HTTP port
        pidfile_pid "$RUN_DIR/miniupnpd.pid" >/dev/null || break
        if { [ "$upnp" = no ] || nsx "$NS_R" ss -Hltn "sport = :$UPNP_HTTP_PORT" | grep -q LISTEN; } \
            && { [ "$natpmp" = no ] || nsx "$NS_R" ss -Hlun "sport = :5351" | grep -q 5351; } \
            && grep -q 'Port forwarding is now enabled' "$RUN_DIR/miniupnpd.log"; then
            log "upnp-start: miniupnpd running in $NS_R (UPnP: $upnp as IGDv$([ "$igd1" = yes ] && echo 1 || echo 2), NAT-PMP/PCP: $natpmp; log $RUN_DIR/miniupnpd.log)"
            return 0
        fi
        sleep 0.1
    done
    echo "---- $RUN_DIR/miniupnpd.log" >&2; tail -20 "$RUN_DIR/miniupnpd.log" >&2 || true
    kill_pidfile "$RUN_DIR/miniupnpd.pid"
    die "miniupnpd did not start with port forwarding enabled in $NS_R"
}

cmd_upnp_stop() {
    need_root
    kill_pidfile "$RUN_DIR/miniupnpd.pid"
    rm -f "$RUN_DIR/miniupnpd.daemon.pid"
    ns_exists "$NS_R" && flush_upnp_chains
    log "upnp-stop: miniupnpd stopped, its rules flushed"
}

# ------------------------------------------------------------------ check --
CHECK_FAIL=0
probe() {  # TCP connect to port 9: "connected" or "refused" both prove reachability
    local out
    out=$(nsx "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1) && return 0
    case $out in *"Connection refused"*) return 0 ;; esac
    return 1
}
expect() {  # expect <reach|blocked> <description> <ns> <ip>
    local got
    if probe "$3" "$4"; then got=reach; else got=blocked; fi
    if [ "$got" = "$1" ]; then echo "  PASS  $2"; else echo "  FAIL  $2 (expected $1, got $got)"; CHECK_FAIL=1; fi
}
cmd_check() {
    need_root
    local ns; for ns in "${ALL_NS[@]}"; do ns_exists "$ns" || die "namespace $ns missing: run 'netlab.sh up'"; done
    expect reach   "h -> wan host $WAN_IP"                "$NS_H" "$WAN_IP"
    expect blocked "wan -> h $H_IP (no route)"            "$NS_WAN" "$H_IP"
    expect blocked "wan -> router $R_WAN (unsolicited, dropped)" "$NS_WAN" "$R_WAN"
    nsx "$NS_WAN" ip route replace "$LAN" via "$R_WAN"
    expect blocked "wan -> h $H_IP routed via r (firewall)" "$NS_WAN" "$H_IP"
    nsx "$NS_WAN" ip route del "$LAN" via "$R_WAN"
    nsx "$NS_H" bash -c "echo netlab >/dev/udp/$WAN_IP/9" 2>/dev/null || true
    if nsx "$NS_R" grep -q "src=$H_IP dst=$WAN_IP .*src=$WAN_IP dst=$R_WAN" /proc/net/nf_conntrack 2>/dev/null \
        || nsx "$NS_R" conntrack -L 2>/dev/null | grep -q "src=$H_IP dst=$WAN_IP .*src=$WAN_IP dst=$R_WAN"; then
        echo "  PASS  r masquerades $H_IP as $R_WAN"
    else
        echo "  INFO  could not read r's conntrack table (masquerade not verified)"
    fi
    if [ "$CHECK_FAIL" = 0 ]; then echo "all checks passed"; else echo "some checks FAILED"; return 1; fi
}

cmd_status() {
    local ns any=0 pid
    for ns in "${ALL_NS[@]}"; do
        ns_exists "$ns" || continue; any=1
        echo "== $ns"; nsx "$ns" ip -br -4 addr show | grep -v '^lo ' | sed 's/^/   /'
    done
    [ $any = 1 ] || { echo "lab '$PFX' is down"; return 0; }
    if pid=$(pidfile_pid "$RUN_DIR/miniupnpd.pid"); then
        echo "miniupnpd: pid $pid, IGDv$(grep -q '^force_igd_desc_v1=yes' "$RUN_DIR/miniupnpd.conf" && echo 1 || echo 2)"
        nsx "$NS_R" nft list chain inet "$NFT_TABLE" prerouting_miniupnpd | grep -o 'dport.*dnat.*' | sed 's/^/  mapping /' || true
    else echo "miniupnpd: not running"; fi
    if pid=$(pidfile_pid "$RUN_DIR/stund.pid"); then echo "stund: pid $pid"; else echo "stund: not running"; fi
}

usage() {
    cat <<USAGE
usage: netlab.sh [--prefix=P] <command> [args]

  up                  build the lab (removes leftovers with the same prefix first)
  down                stop the lab's own processes, delete its namespaces
  upnp-start [--igd1|--igd2] [--natpmp] [--no-upnp]
                      (re)start miniupnpd in the router as an IGDv1 or IGDv2 (default);
                      --natpmp adds NAT-PMP and PCP, --no-upnp leaves UPnP off
  upnp-stop           stop miniupnpd and flush the rules it added
  exec <wan|r|h> <cmd...>
                      run a command in a lab namespace
  check               reachability and isolation checks
  status              addresses, processes, active mappings
  names               print the namespace names (wan r h), one per line
  lan-up [N]          build the LAN topology: bridge <prefix>lan, hosts <prefix>l1..lN
                      (default 3, at most 20) at 198.18.5.1..N, multicast on
  lan-down            delete the LAN topology (down deletes it too)
  lan-exec <i> <cmd...>
                      run a command in LAN host i

Namespaces are <prefix>wan, <prefix>r, <prefix>h. Prefix: --prefix=P or NETLAB_PREFIX
(default xppg-lab-). Configs, logs and pid files: NETLAB_RUN_DIR (default
\${TMPDIR:-/tmp}/netlab-<prefix>).
USAGE
}

main() {
    local cmd=${1:-help}; [ $# -gt 0 ] && shift
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        upnp-start) cmd_upnp_start "$@" ;;
        upnp-stop) cmd_upnp_stop ;;
        exec)
            need_root
            [ $# -ge 2 ] || die "usage: netlab.sh exec <wan|r|h> <cmd...>"
            local ns
            case $1 in wan) ns=$NS_WAN ;; r) ns=$NS_R ;; h) ns=$NS_H ;; *) die "exec: namespace must be wan, r or h" ;; esac
            ns_exists "$ns" || die "namespace $ns does not exist: run 'netlab.sh up' first"
            shift; trap - ERR
            exec ip netns exec "$ns" "$@" ;;
        check) cmd_check || exit 1 ;;
        status) cmd_status ;;
        names) printf '%s\n' "$NS_WAN" "$NS_R" "$NS_H" ;;
        lan-up) cmd_lan_up "$@" ;;
        lan-down) cmd_lan_down ;;
        lan-exec)
            need_root
            [ $# -ge 2 ] && [[ "$1" =~ ^[0-9]+$ ]] || die "usage: netlab.sh lan-exec <i> <cmd...>"
            ns_exists "${PFX}l$1" || die "namespace ${PFX}l$1 does not exist: run 'netlab.sh lan-up' first"
            local lns=${PFX}l$1; shift; trap - ERR
            exec ip netns exec "$lns" "$@" ;;
        help|-h|--help) usage ;;
        *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}
main "$@"
