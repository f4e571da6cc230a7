// The part of `bittorrent-dht` 11 this package uses (it ships no types).
declare module "bittorrent-dht" {
  import { EventEmitter } from "node:events";

  export interface DhtPeer {
    host: string;
    port: number;
  }

  export interface DhtConstructorOptions {
    bootstrap: (string | DhtPeer)[] | false;
    socket?: unknown;
    maxAge?: number;
    maxPeers?: number;
    maxValues?: number;
    maxTables?: number;
    timeout?: number;
    concurrency?: number;
    k?: number;
    nodeId?: Buffer;
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
  }

  export default class DHT extends EventEmitter {
    constructor(options: DhtConstructorOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    readonly ready: boolean;
    readonly nodes: { count(): number; toArray(): { host: string; port: number }[] };
    listen(port: number, host?: string, cb?: () => void): void;
    address(): { address: string; port: number };
    addNode(node: DhtPeer): void;
    announce(infoHash: Buffer, port: number, cb: (error: Error | null, hits?: number) => void): void;
    lookup(infoHash: Buffer, cb: (error: Error | null, visited?: number) => void): () => void;
    toJSON(): { nodes: DhtPeer[] };
    destroy(cb?: () => void): void;
  }
}
