import "../../../tools/test/loopback-only.js";
// KRPC packets to a DHT node's port, fed arbitrary and mutated-valid (fast-check):
// random bytes, random bencoded values, and every query kind (BEP 5, BEP 44)
// with one field replaced or its bytes changed. The node never crashes and
// still answers a ping after each batch.
import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decode, encode } from "../../../tools/test/hostile-dht-node.js";
import { startDhtNode, type DhtServer } from "../src/index.js";

let server: DhtServer;
let socket: Socket;
const answers: Buffer[] = [];
const crashes: unknown[] = [];
const onCrash = (error: unknown): void => void crashes.push(error);

beforeAll(async () => {
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  server = await startDhtNode({ bootstrap: [], host: "127.0.0.1", port: 0, maxPacketsPerSecondPerHost: 1_000_000, maxPacketsPerSecond: 1_000_000 });
  socket = createSocket("udp4");
  socket.on("message", (msg) => void answers.push(msg));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  socket.close();
  await server.close();
  process.off("uncaughtException", onCrash);
  process.off("unhandledRejection", onCrash);
});

/** A bencodable value: byte strings, integers, lists, dictionaries. */
const { value: bencodeValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    fc.constantFrom(Buffer.alloc(20, 1), Buffer.alloc(32, 2), Buffer.alloc(64, 3), Buffer.alloc(26, 4), Buffer.alloc(6, 5), Buffer.alloc(1001, 6)),
    fc.integer(),
    fc.constantFrom(0, -1, 65535, 65536, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("id", "target", "info_hash", "port", "token", "implied_port", "v", "k", "sig", "seq", "salt", "cas", "want", "nodes", "values", "x"), tie("value"), { maxKeys: 4 }),
  ),
}));

const id = Buffer.alloc(20, 9);
const args: Record<string, Record<string, unknown>> = {
  ping: { id },
  find_node: { id, target: Buffer.alloc(20, 1) },
  get_peers: { id, info_hash: Buffer.alloc(20, 2) },
  announce_peer: { id, info_hash: Buffer.alloc(20, 2), port: 7000, token: Buffer.alloc(4, 1), implied_port: 0 },
  get: { id, target: Buffer.alloc(20, 3), seq: 1 },
  put: { id, v: Buffer.from("x"), k: Buffer.alloc(32, 4), sig: Buffer.alloc(64, 5), seq: 1, salt: Buffer.from("s"), token: Buffer.alloc(4, 1), cas: 0 },
};

const query = fc.constantFrom(...Object.keys(args)).chain((q) =>
  fc.oneof(
    // One argument replaced by anything, or removed.
    fc.tuple(fc.constantFrom(...Object.keys(args[q]!)), fc.option(bencodeValue, { nil: undefined })).map(([key, value]) => ({ t: Buffer.from("ab"), y: "q", q, a: { ...args[q], [key]: value } })),
    // The envelope's own fields replaced.
    fc.tuple(fc.constantFrom("t", "y", "q", "a"), bencodeValue).map(([key, value]) => ({ t: Buffer.from("ab"), y: "q", q, a: args[q], [key]: value })),
    // An answer or an error nobody asked for.
    fc.tuple(fc.constantFrom("r", "e"), bencodeValue).map(([y, value]) => ({ t: Buffer.from("zz"), y, [y]: value })),
  ),
);

const packets = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  bencodeValue.map((v) => encode(v)),
  query.map((q) => encode(q)),
  fc.tuple(query, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([q, at, v]) => {
    const bytes = encode(q);
    bytes[at % bytes.length] = v;
    return bytes;
  }),
  fc.tuple(query, fc.nat()).map(([q, n]) => {
    const bytes = encode(q);
    return bytes.subarray(0, n % bytes.length);
  }),
);

function send(bytes: Buffer): Promise<void> {
  return new Promise((resolve) => socket.send(bytes, server.port, "127.0.0.1", () => resolve()));
}

/** True once the node answered this ping (`t` picked per check). */
async function answersPing(): Promise<boolean> {
  const t = randomBytes(4);
  await send(encode({ t, y: "q", q: "ping", a: { id } }));
  await expect
    .poll(
      () =>
        answers.some((a) => {
          try {
            const m = decode(a) as Map<string, unknown>;
            const at = m.get("t");
            return Buffer.isBuffer(at) && at.equals(t) && String(m.get("y")) === "r";
          } catch {
            return false;
          }
        }),
      { timeout: 5_000 },
    )
    .toBe(true);
  return true;
}

describe("a DHT node's port under arbitrary and mutated KRPC packets", () => {
  it("answers queries at the limits: a 64-byte salt and token, 20-byte ids (an error for the made-up token, not silence)", async () => {
    const before = server.stats.malformed;
    for (const a of [{ ...args.put, salt: Buffer.alloc(64), token: Buffer.alloc(64) }, { ...args.announce_peer, token: Buffer.alloc(64) }]) {
      const t = randomBytes(4);
      answers.length = 0;
      await send(encode({ t, y: "q", q: "salt" in a ? "put" : "announce_peer", a }));
      await expect.poll(() => answers.some((m) => (decode(m) as Map<string, unknown>).get("t")?.toString() === t.toString()), { timeout: 5_000 }).toBe(true);
    }
    expect(server.stats.malformed).toBe(before);
  });

  it.each([
    ["announce_peer with a number as its token", "announce_peer", { ...args.announce_peer, token: 1 }],
    ["put with a number as its token", "put", { ...args.put, token: 7 }],
    ["get_peers with a number as its info hash", "get_peers", { ...args.get_peers, info_hash: 65 }],
    ["get with a number as its target", "get", { ...args.get, target: 1 }],
    ["find_node with a list as its target", "find_node", { ...args.find_node, target: [Buffer.alloc(20)] }],
    ["put with a list as its key", "put", { ...args.put, k: [1] }],
    ["put with a salt of 65 bytes (BEP 44: at most 64)", "put", { ...args.put, salt: Buffer.alloc(65) }],
    ["announce_peer with a token of 65 bytes", "announce_peer", { ...args.announce_peer, token: Buffer.alloc(65) }],
    ["get_peers with an info hash of 19 bytes", "get_peers", { ...args.get_peers, info_hash: Buffer.alloc(19) }],
    ["ping with a node id of 21 bytes", "ping", { id: Buffer.alloc(21) }],
  ])("drops %s unanswered, counted, and answers the next ping", async (_what, q, a) => {
    const before = server.stats.malformed;
    await send(encode({ t: Buffer.from("ab"), y: "q", q, a }));
    expect(await answersPing()).toBe(true);
    expect(server.stats.malformed).toBe(before + 1);
    expect(crashes).toEqual([]);
  });

  it("never crashes and answers a ping after each batch", async () => {
    expect(await answersPing()).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.array(packets, { minLength: 1, maxLength: 20 }), async (batch) => {
        for (const p of batch) await send(p);
        answers.length = 0;
        expect(await answersPing()).toBe(true);
        expect(crashes).toEqual([]);
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
