// A hostile peer on loopback TCP sends the provider's three kinds with
// arbitrary and mutated-valid payloads (fast-check): each is taken, or its
// sender is disconnected with BAD_UPDATE; the node never fails otherwise,
// and an honest peer's changes still reach the document.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { Playground } from "@xppg/node";
import * as Y from "yjs";
import { PlaygroundProvider, YJS_ERROR_CODES, YJS_KIND, type YjsError } from "../src/index.js";

const nodes: Playground[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
});

async function started(): Promise<Playground> {
  // Strikes would ban the hostile peer's host after a few runs; this test is about surviving the input.
  const pg = new Playground("yjs-fuzz", { host: "127.0.0.1", port: 0, limits: { banThreshold: Number.MAX_SAFE_INTEGER } });
  nodes.push(pg);
  await pg.start();
  return pg;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What MessagePack carries, with the field names the provider reads. */
const { value: wireValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom(2 ** 31, 2 ** 32, -1, Number.NaN, Number.MAX_SAFE_INTEGER),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 80 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("doc", "update", "vector", "constructor", "toString", "x"), tie("value"), { maxKeys: 4 }),
  ),
}));

/** A valid byte field with a few bytes changed, cut short, or grown. */
function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
      const copy = valid.slice();
      for (const [at, v] of edits) copy[at] = v;
      return copy;
    }),
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => Uint8Array.from([...valid, ...tail])),
    fc.uint8Array({ maxLength: 120 }),
  );
}

/** Updates and a state vector of a document edited with every common content kind, by another client. */
function validBytes(): { update: Uint8Array; vector: Uint8Array } {
  const d = new Y.Doc();
  d.getText("t").insert(0, "hello");
  d.getText("t").format(1, 2, { bold: true });
  d.getMap("m").set("k", [1, "x", { y: new Uint8Array(3) }]);
  d.getArray("a").push([new Y.Map(), 2.5]);
  d.getText("t").delete(0, 1);
  return { update: Y.encodeStateAsUpdate(d), vector: Y.encodeStateVector(d) };
}

describe("PlaygroundProvider: fuzzing a peer's yjs messages over TCP", () => {
  it("each is taken or its sender disconnected with BAD_UPDATE; the node carries on and an honest peer's changes arrive", async () => {
    const { update, vector } = validBytes();
    const messages = fc.oneof(
      fc.tuple(fc.constantFrom(YJS_KIND.STEP1, YJS_KIND.STEP2, YJS_KIND.UPDATE), wireValue),
      fc.tuple(fc.constant(YJS_KIND.STEP1), mutatedBytes(vector).map((v) => ({ doc: "default", vector: v }))),
      fc.tuple(fc.constantFrom(YJS_KIND.STEP2, YJS_KIND.UPDATE), mutatedBytes(update).map((u) => ({ doc: "default", update: u }))),
      fc.tuple(fc.constantFrom(YJS_KIND.STEP1, YJS_KIND.STEP2, YJS_KIND.UPDATE), fc.constant({ doc: "default" })),
    );

    const target = await started();
    const doc = new Y.Doc();
    const errors: { error: YjsError; peerId: string | undefined }[] = [];
    new PlaygroundProvider(target, doc, { onError: (error, peerId) => void errors.push({ error, peerId }) });
    const honest = await started();
    const honestDoc = new Y.Doc();
    new PlaygroundProvider(honest, honestDoc);
    await honest.join(target.addresses[0]!);
    const hostile = await started();
    const seen: number[] = [];
    target.on("probe", (_src, _kind, payload) => void seen.push(payload as number));

    let round = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(messages, { minLength: 1, maxLength: 5 }), async (list) => {
        if (!target.peers.some((p) => p.peerId === hostile.peerId)) await hostile.join(target.addresses[0]!);
        for (const [kind, payload] of list) await hostile.send(kind, payload, { to: target.peerId }).catch(() => {});
        // A round trip on the same link: everything before it was read.
        await hostile.send("probe", round, { to: target.peerId }).catch(() => {});
        await until(() => !target.peers.some((p) => p.peerId === hostile.peerId) || seen.includes(round), "the probe or a disconnect");
        round++;
        refused += errors.length;
        for (const { error, peerId } of errors.splice(0)) {
          expect(error.code, error.message).toBe(YJS_ERROR_CODES.BAD_UPDATE);
          expect(peerId).toBe(hostile.peerId);
        }
        // The honest peer is still served: its change reaches the target's document.
        const mark = `r${round}`;
        honestDoc.getMap("marks").set(mark, round);
        await until(() => doc.getMap("marks").get(mark) === round, `the honest peer's change ${mark}`);
      }),
      { numRuns: 150 },
    );
    // The input reached the checks: messages were refused for what they held.
    expect(refused).toBeGreaterThan(0);
    expect(target.running).toBe(true);
    expect(target.peers.map((p) => p.peerId)).toContain(honest.peerId);
  }, 120_000);
});
