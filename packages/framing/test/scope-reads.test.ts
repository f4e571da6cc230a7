import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnvelopeCodec, ENVELOPE_VERSION, scopeReads, type Envelope, type ReadEnvelope } from "../src/index.js";

const A = "peer-a-".padEnd(55, "a");
const refused = expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", name: "FramingError" });

function frames(codec: EnvelopeCodec): { signed: Uint8Array; plain: Uint8Array; raw: Uint8Array; cut: Uint8Array } {
  const base: Envelope = { version: ENVELOPE_VERSION, kind: "k", source: A, destination: null, id: 5, hopLimit: 2, payload: { n: 1 } };
  const signed = codec.encodeSigned(base, () => new Uint8Array(64).fill(3));
  return {
    signed,
    plain: codec.encode({ ...base, id: 6, payload: { data: new Uint8Array(64) } }),
    raw: codec.encode({ ...base, id: 7, payload: new Uint8Array(256).fill(9) }),
    // Signed, its signature cut short: refused part-way.
    cut: signed.subarray(0, signed.length - 64),
  };
}

/** Whether `read` is whole (envelopeOf takes it, its payload is there), ended (nothing of its frame left, refused) or neither: refused after a failed read, what is left going when the read ends. */
type State = "whole" | "ended" | "refused";

function expectState(codec: EnvelopeCodec, read: ReadEnvelope, state: State): void {
  if (state === "whole") {
    expect(codec.envelopeOf(read)).toBeDefined();
    expect(read.payload).toBeDefined();
    return;
  }
  expect(() => codec.envelopeOf(read)).toThrow(refused);
  if (state === "ended") {
    expect(read.payload).toBeUndefined();
    expect(read.signed).toBe(false);
  }
}

