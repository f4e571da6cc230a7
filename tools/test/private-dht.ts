/**
 * A private DHT for tests and the bench: `size` plain DHT nodes of
 * `@xppg/dht` on 127.0.0.1, each joined to the first ones, never to the
 * public routers. `store` fills every node's storage for an infohash, as if
 * each had been announced there (the fake-peer flood).
 */
import { startDhtNode, type DhtServer } from "../../packages/dht/src/index.js";

export interface PrivateDht {
  /** `"127.0.0.1:port"` of the first nodes: the bootstrap list for the nodes under test. */
  readonly bootstrap: string[];
  readonly nodes: DhtServer[];
  close(): Promise<void>;
}

export async function privateDht(size: number, options: { storedPeerTtlMs?: number } = {}): Promise<PrivateDht> {
  const nodes: DhtServer[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push(
      await startDhtNode({
        bootstrap: nodes.slice(0, 3).map((n) => n.address),
        host: "127.0.0.1",
        queryTimeoutMs: 500,
        // Every node sends from 127.0.0.1: the per-address bound would throttle the whole DHT.
        maxPacketsPerSecondPerHost: 1_000_000,
        maxPacketsPerSecond: 1_000_000,
        ...(options.storedPeerTtlMs !== undefined ? { storedPeerTtlMs: options.storedPeerTtlMs } : {}),
      }),
    );
  }
  return {
    bootstrap: nodes.slice(0, 4).map((n) => n.address),
    nodes,
    close: async () => void (await Promise.all(nodes.map((n) => n.close()))),
  };
}
