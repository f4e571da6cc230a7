// The shape check of a peer's Yjs update (fast-check): every update Yjs
// writes passes it; a count the bytes cannot hold is refused before Yjs reads
// (and allocates by) it; and a peer sending one is disconnected.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Playground } from "@xppg/node";
import * as Y from "yjs";
import { PlaygroundProvider, YJS_ERROR_CODES, YJS_KIND, type YjsError } from "../src/index.js";
import { MAX_ANY_DEPTH, scanStateVector, scanUpdate } from "../src/update-scan.js";

/** Any value Yjs keeps in a map or an array (lib0's `writeAny`). */
const anyValue = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 20 }),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("v"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).v;

/** One edit of a document, of every content kind Yjs writes. */
const edit = fc.oneof(
  fc.tuple(fc.nat(), fc.string({ maxLength: 10 })).map(([at, s]) => (d: Y.Doc) => {
    const t = d.getText("t");
    t.insert(at % (t.length + 1), s);
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 5 })).map(([at, n]) => (d: Y.Doc) => {
    const t = d.getText("t");
    if (t.length > 0) t.delete(at % t.length, Math.min(n, t.length - (at % t.length)));
  }),
  fc.tuple(fc.nat(), fc.nat({ max: 5 })).map(([at, n]) => (d: Y.Doc) => {
    const t = d.getText("t");
    if (t.length > 0) t.format(at % t.length, n, { bold: true, color: "#f00" });
  }),
  fc.nat().map((at) => (d: Y.Doc) => {
    const t = d.getText("t");
    t.insertEmbed(at % (t.length + 1), { image: "x.png" });
  }),
  fc.tuple(fc.string({ maxLength: 6 }), anyValue).map(([k, v]) => (d: Y.Doc) => void d.getMap("m").set(k, v)),
  fc.string({ maxLength: 6 }).map((k) => (d: Y.Doc) => void d.getMap("m").delete(k)),
  fc.array(anyValue, { maxLength: 3 }).map((vs) => (d: Y.Doc) => void d.getArray("a").push(vs)),
  fc.constant((d: Y.Doc) => void d.getArray("a").push([new Y.Map(), new Y.Array(), new Y.Text("x")])),
  fc.string({ minLength: 1, maxLength: 6 }).map((name) => (d: Y.Doc) => {
    const el = new Y.XmlElement(/^[a-z]+$/.test(name) ? name : "p");
    el.setAttribute("k", "v");
    el.insert(0, [new Y.XmlText("hi")]);
    d.getXmlFragment("x").push([el]);
  }),
  fc.constant((d: Y.Doc) => void d.getMap("m").set("sub", new Y.Doc({ meta: { a: [1, "b"] } }))),
);

/** The updates a document writes: its whole state, and each incremental update. */
function updatesOf(edits: ((d: Y.Doc) => void)[], clients: number): Uint8Array[] {
  const docs = Array.from({ length: clients }, () => new Y.Doc());
  const out: Uint8Array[] = [];
  docs[0]!.on("update", (u: Uint8Array) => void out.push(u));
  edits.forEach((e, i) => e(docs[i % clients]!));
  for (const d of docs.slice(1)) Y.applyUpdate(docs[0]!, Y.encodeStateAsUpdate(d));
  out.push(Y.encodeStateAsUpdate(docs[0]!));
  return out;
}

/** lib0's varuint of `n`: 7 bits a byte, low bits first. */
function varUint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}

/** lib0's varint of `n`: the sign and 6 bits in the first byte, then 7 a byte, low bits first. */
function varInt(n: number): number[] {
  let m = Math.abs(n);
  const out = [(m % 64) | (n < 0 ? 0x40 : 0) | (m >= 64 ? 0x80 : 0)];
  for (m = Math.floor(m / 64); m > 0; m = Math.floor(m / 128)) out.push((m % 128) | (m >= 128 ? 0x80 : 0));
  return out;
}

