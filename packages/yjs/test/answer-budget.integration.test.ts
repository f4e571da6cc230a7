import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { Playground } from "@xppg/node";
import * as Y from "yjs";
import { budgetOf } from "../src/answer-budget.js";
import { PlaygroundProvider, YJS_ERROR_CODES, YJS_KIND, type PlaygroundProviderOptions, type YjsError } from "../src/index.js";

const nodes: Playground[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
});

async function started(): Promise<Playground> {
  const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
  nodes.push(pg);
  await pg.start();
  return pg;
}

async function until(check: () => boolean, what: string, timeout = 20_000): Promise<void> {
  await expect.poll(check, { timeout, interval: 10, message: what }).toBe(true);
}

/** The documents' names. */
const DOCS = ["d0", "d1", "d2", "d3"];

/** A node holding one document per name, each `size` characters of text, every provider with `options`. */
async function holder(size: number, options: PlaygroundProviderOptions) {
  const pg = await started();
  const errors: YjsError[] = [];
  const docs = DOCS.map((name) => {
    const doc = new Y.Doc();
    doc.getText("notes").insert(0, name.repeat(size / name.length));
    return doc;
  });
  const providers = docs.map((doc, i) => new PlaygroundProvider(pg, doc, { ...options, name: DOCS[i], onError: (error) => void errors.push(error) }));
  return { pg, docs, providers, errors };
}

/** A node with no provider and the step 2 answers it got (bytes, and in order of arrival). */
interface Asker {
  pg: Playground;
  got: { bytes: number; answers: { doc: string; update: Uint8Array }[] };
}

/** A node with no provider, counting the step 2 answers it gets. */
async function asker(): Promise<Asker> {
  const pg = await started();
  const got = { bytes: 0, answers: [] as { doc: string; update: Uint8Array }[] };
  pg.on(YJS_KIND.STEP2, (_src, _kind, payload) => {
    const { doc, update } = payload as { doc: string; update: Uint8Array };
    got.bytes += update.length;
    got.answers.push({ doc, update: update.slice() });
  });
  return { pg, got };
}

/** The state vector of an empty document: an ask for the whole document. */
const nothing = Y.encodeStateVector(new Y.Doc());