describe("scopeReads: a frame's reads end as it returns", () => {
  it("ends them synchronously, before any microtask: no payload, no signature, envelopeOf refuses", () => {
    const codec = new EnvelopeCodec();
    const { signed, raw } = frames(codec);
    let read: ReadEnvelope | undefined;
    let payload: unknown;
    scopeReads({ read: (data: Uint8Array) => {
      read = codec.read(data);
      payload = read.payload;
      // Whole while the scope runs.
      expect(codec.envelopeOf(read).id).toBe(5);
      expect(codec.payloadBytesOf(payload)).toBeDefined();
    } }, signed);
    expect(read!.payload).toBeUndefined();
    expect(read!.signed).toBe(false);
    expect(codec.payloadBytesOf(payload)).toBeUndefined();
    expect(() => codec.envelopeOf(read!)).toThrow(refused);
    // A raw payload: its view is the caller's, but the codec's object no longer holds it.
    scopeReads({ read: (data: Uint8Array) => void (read = codec.read(data)) }, raw);
    expect(read!.payload).toBeUndefined();
    // Reads outside a scope last until the first microtask again.
    const after = codec.read(signed);
    expect(codec.envelopeOf(after).id).toBe(5);
  });

  it("ends the reads of every codec read meanwhile, at the outermost return, also when the target throws", () => {
    const one = new EnvelopeCodec();
    const two = new EnvelopeCodec();
    const { signed, plain } = frames(one);
    const reads: Array<[EnvelopeCodec, ReadEnvelope]> = [];
    expect(() =>
      scopeReads({ read: (data: Uint8Array) => {
        scopeReads({ read: (inner: Uint8Array) => void reads.push([two, two.read(inner)]) }, plain);
        // The inner scope returned: the outer one still runs, its reads last.
        expectState(two, reads[0]![1], "whole");
        reads.push([one, one.read(data)]);
        throw new Error("a handler's fault");
      } }, signed),
    ).toThrow("a handler's fault");
    for (const [codec, read] of reads) expectState(codec, read, "ended");
  });

  it("ends a read whose codec read before the scope too (its microtask then finds nothing to let go of)", async () => {
    const codec = new EnvelopeCodec();
    const { signed, plain } = frames(codec);
    codec.read(plain);
    let read: ReadEnvelope | undefined;
    scopeReads({ read: (data: Uint8Array) => void (read = codec.read(data)) }, signed);
    expectState(codec, read!, "ended");
    const next = codec.read(plain);
    expectState(codec, next, "whole");
    await Promise.resolve();
    expectState(codec, next, "ended");
  });

  it("holds to the model over any mix of reads (good and refused), scopes nested in any way and awaits (fuzzed)", async () => {
    type Op = { read: 0 | 1; frame: "signed" | "plain" | "raw" | "cut" } | { scope: Op[] } | { await: true };
    const read = fc.record({ read: fc.constantFrom<0 | 1>(0, 1), frame: fc.constantFrom<"signed" | "plain" | "raw" | "cut">("signed", "plain", "raw", "cut") });
    const { op } = fc.letrec<{ op: Op; ops: Op[] }>((tie) => ({
      op: fc.oneof<fc.Arbitrary<Op>[]>({ depthSize: "small", withCrossShrink: true }, read, fc.record<{ scope: Op[] }>({ scope: tie("ops") })),
      ops: fc.array<Op>(tie("op"), { maxLength: 4 }),
    }));
    const top = fc.array(fc.oneof(op, fc.constant<Op>({ await: true })), { maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(top, async (ops) => {
        const codecs = [new EnvelopeCodec(), new EnvelopeCodec()];
        const bytes = frames(codecs[0]!);
        const last: Array<ReadEnvelope | undefined> = [undefined, undefined];
        // The model: is each codec's last read whole? And which codecs read in the running outermost scope?
        const live: State[] = ["ended", "ended"];
        let depth = 0;
        const readIn = new Set<number>();
        const check = (): void => {
          for (const i of [0, 1]) if (last[i] !== undefined) expectState(codecs[i]!, last[i], live[i]!);
        };
        const run = (o: Op): void => {
          if ("read" in o) {
            const codec = codecs[o.read]!;
            let ok = true;
            try {
              last[o.read] = codec.read(bytes[o.frame]);
            } catch {
              ok = false;
            }
            expect(ok).toBe(o.frame !== "cut");
            live[o.read] = ok ? "whole" : "refused";
            if (depth > 0) readIn.add(o.read);
          } else if ("scope" in o) {
            scopeReads({ read: (inner: Op[]) => {
              depth++;
              try {
                for (const p of inner) run(p);
              } finally {
                depth--;
              }
            } }, o.scope);
            if (depth === 0) {
              for (const i of readIn) live[i] = "ended";
              readIn.clear();
            }
          }
          check();
        };
        for (const o of ops) {
          if ("await" in o) {
            await Promise.resolve();
            live[0] = live[1] = "ended";
            check();
          } else run(o);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("scopeReads: readers that take turns in one scope", () => {
  it("puts each reader in its list once: 3 codecs alternating 3,000 reads keep it at 3, and every read still ends as the scope returns", async () => {
    const { scopedReaders } = await import("../src/envelope-reader.js");
    const codecs = [new EnvelopeCodec(), new EnvelopeCodec(), new EnvelopeCodec()];
    const bytes = codecs.map((c) => frames(c).plain);
    const last: ReadEnvelope[] = [];
    let most = 0;
    scopeReads({ read: () => {
      for (let i = 0; i < 3000; i++) {
        const k = i % 3;
        last[k] = codecs[k]!.read(bytes[k]!);
        most = Math.max(most, scopedReaders());
      }
      expect(scopedReaders()).toBe(3);
      for (let k = 0; k < 3; k++) expectState(codecs[k]!, last[k]!, "whole");
    } }, undefined);
    expect(most).toBe(3);
    expect(scopedReaders()).toBe(0);
    for (let k = 0; k < 3; k++) expectState(codecs[k]!, last[k]!, "ended");
    // The next scope puts them in again.
    scopeReads({ read: () => {
      for (let k = 0; k < 3; k++) last[k] = codecs[k]!.read(bytes[k]!);
      expect(scopedReaders()).toBe(3);
    } }, undefined);
    for (let k = 0; k < 3; k++) expectState(codecs[k]!, last[k]!, "ended");
  });
});
