import "../../../tools/test/loopback-only.js";
// The answers to our own queries, fed arbitrary and mutated-valid (fast-check):
// a node that answers every query (find_node, get_peers, get, put, announce)
// with random bytes, errors, or a valid answer with one field replaced. The
// DHT never crashes, a signed record is taken only as it was signed, and
// a lookup of a topic never offers an address that is not unicast IPv4.
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createSocket as createUdpSocket, type Socket } from "node:dgram";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decode, encode } from "../../../tools/test/hostile-dht-node.js";
import { dhtDiscovery, recordSalt, type DhtDiscovery } from "../src/index.js";

const APP = "answers-fuzz";
let responder: Socket;
let d: DhtDiscovery;
/** The answers of the current run, handed out in turn. */
let script: ((t: Buffer, q: string) => Buffer)[] = [];
let turn = 0;
const crashes: unknown[] = [];
const onCrash = (error: unknown): void => void crashes.push(error);

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const k = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
const salt = recordSalt(APP);
const value = Buffer.from("tcp://127.0.0.1:7000");
const SEQ = 5;

/** BEP 44's signed bytes: salt, seq and the bencoded value. */
function signed(v: Buffer, seq: number, key: KeyObject = privateKey): Buffer {
  const data = Buffer.concat([Buffer.from(`4:salt${salt.length}:`), salt, Buffer.from(`3:seqi${seq}e1:v`), encode(v)]);
  return sign(null, data, key);
}
const sig = signed(value, SEQ);
const id = Buffer.alloc(20, 7);
const compact = Buffer.from([127, 0, 0, 1, 0x1b, 0x58]);

/** A valid answer to each query kind. */
const valid: Record<string, Record<string, unknown>> = {
  ping: { id },
  find_node: { id, nodes: Buffer.alloc(0) },
  get_peers: { id, token: Buffer.alloc(8, 1), values: [compact] },
  announce_peer: { id },
  get: { id, token: Buffer.alloc(8, 1), v: value, k, sig, seq: SEQ },
  put: { id },
};

const { value: bencodeValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)),
    fc.constantFrom(Buffer.alloc(20, 1), Buffer.alloc(26, 2), Buffer.alloc(52, 3), Buffer.alloc(6, 4), Buffer.alloc(64, 5), Buffer.alloc(32, 6), Buffer.alloc(1100, 7), Buffer.from([0, 0, 0, 0, 0, 80]), Buffer.from([224, 0, 0, 1, 0, 80])),
    fc.integer(),
    fc.constantFrom(0, -1, SEQ + 1, 2 ** 53, Number.MAX_SAFE_INTEGER),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("id", "nodes", "values", "token", "v", "k", "sig", "seq"), tie("value"), { maxKeys: 4 }),
  ),
}));

type Answer = (t: Buffer, q: string) => Buffer;
const answer: fc.Arbitrary<Answer> = fc.oneof(
  // A valid answer with one field replaced or removed.
  fc.tuple(fc.constantFrom("id", "nodes", "values", "token", "v", "k", "sig", "seq"), fc.option(bencodeValue, { nil: undefined })).map(
    ([key, v]): Answer =>
      (t, q) =>
        encode({ t, y: "r", r: { ...(valid[q] ?? valid["ping"]), [key]: v } }),
  ),
  // A valid answer.
  fc.constant<Answer>((t, q) => encode({ t, y: "r", r: valid[q] ?? valid["ping"] })),
  // The answer's own fields replaced.
  fc.tuple(fc.constantFrom("t", "y", "r", "e"), bencodeValue).map(([key, v]): Answer => (t, q) => encode({ t, y: "r", r: valid[q] ?? valid["ping"], [key]: v })),
  // Random bytes, or a valid answer with one byte changed.
  fc.uint8Array({ maxLength: 120 }).map((b): Answer => () => Buffer.from(b)),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, byte]): Answer => (t, q) => {
    const bytes = encode({ t, y: "r", r: valid[q] ?? valid["ping"] });
    bytes[at % bytes.length] = byte;
    return bytes;
  }),
);

beforeAll(async () => {
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  responder = createUdpSocket("udp4");
  responder.on("message", (msg, rinfo) => {
    let m: Map<string, unknown>;
    try {
      m = decode(msg) as Map<string, unknown>;
    } catch {
      return;
    }
    if (!(m instanceof Map)) return;
    const t = m.get("t");
    const make = script[turn++ % Math.max(1, script.length)];
    if (!Buffer.isBuffer(t) || make === undefined) return;
    responder.send(make(t, String(m.get("q"))), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => responder.bind(0, "127.0.0.1", resolve));
  d = dhtDiscovery({
    appName: APP,
    bootstrap: [`127.0.0.1:${responder.address().port}`],
    host: "127.0.0.1",
    queryTimeoutMs: 200,
    lookupTimeoutMs: 1_000,
    firstLookupDelaysMs: [],
    lookupIntervalMs: 300,
    announceIntervalMs: 600,
    maxPacketsPerSecondPerHost: 100_000,
    maxPacketsPerSecond: 100_000,
  });
  d.on("error", () => {});
});
afterAll(async () => {
  await d.close();
  responder.close();
  process.off("uncaughtException", onCrash);
  process.off("unhandledRejection", onCrash);
});

describe("the answers to a DHT node's queries, arbitrary and mutated", () => {
  it("never crash it; a record is taken only as its key signed it; a topic's lookups offer only unicast IPv4 addresses", async () => {
    script = [(t, q) => encode({ t, y: "r", r: valid[q] ?? valid["ping"] })];
    expect(await d.resolve(new Uint8Array(k))).toEqual({ value: new Uint8Array(value), seq: SEQ });
    // A topic looks up and announces all along, so get_peers and announce_peer answers are fuzzed too.
    const topic = d.topic("fuzzed-answers", { port: 7300 });
    const offers: string[] = [];
    topic.on("peer", (c) => void offers.push(c.host));
    await topic.start();
    await expect.poll(() => offers, { timeout: 5_000 }).toContain("127.0.0.1");
    await fc.assert(
      fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 8 }), async (answers) => {
        script = answers;
        turn = 0;
        const found = await d.resolve(new Uint8Array(k));
        if (found !== undefined) expect(found).toEqual({ value: new Uint8Array(value), seq: SEQ });
        expect(crashes).toEqual([]);
      }),
      { numRuns: 40 },
    );
    await topic.stop();
    for (const host of offers) expect(host).toMatch(/^(?!0\.|22[4-9]\.|2[3-5]\d\.)\d{1,3}(\.\d{1,3}){3}$/);
  }, 120_000);
});
