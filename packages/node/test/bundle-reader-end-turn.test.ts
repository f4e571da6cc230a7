import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BundleReader, type BundleSink } from "../src/bundle-reader.js";

/** A bundle of envelopes whose first byte is their number (mod 256) and whose length is 1 + `pad`. */
function bundle(from: number, count: number, pad = 3): Uint8Array {
  const size = 4 + 1 + pad;
  const out = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    new DataView(out.buffer).setUint32(i * size, 1 + pad);
    out[i * size + 4] = (from + i) & 0xff;
  }
  return out;
}

/** A session's side of the reader: what it is handed, how it holds the peer, and whether it closed. */
function sink(onEnvelope: (n: number) => boolean | void = () => {}): BundleSink & { got: number[]; holds: string[]; closed: boolean } {
  const got: number[] = [];
  const holds: string[] = [];
  return {
    got,
    holds,
    closed: false,
    envelope(data, start) {
      got.push(data[start]!);
      return onEnvelope(data[start]!) !== false;
    },
    violation(what) {
      throw new Error(what as string);
    },
    pause: () => void holds.push("pause"),
    resume: () => void holds.push("resume"),
    isClosed() {
      return this.closed;
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("BundleReader.endTurnAfter: the rest waits for the next turn", () => {
  it("holds the rest of the frame and the frames after it until the next turn, after the promise jobs, then reads them in order", async () => {
    const order: string[] = [];
    const s = sink((n) => {
      if (n === 2) {
        reader.endTurnAfter();
        void Promise.resolve().then(() => order.push("settled"));
      }
      if (n === 3) order.push("rest");
    });
    const reader = new BundleReader(s, 100);
    reader.read(bundle(0, 5));
    reader.read(bundle(5, 3));
    expect(s.got).toEqual([0, 1, 2]);
    expect(reader.holding).toBe(true);
    // One turn's wait: the peer is not paused for it.
    expect(s.holds).toEqual([]);
    await Promise.resolve();
    expect(order).toEqual(["settled"]);
    await turn();
    expect(s.got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(order).toEqual(["settled", "rest"]);
    expect(reader.holding).toBe(false);
    expect(s.holds).toEqual([]);
  });

  it("at the last envelope of a frame, holds the frames that follow in the same read", async () => {
    const s = sink((n) => void (n === 4 && reader.endTurnAfter()));
    const reader = new BundleReader(s, 100);
    reader.read(bundle(0, 5));
    reader.read(bundle(5, 2));
    expect(s.got).toEqual([0, 1, 2, 3, 4]);
    await turn();
    expect(s.got).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.holds).toEqual([]);
  });

  it("the peer closed meanwhile: finish reads what waits at once, in order, nothing dropped", async () => {
    const s = sink((n) => void (n === 1 && reader.endTurnAfter()));
    const reader = new BundleReader(s, 100);
    reader.read(bundle(0, 4));
    reader.read(bundle(4, 2));
    expect(reader.finish()).toBeUndefined();
    expect(s.got).toEqual([0, 1, 2, 3, 4, 5]);
    await turn();
    expect(s.got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("the envelope closed the session: nothing is held, and the turn reads nothing", async () => {
    const s = sink((n) => {
      if (n !== 1) return true;
      reader.endTurnAfter();
      s.closed = true;
      return false;
    });
    const reader = new BundleReader(s, 100);
    reader.read(bundle(0, 4));
    expect(s.got).toEqual([0, 1]);
    expect(reader.holding).toBe(false);
    await turn();
    expect(s.got).toEqual([0, 1]);
    expect(s.holds).toEqual([]);
  });

  it("whatever the frames and wherever the turn ends, every envelope is read once, in order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 50 }), async (sizes, endAt, perTurn) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const s = sink((n) => void (n === endAt % total && reader.endTurnAfter()));
        const reader = new BundleReader(s, perTurn);
        let from = 0;
        for (const size of sizes) {
          reader.read(bundle(from, size));
          from += size;
        }
        for (let i = 0; i < total + 2 && reader.holding; i++) await turn();
        expect(s.got).toEqual(Array.from({ length: total }, (_, i) => i & 0xff));
        expect(reader.holding).toBe(false);
        expect(s.holds.filter((h) => h === "pause").length).toBe(s.holds.filter((h) => h === "resume").length);
      }),
      { numRuns: 100 },
    );
  });
});
