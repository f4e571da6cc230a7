import { afterEach, describe, expect, it } from "vitest";
import { Playground } from "@xppg/node";
import * as Y from "yjs";
import { DEFAULT_MAX_PENDING_SIZE, PlaygroundProvider, YJS_ERROR_CODES, YJS_KIND, type PlaygroundProviderOptions, type YjsError } from "../src/index.js";

const nodes: Playground[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
});

async function peer(options: PlaygroundProviderOptions = {}): Promise<{ pg: Playground; doc: Y.Doc; errors: [YjsError, string | undefined][]; provider: PlaygroundProvider }> {
  const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
  nodes.push(pg);
  const errors: [YjsError, string | undefined][] = [];
  await pg.start();
  const doc = new Y.Doc();
  const provider = new PlaygroundProvider(pg, doc, { ...options, onError: (error, peerId) => void errors.push([error, peerId]) });
  return { pg, doc, errors, provider };
}

async function until(check: () => boolean, what: string): Promise<void> {
  await expect.poll(check, { timeout: 10_000, interval: 10, message: what }).toBe(true);
}

const view = (d: Y.Doc): string => JSON.stringify([d.getText("notes").toString(), d.getMap("scores").toJSON()]);
const same = (a: Y.Doc, b: Y.Doc): boolean => view(a) === view(b);

