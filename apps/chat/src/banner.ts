import { networkInterfaces } from "node:os";
import type { PortMappingResult, QuickChat } from "@xppg/quickchat";
import { DEFAULT_CHAT_PORT, cleanText } from "@xppg/quickchat";
import { DEFAULT_ROOM } from "./args.js";

/** The IPv4 addresses others on the network can reach: every non-loopback interface. */
function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);
}

/** Which hosts to tell others to connect to, for the address the chat listens on. */
function reachableHosts(listenAddress: string | undefined): string[] {
  const host = listenAddress === undefined ? undefined : /^\w+:\/\/\[?([^\]]*?)\]?:\d+/.exec(listenAddress)?.[1];
  if (host === undefined || host === "0.0.0.0" || host === "::") {
    const lan = lanAddresses();
    return lan.length > 0 ? lan : ["127.0.0.1"];
  }
  return [host.includes(":") ? `[${host}]` : host];
}

/** How the router was asked, in words: the mapper reports `upnp-igd1`, `upnp-igd2`, `pcp` or `natpmp`. */
function protocolName(method: string | null): string {
  if (method === "pcp") return "PCP";
  if (method === "natpmp") return "NAT-PMP";
  return "UPnP";
}

function describeNat(nat: PortMappingResult | null, port: number): string[] {
  if (nat === null) return [];
  if (nat.mapped) {
    const where = nat.externalIp ? `${nat.externalIp}:${nat.externalPort ?? port}` : `port ${nat.externalPort ?? port}`;
    return [`Router: port forwarded (${protocolName(nat.method)}); from the internet, connect to ${where}`];
  }
  // The gateway's own words can be in the reason: no terminal controls from it.
  const reason = nat.error === undefined ? "no UPnP, PCP or NAT-PMP answer" : cleanText(nat.error.message);
  return [`Router: no port forwarding (${reason}); people outside your network can join only if you forward port ${port} yourself.`];
}

/** How this chat can be reached, in words. */
export function describeReachability(kind: string): string {
  const words: Record<string, string> = {
    public: "public (other nodes reach you directly)",
    "port-mapped": "port-mapped (your router forwards the port)",
    "behind-nat": "behind a NAT, no relay yet (you can join others; they cannot join you)",
    "relayed-only": "behind a NAT, reachable through a relay",
    unknown: "not known yet (your peers check it as they connect)",
  };
  return words[kind] ?? kind;
}

/** The lines printed at start: who you are, where you listen, how others join. */
export function banner(chat: QuickChat, nat: PortMappingResult | null): string[] {
  const port = chat.port ?? 0;
  const roomFlag = chat.room === DEFAULT_ROOM ? "" : ` --room ${JSON.stringify(chat.room)}`;
  const withPort = (host: string, p: number): string => (p === DEFAULT_CHAT_PORT ? host : `${host}:${p}`);
  const targets = reachableHosts(chat.addresses[0]).map((h) => withPort(h, port));
  if (nat?.mapped && nat.externalIp) targets.push(withPort(nat.externalIp, nat.externalPort ?? port));
  return [
    `xppg chat: room "${chat.room}", you are "${chat.name}" (peer ${chat.peerId})`,
    `Listening on port ${port} (${chat.addresses.join(", ")})`,
    ...describeNat(nat, port),
    `Reachability: ${describeReachability(chat.reachability.kind)}`,
    ...(chat.lanDiscovery ? ["Chats of this room on your network join by themselves (LAN discovery)."] : []),
    ...(chat.topic !== undefined ? [`Chats of this room and topic ${JSON.stringify(cleanText(chat.topic))} anywhere join by themselves (BitTorrent DHT).`] : []),
    "From another network, others join with one of:",
    ...targets.map((t) => `  pnpm chat${roomFlag} --connect ${t}`),
    "Type a message and press Enter. /help lists the commands; quit leaves.",
  ];
}
