/**
 * A private DHT: `size` bittorrent-dht nodes on 127.0.0.1, each
 * bootstrapped from the first ones, never from the public routers. Each
 * node's answers carry at most 50 peers, as mainline nodes do (the library
 * itself would send every stored peer).
 */
import DHT from "bittorrent-dht";

export interface PrivateDht {
  /** `"127.0.0.1:port"` of a few nodes: the bootstrap list for the nodes under test. */
  readonly bootstrap: string[];
  readonly nodes: DHT[];
  /** Puts `peers` into every node's store for `infoHash`, as if each had been announced there. */
  store(infoHash: Buffer, peers: { host: string; port: number }[]): void;
  close(): Promise<void>;
}

export async function privateDht(size: number, options: { storedPeerTtlMs?: number } = {}): Promise<PrivateDht> {
  const nodes: DHT[] = [];
  const ports: number[] = [];
  for (let i = 0; i < size; i++) {
    // Each node knows the first three (or none, for the very first): a list of our own, never the default.
    const dht = new DHT({ bootstrap: ports.slice(0, 3).map((p) => `127.0.0.1:${p}`), maxAge: options.storedPeerTtlMs ?? 0, timeout: 500 });
    dht.on("warning", () => {});
    dht.on("error", () => {});
    capAnswers(dht);
    await new Promise<void>((resolve) => dht.listen(0, "127.0.0.1", () => resolve()));
    nodes.push(dht);
    ports.push(dht.address().port);
  }
  // Let the late nodes be known by the early ones: each asks a few for itself again.
  await Promise.all(nodes.map((d) => new Promise<void>((resolve) => (d.ready ? resolve() : d.once("ready", () => resolve())))));
  for (const d of nodes.slice(0, 3)) for (const p of ports) if (p !== d.address().port) d.addNode({ host: "127.0.0.1", port: p });
  return {
    bootstrap: ports.slice(0, 4).map((p) => `127.0.0.1:${p}`),
    nodes,
    store(infoHash, peers) {
      for (const d of nodes) for (const p of peers) (d as unknown as { _addPeer(peer: object, hash: Buffer, from: object): void })._addPeer(p, infoHash, p);
    },
    close: () => Promise.all(nodes.map((d) => new Promise<void>((resolve) => d.destroy(() => resolve())))).then(() => {}),
  };
}

function capAnswers(dht: DHT): void {
  const store = (dht as unknown as { _peers: { get(name: string, n?: number): unknown[] } })._peers;
  const get = store.get.bind(store);
  store.get = (name: string, n?: number) => get(name, Math.min(n ?? 50, 50) || 50);
}