describe("PlaygroundProvider", () => {
  it("two documents converge through a third peer they both join (real loopback)", async () => {
    const [a, hub, b] = [await peer(), await peer(), await peer()];
    a.doc.getText("notes").insert(0, "written before joining. ");
    await a.pg.join(hub.pg.addresses[0]!);
    await b.pg.join(hub.pg.addresses[0]!);
    await until(() => b.doc.getText("notes").toString() === "written before joining. ", "a's early text reaches b through the hub");
    a.doc.getText("notes").insert(0, "A ");
    b.doc.getText("notes").insert(0, "B ");
    b.doc.getMap("scores").set("bob", 3);
    await until(() => same(a.doc, b.doc) && same(a.doc, hub.doc) && a.doc.getMap("scores").get("bob") === 3, "all three converge");
    expect(a.doc.getText("notes").toString()).toMatch(/^(A B |B A )written before joining\. $/);
    expect(a.pg.peers.map((p) => p.peerId)).toEqual([hub.pg.peerId]); // a and b never met
  });

  it("a peer that sends bytes Yjs cannot read is disconnected with BAD_UPDATE", async () => {
    const [a, m] = [await peer(), await peer()];
    await m.pg.join(a.pg.addresses[0]!);
    await m.pg.send(YJS_KIND.UPDATE, { doc: "default", update: new Uint8Array([255, 255, 255, 1, 2]) }, { to: a.pg.peerId });
    await until(() => a.errors.some(([e, src]) => e.code === YJS_ERROR_CODES.BAD_UPDATE && src === m.pg.peerId), "refused");
    await until(() => a.pg.peers.length === 0, "m disconnected");
  });

  it("takes an update and a state vector of exactly maxUpdateSize bytes, and disconnects a peer that sends one byte more (BAD_UPDATE)", async () => {
    const source = new Y.Doc();
    source.getText("notes").insert(0, "x".repeat(100));
    const update = Y.encodeStateAsUpdate(source);
    const vector = Y.encodeStateVector(source);
    for (const [kind, field, bytes] of [
      [YJS_KIND.UPDATE, "update", update],
      [YJS_KIND.STEP1, "vector", vector],
    ] as const) {
      for (const [limit, refused] of [
        [bytes.length, false],
        [bytes.length - 1, true],
      ] as const) {
        const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
        nodes.push(pg);
        await pg.start();
        const doc = new Y.Doc();
        const errors: YjsError[] = [];
        new PlaygroundProvider(pg, doc, { maxUpdateSize: limit, onError: (error) => void errors.push(error) });
        const m = await peer();
        await m.pg.join(pg.addresses[0]!);
        await m.pg.send(kind, { doc: "default", [field]: bytes }, { to: pg.peerId });
        if (refused) {
          await until(() => errors.some((e) => e.code === YJS_ERROR_CODES.BAD_UPDATE && e.message.includes(`a ${field} of ${bytes.length} bytes, over maxUpdateSize (${limit})`)), `${field} refused`);
          await until(() => pg.peers.length === 0, "the sender disconnected");
        } else {
          // Taken: the update is in the document; a state vector is answered with step 2.
          if (kind === YJS_KIND.UPDATE) await until(() => doc.getText("notes").toString() === "x".repeat(100), "the update applied");
          else await m.pg.send("probe", null, { to: pg.peerId }).then(() => until(() => pg.peers.length === 1, "still joined"));
          expect(errors).toEqual([]);
        }
      }
    }
  });

  /** Updates of one writer, each building on the one before: the first is the base the others need. */
  function chain(count: number, size: number): Uint8Array[] {
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on("update", (update: Uint8Array) => void updates.push(update));
    source.getText("notes").insert(0, "base ");
    for (let i = 0; i < count; i++) source.getText("notes").insert(source.getText("notes").length, String(i % 10).repeat(size));
    return updates;
  }
  const held = (d: Y.Doc): number => (d.store.pendingStructs?.update.length ?? 0) + (d.store.pendingDs?.length ?? 0);

  it("an update that comes before its base is held, then applied when the base comes", async () => {
    const [a, m] = [await peer(), await peer()];
    await m.pg.join(a.pg.addresses[0]!);
    const [base, next] = chain(1, 10);
    await m.pg.send(YJS_KIND.UPDATE, { doc: "default", update: next! }, { to: a.pg.peerId });
    await until(() => held(a.doc) > 0, "the update waits for its base");
    expect(a.doc.getText("notes").toString()).toBe("");
    await m.pg.send(YJS_KIND.UPDATE, { doc: "default", update: base! }, { to: a.pg.peerId });
    await until(() => a.doc.getText("notes").toString() === "base 0000000000", "both applied, in order");
    expect(held(a.doc)).toBe(0);
    expect(a.errors).toEqual([]);
    expect(a.pg.peers.map((p) => p.peerId)).toEqual([m.pg.peerId]);
  });

  it("a peer whose updates' base never comes is disconnected before they hold more than maxPendingSize", async () => {
    const [a, m, honest] = [await peer(), await peer(), await peer()];
    honest.doc.getText("notes").insert(0, "honest");
    await honest.pg.join(a.pg.addresses[0]!);
    await until(() => a.doc.getText("notes").toString() === "honest", "a synced with the honest peer");
    await m.pg.join(a.pg.addresses[0]!);
    await until(() => a.pg.peers.some((p) => p.peerId === m.pg.peerId), "a sees m");
    const updates = chain(40, 64 * 1024).slice(1); // never the base: Yjs would hold them all
    let peak = 0;
    for (const update of updates) {
      if (!a.pg.peers.some((p) => p.peerId === m.pg.peerId)) break;
      await m.pg.send(YJS_KIND.UPDATE, { doc: "default", update }, { to: a.pg.peerId }).catch(() => {});
      peak = Math.max(peak, held(a.doc));
    }
    await until(() => a.errors.some(([e, src]) => e.code === YJS_ERROR_CODES.BAD_UPDATE && src === m.pg.peerId), "refused");
    expect(a.errors[0]![0].message).toMatch(/base never came .* over maxPendingSize 2097152/);
    await until(() => !a.pg.peers.some((p) => p.peerId === m.pg.peerId), "m disconnected");
    expect(peak).toBeLessThanOrEqual(DEFAULT_MAX_PENDING_SIZE);
    expect(held(a.doc)).toBe(0);
    // The honest peer stays, and its changes still arrive.
    honest.doc.getText("notes").insert(6, "!");
    await until(() => a.doc.getText("notes").toString() === "honest!", "honest changes still sync");
  });

  it("over maxPendingSize, the peer that filled it is disconnected, not an honest one whose update crossed it", async () => {
    const [a, m, honest] = [await peer(), await peer(), await peer()];
    await m.pg.join(a.pg.addresses[0]!);
    await honest.pg.join(a.pg.addresses[0]!);
    await until(() => a.pg.peers.length === 2, "a sees both");
    // m fills what Yjs holds aside to just under the bound: 31 updates of 64 KiB without their base.
    for (const update of chain(31, 64 * 1024).slice(1)) await m.pg.send(YJS_KIND.UPDATE, { doc: "default", update }, { to: a.pg.peerId });
    await until(() => held(a.doc) > DEFAULT_MAX_PENDING_SIZE - 128 * 1024, "m's updates held aside");
    expect(a.pg.peers).toHaveLength(2);
    // An honest update that arrives before its base (as forwarding can order them) crosses the bound.
    const [, later] = chain(1, 100 * 1024);
    await honest.pg.send(YJS_KIND.UPDATE, { doc: "default", update: later! }, { to: a.pg.peerId });
    await until(() => a.errors.length > 0, "the bound tripped");
    expect(a.errors.map(([e, src]) => [e.code, src])).toEqual([[YJS_ERROR_CODES.BAD_UPDATE, m.pg.peerId]]);
    await until(() => a.pg.peers.map((p) => p.peerId).join() === honest.pg.peerId, "only m is disconnected");
    expect(held(a.doc)).toBe(0);
  });

  /** A node with no provider, counting the step 2 answers it gets. */
  async function asker(): Promise<{ pg: Playground; answers: Uint8Array[] }> {
    const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
    nodes.push(pg);
    await pg.start();
    const answers: Uint8Array[] = [];
    pg.on(YJS_KIND.STEP2, (_src, _kind, payload) => void answers.push((payload as { update: Uint8Array }).update.slice()));
    return { pg, answers };
  }

  /** `a`, its document holding `text` and its step 1 answers paced by `syncAnswerIntervalMs`, and an asker `m` joined to it, once `a` sees m. */
  async function askerJoined(syncAnswerIntervalMs: number, text: string) {
    const a = await peer({ syncAnswerIntervalMs });
    a.doc.getText("notes").insert(0, text);
    const m = await asker();
    await m.pg.join(a.pg.addresses[0]!);
    await until(() => a.pg.peers.some((p) => p.peerId === m.pg.peerId), "a sees m");
    return { a, m };
  }

  /** Resolves once `a` answered a message `m` sent after everything before it (one connection keeps order): all m sent before has been handled. */
  async function roundTrip(a: Playground, m: Playground): Promise<void> {
    let back = false;
    const offs = [a.on("probe", (src) => void a.send("probed", null, { to: src })), m.on("probed", () => void (back = true))];
    await m.send("probe", null, { to: a.peerId });
    await until(() => back, "a answered the probe");
    for (const off of offs) off();
  }

  /** The state vector of an empty document: an ask for the whole document. */
  const nothing = Y.encodeStateVector(new Y.Doc());

  it("a peer that sends step 1 in a loop gets one answer per syncAnswerIntervalMs, the rest coalesced; an honest peer's sync still converges", async () => {
    const { a, m } = await askerJoined(60_000, "x".repeat(32 * 1024));
    const flood = (async () => {
      for (let i = 0; i < 2000; i++) await m.pg.send(YJS_KIND.STEP1, { doc: "default", vector: nothing }, { to: a.pg.peerId });
    })();
    // An honest peer joins during the flood; its asks are its own.
    const honest = await peer();
    honest.doc.getText("notes").insert(0, "honest ");
    await honest.pg.join(a.pg.addresses[0]!);
    await flood;
    await until(() => same(a.doc, honest.doc) && a.doc.getText("notes").length === 32 * 1024 + "honest ".length, "a and the honest peer converge");
    await roundTrip(a.pg, m.pg);
    expect(m.answers).toHaveLength(1); // 2000 asks, one answer: the rest wait for the interval, coalesced into one
    const copy = new Y.Doc();
    Y.applyUpdate(copy, m.answers[0]!);
    expect(copy.getText("notes").toString()).toBe("x".repeat(32 * 1024)); // the whole document, as it was then
    expect(a.errors).toEqual([]);
    expect(a.pg.peers.map((p) => p.peerId).sort()).toEqual([m.pg.peerId, honest.pg.peerId].sort()); // paced, not dropped
    honest.doc.getText("notes").insert(0, "later ");
    await until(() => a.doc.getText("notes").toString().startsWith("later "), "the honest peer's changes still arrive");
  });

  // Passes without pacing too (each ask answered at once, the last against the latest vector): it holds the coalescing
  // to keeping the latest ask, not the first, and to answering it when the interval ends. Three asks give at most three
  // answers whatever the pacer does, so their count is not asserted; the 2000-ask test proves the pacing.
  it("asks coalesced while an answer's interval runs are answered when it ends, against the latest state vector and the document as it is then", async () => {
    const { a, m } = await askerJoined(1000, "first");
    const mirror = new Y.Doc();
    await m.pg.send(YJS_KIND.STEP1, { doc: "default", vector: Y.encodeStateVector(mirror) }, { to: a.pg.peerId });
    await until(() => m.answers.length === 1, "the first ask answered");
    Y.applyUpdate(mirror, m.answers[0]!);
    expect(mirror.getText("notes").toString()).toBe("first");
    a.doc.getText("notes").insert(5, " second");
    // Two more asks: an empty vector, then the latest (what m holds now); the latest is the one answered.
    void m.pg.send(YJS_KIND.STEP1, { doc: "default", vector: Y.encodeStateVector(new Y.Doc()) }, { to: a.pg.peerId });
    await m.pg.send(YJS_KIND.STEP1, { doc: "default", vector: Y.encodeStateVector(mirror) }, { to: a.pg.peerId });
    await until(() => {
      if (m.answers.length < 2) return false;
      const last = new Y.Doc();
      Y.applyUpdate(last, m.answers.at(-1)!);
      // Against m's latest vector the answer holds only what m lacks: " second" builds on "first", so alone it waits for its base.
      return last.getText("notes").toString() === "" && last.store.pendingStructs !== null;
    }, "the coalesced ask answered against the latest vector");
    Y.applyUpdate(mirror, m.answers.at(-1)!);
    expect(mirror.getText("notes").toString()).toBe("first second");
    expect(a.errors).toEqual([]);
  });

  /** `m` asks `a` twice for the whole document, the second ask while the first answer's interval runs; resolves once a handled both. */
  async function askTwice(a: Playground, m: Playground): Promise<void> {
    await m.send(YJS_KIND.STEP1, { doc: "default", vector: nothing }, { to: a.peerId });
    await m.send(YJS_KIND.STEP1, { doc: "default", vector: nothing }, { to: a.peerId }); // waits for the interval
    await roundTrip(a, m);
  }

  it("a peer that leaves while its ask waits for the interval is answered at once when it comes back; the ask it left behind is dropped", async () => {
    const { a, m } = await askerJoined(60_000, "first");
    await askTwice(a.pg, m.pg);
    expect(m.answers).toHaveLength(1);
    m.pg.disconnect(a.pg.peerId);
    await until(() => a.pg.peers.length === 0, "a saw m leave");
    a.doc.getText("notes").insert(5, " second");
    await m.pg.join(a.pg.addresses[0]!);
    await until(() => a.pg.peers.some((p) => p.peerId === m.pg.peerId), "a sees m again");
    await m.pg.send(YJS_KIND.STEP1, { doc: "default", vector: nothing }, { to: a.pg.peerId });
    // A first ask again, not one coalesced into what waited from before (that would wait out the 60 s interval).
    await until(() => m.answers.length === 2, "the ask after coming back answered at once");
    const copy = new Y.Doc();
    Y.applyUpdate(copy, m.answers[1]!);
    expect(copy.getText("notes").toString()).toBe("first second");
    await roundTrip(a.pg, m.pg);
    expect(m.answers).toHaveLength(2);
    expect(a.errors).toEqual([]);
  });

  it("destroy() while an ask waits for the interval: it is never answered, the provider sends nothing after", async () => {
    const { a, m } = await askerJoined(200, "first");
    await askTwice(a.pg, m.pg);
    expect(m.answers).toHaveLength(1);
    a.provider.destroy();
    // A timer made after the interval's, for longer: had the interval's been left running, its answer went out before this resolved.
    await new Promise((resolve) => setTimeout(resolve, 600));
    await roundTrip(a.pg, m.pg);
    expect(m.answers).toHaveLength(1);
    expect(a.pg.peers.map((p) => p.peerId)).toEqual([m.pg.peerId]);
  });

  it("refuses a syncAnswerIntervalMs that is not an integer from 0 to 2^31 - 1 (INVALID_ARGUMENT)", () => {
    const pg = new Playground("yjs-test", { host: "127.0.0.1", port: 0 });
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "1000"]) {
      expect(() => new PlaygroundProvider(pg, new Y.Doc(), { syncAnswerIntervalMs: bad as number })).toThrow(
        expect.objectContaining({ code: YJS_ERROR_CODES.INVALID_ARGUMENT, message: expect.stringContaining("syncAnswerIntervalMs") }),
      );
    }
    for (const good of [0, 2 ** 31 - 1]) new PlaygroundProvider(pg, new Y.Doc(), { syncAnswerIntervalMs: good }).destroy();
  });
});
