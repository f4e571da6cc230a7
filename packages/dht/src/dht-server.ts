/**
 * A plain DHT node that joins no topic: the bootstrap node of a private DHT
 * (a lab, a company network, tests), or a node that only helps the DHT.
 */

import { toError } from "@xppg/errors";
import { DhtNode } from "./dht-node.js";
import { DHT_ERROR_CODES, DhtError, invalidDhtArgument } from "./errors.js";
import type { PacketStats } from "./guarded-socket.js";
import { resolveDhtOptions, type DhtDiscoveryOptions } from "./options.js";

/** Options of {@link startDhtNode}. */
export interface DhtNodeOptions extends Pick<DhtDiscoveryOptions, "host" | "port" | "storedPeerTtlMs" | "maxStoredPeers" | "maxPacketsPerSecondPerHost" | "maxPacketsPerSecond" | "queryTimeoutMs"> {
  /** Nodes to join, as `"host:port"`; `[]` for the first node of a private DHT. Required: a plain node never falls back to the public routers. */
  bootstrap: readonly string[];
}

/** A running plain DHT node. */
export interface DhtServer {
  /** `"host:port"`, for other nodes' bootstrap lists. */
  readonly address: string;
  readonly port: number;
  /** Its UDP packet counters. */
  readonly stats: Readonly<PacketStats>;
  /** Closes the socket. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a plain DHT node on `host:port` (default `0.0.0.0`, any port),
 * joined to `bootstrap`. Resolves once it listens; it answers queries and
 * stores announcements (bounded as a topic's DHT is) from then on.
 *
 * @throws `XPPG_ERR_INVALID_ARGUMENT` for bad options (a missing `bootstrap`), `XPPG_ERR_DHT_UNAVAILABLE` when the port cannot be opened.
 */
export async function startDhtNode(options: DhtNodeOptions): Promise<DhtServer> {
  if (typeof options !== "object" || options === null || !Array.isArray(options.bootstrap)) throw invalidDhtArgument('bootstrap must be given, [] for the first node of a private DHT: startDhtNode({ bootstrap: ["127.0.0.1:20000"] })', "startDhtNode()");
  const o = resolveDhtOptions({ appName: "dht-node", ...options });
  const node = new DhtNode(o, []);
  try {
    await node.listen(o.port, o.host);
  } catch (error) {
    await node.close();
    const e = toError(error);
    throw new DhtError(DHT_ERROR_CODES.UNAVAILABLE, `The DHT node could not open UDP port ${o.port} on ${o.host}: ${e.message}. Pick another port, or 0 for any.`, { cause: e });
  }
  const port = node.port;
  const host = o.host === "0.0.0.0" ? "127.0.0.1" : o.host;
  return {
    address: `${host}:${port}`,
    port,
    get stats() {
      return { ...node.packets };
    },
    close: () => node.close(),
    [Symbol.asyncDispose]: () => node.close(),
  };
}
