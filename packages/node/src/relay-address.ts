/**
 * Relayed addresses (`relay://host:port[/p/<peer id>]`), apart from the
 * relay transport itself: a node reads them (which transport dials an
 * address) without loading the transport, its circuits and hole punching
 * until a relayed address is dialled or listened on (issue 15).
 */

import { parseTcpAddress } from "@xppg/transport-tcp";

/** The scheme of relayed addresses. */
export const PREFIX = "relay://";

/** Parses `relay://host:port[/p/<peer id>]` (the relay listens on TCP at host:port). */
export function parseRelayAddress(address: string): { relay: string; host: string; port: number; peerId: string | undefined } | undefined {
  if (typeof address !== "string" || !address.startsWith(PREFIX) || address.length > 300) return undefined;
  const rest = address.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  const relay = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? "" : rest.slice(slash);
  if (path !== "" && !path.startsWith("/p/")) return undefined;
  const peerId = path === "" ? undefined : path.slice(3);
  const parsed = parseTcpAddress(`tcp://${relay}`);
  if (parsed === null || parsed.port === 0) return undefined;
  if (peerId !== undefined && !/^[A-Za-z0-9_-]{1,100}$/.test(peerId)) return undefined;
  return { relay, host: parsed.host, port: parsed.port, peerId };
}
