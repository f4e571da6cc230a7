// `bittorrent-dht` 11 ships no type declarations: the part this package uses is typed here.
import type { EventEmitter } from "node:events";
// @ts-expect-error -- no declaration file; typed by `DhtConstructor` below.
import Impl from "bittorrent-dht";

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

export interface DhtInstance extends EventEmitter {
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
  put(opts: { k: Buffer; salt: Buffer; seq: number; v: Buffer; sign: (data: Buffer) => Buffer }, cb: (error: Error | null, key?: Buffer, hits?: number) => void): Buffer;
  get(target: Buffer, opts: { salt?: Buffer; cache?: boolean }, cb: (error: Error | null, value?: { v?: unknown; seq?: unknown; k?: unknown } | null) => void): void;
  destroy(cb?: () => void): void;
}

/** The `bittorrent-dht` class. */
export type DhtConstructor = new (options: DhtConstructorOptions) => DhtInstance;
export const DHT = Impl as DhtConstructor;
