/**
 * A hostile DHT node for tests, speaking just enough KRPC (BEP 5) to be
 * taken into routing tables: it answers `ping` and `find_node` with a valid
 * id, and then, by mode,
 *
 * - `"flood"`: answers every `get_peers` with as many fake peers as fit in
 *   one packet, drawn from `fakePeers` (thousands of addresses, third
 *   parties' among them);
 * - `"garbage"`: answers `get_peers` with bytes that are not bencode, with
 *   bencode of the wrong shapes (values that are not a list, nodes of a
 *   wrong length, an id of the wrong size) in turn;
 * - `"silent"`: never answers `get_peers` (a node that is slow or gone).
 *
 * Loopback only: it binds to a 127.x address and answers where the query came from.
 */
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";

export type HostileMode = "flood" | "garbage" | "silent";

export interface HostileDhtNode {
  readonly address: string;
  /** Queries it received, by type. */
  readonly queries: Record<string, number>;
  close(): Promise<void>;
}

export async function hostileDhtNode(mode: HostileMode, options: { host?: string; fakePeers?: readonly { host: string; port: number }[] } = {}): Promise<HostileDhtNode> {
  const host = options.host ?? "127.0.0.1";
  const id = randomBytes(20);
  const queries: Record<string, number> = {};
  const pool = options.fakePeers ?? [];
  let turn = 0;
  const socket: Socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    let q: Map<string, unknown>;
    try {
      q = decode(msg) as Map<string, unknown>;
    } catch {
      return;
    }
    if (!(q instanceof Map) || String(q.get("y")) !== "q") return;
    const kind = String(q.get("q"));
    queries[kind] = (queries[kind] ?? 0) + 1;
    const t = q.get("t") as Buffer;
    const reply = (r: Record<string, unknown>): void => void socket.send(encode({ t, y: "r", r }), rinfo.port, rinfo.address);
    if (kind !== "get_peers") return reply({ id, nodes: Buffer.alloc(0) });
    if (mode === "silent") return;
    if (mode === "flood") {
      const values: Buffer[] = [];
      for (let i = 0; i < 150 && pool.length > 0; i++) values.push(compact(pool[Math.floor(Math.random() * pool.length)]!));
      return reply({ id, token: randomBytes(8), values });
    }
    const garbage = [
      () => socket.send(randomBytes(200), rinfo.port, rinfo.address),
      () => reply({ id, token: randomBytes(8), values: randomBytes(37) }),
      () => reply({ id, token: randomBytes(8), values: [Buffer.from("abc"), 7, Buffer.alloc(6)] }),
      () => reply({ id: randomBytes(7), nodes: randomBytes(33) }),
      () => reply({ id, nodes: [1, 2, 3] }),
      () => socket.send(encode({ t, y: "e", e: "not a list" }), rinfo.port, rinfo.address),
      () => socket.send(Buffer.from("d1:t2:xx1:y1:r1:rd2:id"), rinfo.port, rinfo.address),
    ];
    garbage[turn++ % garbage.length]!();
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return {
    address: `${host}:${socket.address().port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function compact(p: { host: string; port: number }): Buffer {
  const b = Buffer.alloc(6);
  p.host.split(".").forEach((n, i) => (b[i] = Number(n)));
  b.writeUInt16BE(p.port, 4);
  return b;
}

/** Bencode, as much as KRPC needs: byte strings, integers, lists, dictionaries (keys sorted). */
export function encode(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.from(`${value.length}:`), value]);
  if (typeof value === "string") return encode(Buffer.from(value));
  if (typeof value === "number") return Buffer.from(`i${Math.trunc(value)}e`);
  if (Array.isArray(value)) return Buffer.concat([Buffer.from("l"), ...value.map(encode), Buffer.from("e")]);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return Buffer.concat([Buffer.from("d"), ...keys.flatMap((k) => [encode(k), encode(obj[k])]), Buffer.from("e")]);
}

export function decode(buf: Buffer): unknown {
  let i = 0;
  const next = (): unknown => {
    const c = String.fromCharCode(buf[i]!);
    if (c === "i") {
      const end = buf.indexOf(0x65, i);
      const n = Number(buf.subarray(i + 1, end).toString());
      i = end + 1;
      return n;
    }
    if (c === "l") {
      i++;
      const list: unknown[] = [];
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error("truncated");
        list.push(next());
      }
      i++;
      return list;
    }
    if (c === "d") {
      i++;
      const map = new Map<string, unknown>();
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error("truncated");
        const k = String(next());
        map.set(k, next());
      }
      i++;
      return map;
    }
    const colon = buf.indexOf(0x3a, i);
    if (colon < 0) throw new Error("bad string");
    const len = Number(buf.subarray(i, colon).toString());
    if (!Number.isInteger(len) || colon + 1 + len > buf.length) throw new Error("bad length");
    const s = buf.subarray(colon + 1, colon + 1 + len);
    i = colon + 1 + len;
    return s;
  };
  return next();
}