describe("scanUpdate", () => {
  it("passes every update Yjs writes, of every content kind, from several clients", () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (edits, clients) => {
        for (const update of updatesOf(edits, clients)) expect(scanUpdate(update)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("passes the updates and state vectors of a large document of many clients: client ids up to 2^32 - 1 (Yjs picks them at random), long texts, deletes, sub-documents, merged updates with gaps", () => {
    const ids = [0, 127, 128, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1];
    const main = new Y.Doc();
    const updates: Uint8Array[] = [];
    main.on("update", (u: Uint8Array) => void updates.push(u));
    const docs = Array.from({ length: 200 }, (_, i) => {
      const d = new Y.Doc();
      if (i < ids.length) d.clientID = ids[i]!;
      const t = d.getText(`t${i % 3}`);
      t.insert(0, i % 40 === 0 ? "é".repeat(40_000) : `client ${i}`);
      t.delete(2, 3);
      d.getMap("m").set(`k${i}`, { n: 2 ** 31 + i, neg: -i, big: 2n ** 62n, bytes: new Uint8Array(200) });
      d.getArray("a").push([new Y.Doc({ meta: { i } })]);
      if (i % 2 === 0) d.getMap("m").delete(`k${i}`);
      Y.applyUpdate(main, Y.encodeStateAsUpdate(d));
      return d;
    });
    const vector = Y.encodeStateVector(main);
    expect(Y.decodeStateVector(vector).size).toBe(200);
    expect(scanStateVector(vector)).toBeUndefined();
    for (const d of docs) expect(scanStateVector(Y.encodeStateVector(d))).toBeUndefined();
    const whole = Y.encodeStateAsUpdate(main);
    for (const u of [
      whole,
      Y.encodeStateAsUpdate(main, Y.encodeStateVector(docs[100]!)),
      Y.diffUpdate(whole, Y.encodeStateVector(docs[0]!)),
      Y.mergeUpdates(updates.filter((_, i) => i % 3 !== 0)),
      Y.convertUpdateFormatV2ToV1(Y.encodeStateAsUpdateV2(main)),
      ...updates,
    ]) {
      expect(scanUpdate(u)).toBeUndefined();
    }
  });

  it("refuses a count of structs the bytes cannot hold (5 bytes declaring 29 million), before Yjs allocates for them", () => {
    expect(scanUpdate(Uint8Array.from([0x01, 0xda, 0xe7, 0xe7, 0x0d]))).toBe("a count of 28963802 where 0 bytes remain");
    // The same lie in a second client's group, after a sound first one.
    const sound = Y.encodeStateAsUpdate(((d) => (d.getText("t").insert(0, "a"), d))(new Y.Doc()));
    const lie = Uint8Array.from([0x02, ...sound.subarray(1, sound.length - 1), 0xda, 0xe7, 0xe7, 0x0d, 0x01, 0x00, 0x00]);
    expect(scanUpdate(lie)).toMatch(/^a count of 28963802 where \d+ bytes remain$/);
    // One struct (client 1, clock 0) of any-content under the root type "a", its value nested past the bound.
    const nested = (depth: number): Uint8Array => Uint8Array.from([0x01, 0x01, 0x01, 0x00, 0x08, 0x01, 0x01, 0x61, 0x01, ...Array.from({ length: depth }, () => [117, 0x01]).flat(), 126, 0x00]);
    expect(scanUpdate(nested(MAX_ANY_DEPTH))).toBeUndefined();
    expect(scanUpdate(nested(MAX_ANY_DEPTH + 1))).toBe(`values nested deeper than ${MAX_ANY_DEPTH}`);
  });

  it("refuses an integer past 53 bits (a struct's clock, a client id, a length), which lib0 reads unchecked from its last byte", () => {
    // One client (1) with one struct at clock 0: a GC of `length` (lib0 takes up to 8 bytes, 56 bits).
    const gc = (length: number[]): Uint8Array => Uint8Array.from([0x01, 0x01, 0x01, 0x00, 0x00, ...length, 0x00]);
    expect(scanUpdate(gc(varUint(Number.MAX_SAFE_INTEGER)))).toBeUndefined();
    expect(scanUpdate(gc(varUint(2 ** 53)))).toBe("an integer past 53 bits");
    expect(scanUpdate(gc(varUint(2 ** 55 + 2 ** 20)))).toBe("an integer past 53 bits");
    // Yjs takes it (and keeps a clock it can no longer count exactly).
    expect(() => Y.applyUpdate(new Y.Doc(), gc(varUint(2 ** 55 + 2 ** 20)))).not.toThrow();
  });

  it("refuses an integer value past 53 bits (a map's value of lib0's varint), which lib0 reads unchecked from its last byte", () => {
    // One client (1), one struct at clock 0: map "m", key "k", its value (ContentAny) an integer of `n`.
    const set = (n: number[]): Uint8Array => Uint8Array.from([0x01, 0x01, 0x01, 0x00, 0x28, 0x01, 0x01, 0x6d, 0x01, 0x6b, 0x01, 125, ...n, 0x00]);
    const read = (update: Uint8Array): unknown => {
      const d = new Y.Doc();
      Y.applyUpdate(d, update);
      return d.getMap("m").get("k");
    };
    expect(read(set(varInt(-5)))).toBe(-5);
    for (const n of [0, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) expect(scanUpdate(set(varInt(n))), String(n)).toBeUndefined();
    expect(scanUpdate(set(varInt(2 ** 53)))).toBe("an integer past 53 bits");
    expect(scanUpdate(set(varInt(-(2 ** 54))))).toBe("an integer past 53 bits");
    // Nine bytes, the last carrying the high bits: lib0 reads 2^61 without a complaint.
    const nine = varInt(2 ** 61);
    expect(nine.length).toBe(9);
    expect(read(set(nine))).toBe(2 ** 61);
    expect(scanUpdate(set(nine))).toBe("an integer past 53 bits");
  });

  it("on random and mutated updates, never throw: a sentence or undefined, and what passes Yjs reads or refuses", () => {
    const valid = updatesOf([(d) => d.getText("t").insert(0, "hello"), (d) => d.getMap("m").set("k", [1, "x", { y: new Uint8Array(3) }])], 2).at(-1)!;
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
        const copy = valid.slice();
        for (const [at, v] of edits) copy[at] = v;
        return copy;
      }),
    );
    fc.assert(
      fc.property(inputs, (bytes) => {
        const verdict = scanUpdate(bytes);
        if (verdict !== undefined) return;
        // What passes, Yjs reads quickly or refuses (with an error of its own, caught by the provider).
        try {
          Y.applyUpdate(new Y.Doc(), bytes);
        } catch {
          // refused by Yjs: the provider disconnects the peer with BAD_UPDATE
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("scanStateVector", () => {
  it("passes every state vector Yjs writes, from several clients", () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), (edits, clients) => {
        const docs = Array.from({ length: clients }, () => new Y.Doc());
        edits.forEach((e, i) => e(docs[i % clients]!));
        for (const d of docs.slice(1)) Y.applyUpdate(docs[0]!, Y.encodeStateAsUpdate(d));
        for (const d of docs) expect(scanStateVector(Y.encodeStateVector(d))).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a count the bytes cannot hold, a cut vector, and a clock past 53 bits (lib0 reads a padded one as 2e242, or NaN)", () => {
    expect(scanStateVector(Uint8Array.from([0xda, 0xe7, 0xe7, 0x0d]))).toBe("a count of 28963802 where 0 bytes remain");
    expect(scanStateVector(Uint8Array.from([0x01, 0x07]))).toBe("a count of 1 where 1 bytes remain");
    expect(scanStateVector(Uint8Array.from([0x01, 0x07, 0x80]))).toBe("the state vector ends early");
    expect(scanStateVector(Uint8Array.from([0x01, 0x07, ...varUint(2 ** 53)]))).toBe("an integer past 53 bits");
    const padded = Uint8Array.from([0x01, 0x07, ...Array<number>(100).fill(0x80), 0x01]);
    expect(Y.decodeStateVector(padded).get(7)).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(scanStateVector(padded)).toBe("an integer past 53 bits");
    expect(scanStateVector(Uint8Array.from([0x01, 0x07, ...varUint(Number.MAX_SAFE_INTEGER)]))).toBeUndefined();
  });

  it("on random and mutated vectors, never throws: a sentence or undefined, and what passes lib0 reads as safe integers", () => {
    const d = new Y.Doc();
    d.getText("t").insert(0, "hello");
    const other = new Y.Doc();
    other.getMap("m").set("k", 1);
    Y.applyUpdate(d, Y.encodeStateAsUpdate(other));
    const valid = Y.encodeStateVector(d);
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((edits) => {
        const copy = valid.slice();
        for (const [at, v] of edits) copy[at] = v;
        return copy;
      }),
    );
    fc.assert(
      fc.property(inputs, (bytes) => {
        if (scanStateVector(bytes) !== undefined) return;
        for (const [client, clock] of Y.decodeStateVector(bytes)) {
          expect(Number.isSafeInteger(client)).toBe(true);
          expect(Number.isSafeInteger(clock)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

type Peer = { readonly pg: Playground; readonly errors: YjsError[] };

describe("PlaygroundProvider and a hostile update", () => {
  const nodes: Playground[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
  });

  /** Two nodes with a provider each, the second joined to the first; each provider's errors collected. */
  async function joinedPair(): Promise<[Peer, Peer]> {
    const [a, m] = await Promise.all(
      [0, 1].map(async (): Promise<Peer> => {
        const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
        nodes.push(pg);
        await pg.start();
        const errors: YjsError[] = [];
        new PlaygroundProvider(pg, new Y.Doc(), { onError: (e) => void errors.push(e) });
        return { pg, errors };
      }),
    );
    await m!.pg.join(a!.pg.addresses[0]!);
    return [a!, m!];
  }

  it("an update declaring more structs than its bytes hold disconnects its sender with BAD_UPDATE", async () => {
    const [a, m] = await joinedPair();
    await m.pg.send(YJS_KIND.UPDATE, { doc: "default", update: Uint8Array.from([0x01, 0xda, 0xe7, 0xe7, 0x0d]) }, { to: a.pg.peerId });
    await expect.poll(() => a.errors.map((e) => e.code), { timeout: 10_000 }).toContain(YJS_ERROR_CODES.BAD_UPDATE);
    expect(a.errors[0]!.message).toContain("a count of 28963802 where 0 bytes remain");
    await expect.poll(() => a.pg.peers.length, { timeout: 10_000 }).toBe(0);
  });

  it("a state vector whose clock lib0 would read as 2e242 (its varint padded) disconnects its sender with BAD_UPDATE", async () => {
    const [a, m] = await joinedPair();
    await m.pg.send(YJS_KIND.STEP1, { doc: "default", vector: Uint8Array.from([0x01, 0x07, ...Array<number>(100).fill(0x80), 0x01]) }, { to: a.pg.peerId });
    await expect.poll(() => a.errors.map((e) => e.code), { timeout: 10_000 }).toContain(YJS_ERROR_CODES.BAD_UPDATE);
    expect(a.errors[0]!.message).toContain("a state vector Yjs cannot read (an integer past 53 bits)");
    await expect.poll(() => a.pg.peers.length, { timeout: 10_000 }).toBe(0);
  });
});