/** `m` asks `to` for every document, round after round, until `stop()`; resolves when its loop has ended. */
function flood(m: Playground, to: string, docs = DOCS): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const doc of docs) await m.send(YJS_KIND.STEP1, { doc, vector: nothing }, { to }).catch(() => {});
      // A millisecond between rounds keeps each asker well under the node's messagesPerSecond (it would be cut off, not paced).
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe("the node-wide budget of step 2 answers (syncAnswerBytesPerSecond)", () => {
  it("8 peers asking for 4 documents in a loop get at most a second's worth of bytes plus the budget's rate, and every asker is answered", async () => {
    const rate = 256 * 1024;
    const a = await holder(32 * 1024, { syncAnswerIntervalMs: 0, syncAnswerBytesPerSecond: rate });
    const askers: Asker[] = [];
    for (let i = 0; i < 8; i++) {
      const m = await asker();
      await m.pg.join(a.pg.addresses[0]!);
      askers.push(m);
    }
    await until(() => a.pg.peers.length === 8, "a sees the 8 askers");
    const begun = performance.now();
    const floods = askers.map((m) => flood(m.pg, a.pg.peerId));
    await until(() => askers.every((m) => new Set(m.got.answers.map((x) => x.doc)).size === DOCS.length), "every asker answered for every document");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Read before the loops stop: whatever arrived by now was encoded by now.
    const bytes = askers.reduce((sum, m) => sum + m.got.bytes, 0);
    const seconds = (performance.now() - begun) / 1000;
    await Promise.all(floods.map((f) => f.stop()));
    const oneAnswer = Y.encodeStateAsUpdate(a.docs[0]!).length;
    // The bucket holds at most a second's worth, refills at `rate`, and the answer that empties it may overrun by itself.
    expect(bytes).toBeLessThanOrEqual(rate * (1 + seconds) + oneAnswer);
    expect(bytes).toBeGreaterThanOrEqual(DOCS.length * askers.length * oneAnswer);
    expect(a.errors).toEqual([]);
    expect(a.pg.peers).toHaveLength(8); // paced, not dropped
  });

  it("an honest peer that joins during the flood converges on every document", async () => {
    const a = await holder(16 * 1024, { syncAnswerIntervalMs: 0, syncAnswerBytesPerSecond: 256 * 1024 });
    const askers: Asker[] = [];
    for (let i = 0; i < 8; i++) {
      const m = await asker();
      await m.pg.join(a.pg.addresses[0]!);
      askers.push(m);
    }
    const floods = askers.map((m) => flood(m.pg, a.pg.peerId));
    await until(() => (budgetOf(a.pg)?.waiting ?? 0) > 0, "answers wait for the budget");
    const honest = await started();
    const docs = DOCS.map((name) => {
      const doc = new Y.Doc();
      new PlaygroundProvider(honest, doc, { name });
      doc.getText("notes").insert(0, `honest ${name} `);
      return doc;
    });
    await honest.join(a.pg.addresses[0]!);
    await until(
      () => docs.every((doc, i) => doc.getText("notes").toString() === a.docs[i]!.getText("notes").toString() && doc.getText("notes").length === 16 * 1024 + `honest d${i} `.length),
      "the honest peer and a converge on every document",
    );
    expect(budgetOf(a.pg)!.waiting).toBeGreaterThan(0); // the flood still runs over the budget
    await Promise.all(floods.map((f) => f.stop()));
    expect(a.errors).toEqual([]);
  });

  it("a flooding peer does not hold back an honest peer's first answer by more than one of its own answers", async () => {
    // Eight documents: a flooder keeps one answer per document waiting, so served in order of arrival the honest ask would wait for up to eight.
    const names = [...DOCS, "d4", "d5", "d6", "d7"];
    const rate = 64 * 1024;
    const pg = await started();
    const held = names.map((name) => {
      const doc = new Y.Doc();
      doc.getText("notes").insert(0, name.repeat(8 * 1024));
      new PlaygroundProvider(pg, doc, { name, syncAnswerIntervalMs: 0, syncAnswerBytesPerSecond: rate });
      return doc;
    });
    const flooder = await asker();
    const honest = await asker();
    await flooder.pg.join(pg.addresses[0]!);
    await honest.pg.join(pg.addresses[0]!);
    await until(() => pg.peers.length === 2, "both joined");
    // The order of events at the node: the honest ask's arrival and every answer it starts (its send), per peer.
    const events: string[] = [];
    const who = (peerId: string): string => (peerId === honest.pg.peerId ? "honest" : "flooder");
    pg.on(YJS_KIND.STEP1, (src) => void (src === honest.pg.peerId && events.push("ask honest")));
    const send = pg.send.bind(pg);
    pg.send = (kind, payload, options) => {
      if (kind === YJS_KIND.STEP2) events.push(`answer ${who((options as { to: string }).to)}`);
      return send(kind, payload, options);
    };
    const f = flood(flooder.pg, pg.peerId, names);
    await until(() => (budgetOf(pg)?.waiting ?? 0) >= names.length, "the flooder's answers wait for the budget, one per document");
    await honest.pg.send(YJS_KIND.STEP1, { doc: "d0", vector: nothing }, { to: pg.peerId });
    await until(() => honest.got.answers.length === 1, "the honest ask answered");
    await f.stop();
    const asked = events.indexOf("ask honest");
    const answered = events.indexOf("answer honest");
    expect(asked).toBeGreaterThanOrEqual(0);
    // Served in turn: at most one of the flooder's answers started between the honest ask's arrival and its answer.
    expect(events.slice(asked, answered).filter((e) => e === "answer flooder").length).toBeLessThanOrEqual(1);
    const copy = new Y.Doc();
    Y.applyUpdate(copy, honest.got.answers[0]!.update);
    expect(copy.getText("notes").toString()).toBe(held[0]!.getText("notes").toString());
  });

  it("a peer that leaves gives up its waiting answers; destroy() of every provider drops the budget and sends nothing after", async () => {
    const a = await holder(32 * 1024, { syncAnswerIntervalMs: 0, syncAnswerBytesPerSecond: 64 * 1024 });
    const flooder = await asker();
    const other = await asker();
    await flooder.pg.join(a.pg.addresses[0]!);
    await other.pg.join(a.pg.addresses[0]!);
    const f = flood(flooder.pg, a.pg.peerId);
    await until(() => (budgetOf(a.pg)?.waiting ?? 0) === DOCS.length, "the flooder's answers wait, one per document");
    await f.stop();
    await flooder.pg.stop();
    await until(() => a.pg.peers.length === 1, "a saw the flooder leave");
    expect(budgetOf(a.pg)!.waiting).toBe(0);
    // The other asker's asks now wait for the budget the flooder spent; destroy() drops them.
    for (const doc of DOCS) await other.pg.send(YJS_KIND.STEP1, { doc, vector: nothing }, { to: a.pg.peerId });
    await until(() => budgetOf(a.pg)!.waiting > 0, "the other asker's asks wait");
    const started = DOCS.length - budgetOf(a.pg)!.waiting;
    for (const provider of a.providers) provider.destroy();
    expect(budgetOf(a.pg)).toBeUndefined();
    // Longer than the budget needs to refill for every waiting answer (4 x 32 KiB at 64 KiB/s): had they been left, they came by now.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(other.got.answers.length).toBe(started);
    expect(a.errors).toEqual([]);
  });

  it("every provider of a Playground shares one budget: another rate is refused (INVALID_ARGUMENT) until the last provider is destroyed", () => {
    const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
    const first = new PlaygroundProvider(pg, new Y.Doc(), { name: "a" });
    const second = new PlaygroundProvider(pg, new Y.Doc(), { name: "b", syncAnswerBytesPerSecond: 16 * 1024 * 1024 }); // the default, spelt out
    expect(budgetOf(pg)).toBeDefined();
    expect(() => new PlaygroundProvider(pg, new Y.Doc(), { name: "c", syncAnswerBytesPerSecond: 1024 })).toThrow(
      expect.objectContaining({ code: YJS_ERROR_CODES.INVALID_ARGUMENT, message: expect.stringContaining("pass the same value") }),
    );
    first.destroy();
    first.destroy(); // twice is once
    expect(budgetOf(pg)).toBeDefined();
    second.destroy();
    expect(budgetOf(pg)).toBeUndefined();
    new PlaygroundProvider(pg, new Y.Doc(), { name: "c", syncAnswerBytesPerSecond: 1024 }).destroy();
    for (const bad of [0, -1, 0.5, Number.NaN, Number.NEGATIVE_INFINITY, 2 ** 53, "1024"]) {
      expect(() => new PlaygroundProvider(pg, new Y.Doc(), { syncAnswerBytesPerSecond: bad as number })).toThrow(
        expect.objectContaining({ code: YJS_ERROR_CODES.INVALID_ARGUMENT, message: expect.stringContaining("syncAnswerBytesPerSecond") }),
      );
    }
    expect(budgetOf(pg)).toBeUndefined(); // a refused provider holds no share
    new PlaygroundProvider(pg, new Y.Doc(), { syncAnswerBytesPerSecond: Number.POSITIVE_INFINITY }).destroy();
  });

  it("a provider that leaves the option out shares the budget as it is; one that passes a value after providers made at the default sets it", () => {
    const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
    // A large document that wants more, made after a small one left at the default, in either order.
    const small = new PlaygroundProvider(pg, new Y.Doc(), { name: "small" });
    const large = new PlaygroundProvider(pg, new Y.Doc(), { name: "large", syncAnswerBytesPerSecond: 64 * 1024 * 1024 });
    expect(budgetOf(pg)!.bytesPerSecond).toBe(64 * 1024 * 1024);
    const later = new PlaygroundProvider(pg, new Y.Doc(), { name: "later" });
    expect(budgetOf(pg)!.bytesPerSecond).toBe(64 * 1024 * 1024);
    // Two rates passed still disagree, and the message names both.
    expect(() => new PlaygroundProvider(pg, new Y.Doc(), { name: "other", syncAnswerBytesPerSecond: 1024 })).toThrow(
      expect.objectContaining({ code: YJS_ERROR_CODES.INVALID_ARGUMENT, message: expect.stringMatching(/\(1024\).*\(67108864\)/) }),
    );
    for (const provider of [small, large, later]) provider.destroy();
    expect(budgetOf(pg)).toBeUndefined();
  });

  it("an ask with a large state vector is charged the vector's bytes, not only the small answer it makes", async () => {
    // A state vector of 35,000 made-up clients (some 210 KB, decoded into a map) asks a tiny document for nothing it has.
    const bytes: number[] = [];
    const varUint = (v: number): void => {
      for (; v >= 0x80; v = Math.floor(v / 0x80)) bytes.push((v % 0x80) | 0x80);
      bytes.push(v);
    };
    varUint(35_000);
    for (let c = 0; c < 35_000; c++) {
      varUint(2 ** 30 + c);
      varUint(1);
    }
    const vector = Uint8Array.from(bytes);
    const a = await holder(8, { syncAnswerIntervalMs: 0, syncAnswerBytesPerSecond: 16 * 1024 });
    const m = await asker();
    await m.pg.join(a.pg.addresses[0]!);
    await until(() => a.pg.peers.length === 1, "a sees the asker");
    for (const doc of DOCS) await m.pg.send(YJS_KIND.STEP1, { doc, vector }, { to: a.pg.peerId });
    // Each answer is a few bytes; charged only those (at least 1 KiB), all four fit in the 16 KiB burst.
    await until(() => m.got.answers.length + budgetOf(a.pg)!.waiting === DOCS.length, "every ask answered or waiting");
    expect(m.got.answers.length).toBe(1);
    expect(budgetOf(a.pg)!.waiting).toBe(DOCS.length - 1);
    expect(a.errors).toEqual([]);
    for (const provider of a.providers) provider.destroy();
  });
});
