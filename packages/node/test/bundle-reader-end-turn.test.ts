import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BundleReader, CHECKS_PER_TURN, END_TURN_HELD_BYTES, TurnChecks, TurnTime, VERIFICATION_EXTRA_ENVELOPES, currentTurn, type BundleSink } from "../src/bundle-reader.js";

/**
 * A bundle of envelopes whose first byte is their number (mod 256) and whose length is 1 + `pad`;
 * those `signed` picks carry the signature flag in their second byte (what `isSignedEnvelope` peeks at).
 */
function bundle(from: number, count: number, pad = 3, signed: (n: number) => boolean = () => false): Uint8Array {
  const size = 4 + 1 + pad;
  const out = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    new DataView(out.buffer).setUint32(i * size, 1 + pad);
    out[i * size + 4] = (from + i) & 0xff;
    if (signed(from + i)) out[i * size + 5] = 0x02;
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

/** A node's checks with exact slices: these tests look at where slices end. */
function exact(): TurnChecks {
  const checks = new TurnChecks();
  checks.time = new TurnTime(0);
  return checks;
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
    // The turn ended at the welcome: the rest waits here, the peer not paused.
    expect(s.got).toEqual([0, 1]);
    expect(reader.holding).toBe(true);
    expect(s.holds).toEqual([]);
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
        const reader = new BundleReader(s, perTurn, exact());
        let from = 0;
        for (const size of sizes) {
          reader.read(bundle(from, size));
          from += size;
        }
        // The reads stopped at the envelope that ended the turn, or earlier where the slice ran out (then paused).
        const ended = (endAt % total) + 1;
        expect(s.got).toEqual(Array.from({ length: Math.min(ended, s.got.length) }, (_, i) => i));
        expect(s.got.length).toBe(Math.min(ended, perTurn));
        // The turn's end pauses nothing; only a slice that ran out did.
        expect(s.holds).toEqual(s.got.length < ended ? ["pause"] : []);
        for (let i = 0; i < total + 2 && reader.holding; i++) await turn();
        expect(s.got).toEqual(Array.from({ length: total }, (_, i) => i & 0xff));
        expect(reader.holding).toBe(false);
        expect(s.holds.filter((h) => h === "pause").length).toBe(s.holds.filter((h) => h === "resume").length);
      }),
      { numRuns: 100 },
    );
  });

  it("with a deferred envelope, signed envelopes past the turn's checks and frames from a later task: the turn ends at the envelope, unpaused, and all is read once, in order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        fc.record({ deferAt: fc.option(fc.integer({ min: 0, max: 200 })), deferTurns: fc.integer({ min: 0, max: 2 }), signedEvery: fc.integer({ min: 0, max: 4 }), checksSpent: fc.boolean(), late: fc.integer({ min: 0, max: 5 }) }),
        async (sizes, endAt, perTurn, { deferAt, deferTurns, signedEvery, checksSpent, late }) => {
          const total = sizes.reduce((a, b) => a + b, 0);
          const end = endAt % total;
          // `deferUntil` and `endTurnAfter` on different envelopes (a session asks for both on none).
          const defer = deferAt === null || deferAt % total === end ? -1 : deferAt % total;
          const signed = (n: number): boolean => signedEvery > 0 && n % signedEvery === 0;
          let settled = true;
          const checks = exact();
          const s = sink((n) => {
            // Nothing after the deferred envelope is read before its work settled.
            expect(settled).toBe(true);
            if (signed(n)) reader.charge(VERIFICATION_EXTRA_ENVELOPES, true);
            if (n === end) reader.endTurnAfter();
            if (n === defer) {
              settled = false;
              let wait: Promise<void> = Promise.resolve();
              for (let i = 0; i < deferTurns; i++) wait = wait.then(turn);
              reader.deferUntil(wait.then(() => void (settled = true)));
            }
          });
          const reader = new BundleReader(s, perTurn, checks);
          if (checksSpent) for (let i = 0; i < CHECKS_PER_TURN; i++) checks.count(currentTurn());
          // A frame from a later task: queued before the turn `endTurnAfter` asks for, so delivered while the rest waits.
          let lateSaw: { got: number; holding: boolean; holds: string[] } | undefined;
          if (late > 0) {
            setImmediate(() => {
              const seen = { got: s.got.length, holding: reader.holding };
              reader.read(bundle(total, late, 3, signed));
              lateSaw = { ...seen, holds: [...s.holds] };
            });
          }
          let from = 0;
          for (const size of sizes) {
            reader.read(bundle(from, size, 3, signed));
            from += size;
          }
          const got = s.got.length;
          expect(s.got).toEqual(Array.from({ length: got }, (_, i) => i));
          // Stopped at the envelope that ended the turn, or earlier for another hold (then paused).
          expect(got).toBeLessThanOrEqual(end + 1);
          expect(s.holds).toEqual(got < end + 1 ? ["pause"] : []);
          if (got === end + 1) expect(reader.holding).toBe(true);
          for (let i = 0; i < 4 * (total + late) + 10 && (reader.holding || !settled || (late > 0 && lateSaw === undefined)); i++) await turn();
          if (lateSaw !== undefined && got === end + 1) {
            // The later task found the rest still waiting, unread.
            expect(lateSaw.got).toBe(got);
            expect(lateSaw.holding).toBe(true);
            expect(lateSaw.holds).toEqual([]);
          }
          expect(s.got).toEqual(Array.from({ length: total + late }, (_, i) => i & 0xff));
          expect(reader.holding).toBe(false);
          expect(s.holds.filter((h) => h === "pause").length).toBe(s.holds.filter((h) => h === "resume").length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("pauses the peer once the frames delivered during the wait pass END_TURN_HELD_BYTES, and resumes it once read", async () => {
    const s = sink((n) => void (n === 1 && reader.endTurnAfter()));
    const reader = new BundleReader(s, 100);
    const pad = END_TURN_HELD_BYTES / 2;
    reader.read(bundle(0, 3));
    reader.read(bundle(3, 1, pad));
    // Half the bytes: the peer goes on.
    expect(s.holds).toEqual([]);
    reader.read(bundle(4, 1, pad));
    // Past them: paused, as for any other hold.
    expect(s.holds).toEqual(["pause"]);
    reader.read(bundle(5, 1));
    expect(s.got).toEqual([0, 1]);
    await turn();
    expect(s.got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.holds).toEqual(["pause", "resume"]);
    expect(reader.holding).toBe(false);
  });
});
