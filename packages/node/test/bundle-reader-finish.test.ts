import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BundleReader, CHECKS_PER_TURN, FINISH_SLICES, TurnChecks, TurnTime, VERIFICATION_EXTRA_ENVELOPES, currentTurn, type BundleSink } from "../src/bundle-reader.js";

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

/** A node's checks with exact slices: these tests cut slices of 100 and look at where they end. */
function exact(): TurnChecks {
  const checks = new TurnChecks();
  checks.time = new TurnTime(0);
  return checks;
}

/** A session's side of the reader, recording what it is handed and how it holds the peer. */
function sink(onEnvelope: (n: number, index: number) => void = () => {}): BundleSink & { got: number[]; holds: string[]; dropped: number } {
  const got: number[] = [];
  const holds: string[] = [];
  return {
    got,
    holds,
    dropped: 0,
    unread(count) {
      this.dropped += count;
    },
    envelope(data, start) {
      got.push(data[start]!);
      onEnvelope(data[start]!, got.length - 1);
      return true;
    },
    violation(what) {
      throw new Error(what as string);
    },
    pause: () => void holds.push("pause"),
    resume: () => void holds.push("resume"),
    isClosed: () => false,
  };
}

describe("BundleReader.finish: the connection closed, what waits is read now", () => {
  it("reads every envelope held for later turns at once, in order, past the turn's slice", () => {
    const s = sink();
    const reader = new BundleReader(s, 100, exact());
    reader.read(bundle(0, 250));
    reader.read(bundle(250, 150));
    expect(s.got.length).toBe(100);
    expect(reader.holding).toBe(true);
    // 400: within finish's budget for the turn (FINISH_SLICES slices of 100, the one read before included).
    expect(reader.finish()).toBeUndefined();
    expect(s.got).toEqual(Array.from({ length: 400 }, (_, i) => i & 0xff));
    expect(reader.holding).toBe(false);
    // The hold the reader took is released once.
    expect(s.holds).toEqual(["pause", "resume"]);
  });

  it("with nothing held, reads nothing and returns nothing", () => {
    const s = sink();
    const reader = new BundleReader(s, 100);
    reader.read(bundle(0, 10));
    expect(reader.finish()).toBeUndefined();
    expect(s.got.length).toBe(10);
    expect(s.holds).toEqual([]);
  });

  it("behind an envelope whose work goes on over later turns, drops the rest unread and returns the last envelope", () => {
    const s = sink((_n, index) => {
      if (index === 5) reader.deferUntil(new Promise(() => {}));
    });
    const reader = new BundleReader(s, 100);
    reader.read(bundle(0, 20));
    reader.read(bundle(20, 30, 7));
    const last = reader.finish();
    expect(s.got.length).toBe(6);
    expect(last).toBeDefined();
    expect(Array.from(last!)).toEqual([49, 0, 0, 0, 0, 0, 0, 0]);
    // Nothing is left to read later.
    expect(reader.finish()).toBeUndefined();
  });

  it("finds the last envelope of any held bytes without throwing (fuzz)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 200 }), (deferAt, tail) => {
        const s = sink((_n, index) => {
          if (index === deferAt) reader.deferUntil(new Promise(() => {}));
        });
        const reader = new BundleReader(s, 1000);
        const head = bundle(0, deferAt + 1);
        const frame = new Uint8Array(head.length + tail.length);
        frame.set(head);
        frame.set(tail, head.length);
        try {
          reader.read(frame);
        } catch {
          // A malformed tail read on by the reader is its violation, not finish's concern.
          return;
        }
        const last = reader.finish();
        // The walk in order of the held tail: a malformed envelope anywhere means no last envelope is returned.
        let pos = 0;
        let expected: [number, number] | undefined;
        while (pos < tail.length) {
          const length = tail.length - pos < 4 ? 0 : new DataView(tail.buffer, tail.byteOffset).getUint32(pos);
          if (length === 0 || length > tail.length - pos - 4) {
            expected = undefined;
            break;
          }
          expected = [pos + 4, length];
          pos += 4 + length;
        }
        if (expected === undefined) {
          expect(last).toBeUndefined();
          return;
        }
        expect(last).toBeDefined();
        if (last === undefined) return;
        expect(last.byteOffset - frame.byteOffset).toBe(head.length + expected[0]);
        expect(last.byteLength).toBe(expected[1]);
        // A view of the frame's own bytes, inside it.
        expect(last.buffer).toBe(frame.buffer);
        expect(last.byteOffset + last.byteLength).toBeLessThanOrEqual(frame.byteOffset + frame.byteLength);
        expect(last.byteOffset).toBeGreaterThanOrEqual(head.length + 4);
      }),
    );
  });

  it("reads at most its budget (FINISH_SLICES slices) and counts the rest unread, returning the last envelope", () => {
    const s = sink();
    const reader = new BundleReader(s, 100, exact());
    reader.read(bundle(0, 600));
    reader.read(bundle(600, 400));
    expect(s.got.length).toBe(100);
    const last = reader.finish();
    // FINISH_SLICES slices in this turn, the one read before included, in order; the rest walked, not read.
    expect(s.got).toEqual(Array.from({ length: FINISH_SLICES * 100 }, (_, i) => i & 0xff));
    expect(last![0]).toBe(999 & 0xff);
    expect(s.got.length + s.dropped + 1).toBe(1000);
    expect(reader.finish()).toBeUndefined();
  });

  it("past the budget, a malformed envelope ends the walk and no later envelope is returned: a goodbye past a violation is not taken", () => {
    for (const malformed of [Uint8Array.of(0, 0, 3, 232, 1, 2, 3, 4, 5), Uint8Array.of(0, 0, 0, 0), Uint8Array.of(0, 0, 0, 1, 9, 0, 0)]) {
      const s = sink();
      const reader = new BundleReader(s, 100, exact());
      reader.read(bundle(0, 600));
      reader.read(malformed);
      reader.read(bundle(700, 3));
      const last = reader.finish();
      // In order, the violation would come before the last envelope: none is returned for a goodbye.
      expect(last).toBeUndefined();
      expect(s.got.length).toBe(FINISH_SLICES * 100);
      // What was walked before the malformed envelope is counted unread (the last well-formed one included).
      expect(s.dropped).toBe(600 - FINISH_SLICES * 100 + (malformed.length === 7 ? 1 : 0));
      expect(reader.finish()).toBeUndefined();
    }
  });

  it("while another hold is on, reads nothing more: everything held is counted unread but the last", () => {
    const s = sink();
    const reader = new BundleReader(s, 100, exact());
    reader.read(bundle(0, 300));
    const last = reader.finish(true);
    expect(s.got.length).toBe(100);
    expect(last![0]).toBe(299 & 0xff);
    expect(s.dropped).toBe(199);
  });

  it(`charges at most CHECKS_PER_TURN (${CHECKS_PER_TURN}) signature checks in the finishing turn; signed envelopes past them are dropped unchecked`, () => {
    const charged = new Map<number, number>();
    class CountingChecks extends TurnChecks {
      override count(now: number): void {
        charged.set(now, (charged.get(now) ?? 0) + 1);
        super.count(now);
      }
    }
    let unchecked = 0;
    const s = sink(() => reader.charge(VERIFICATION_EXTRA_ENVELOPES, true));
    s.unchecked = () => void unchecked++;
    const reader = new BundleReader(s, 1024, new CountingChecks());
    // 200 signed envelopes: version 1 (a first byte from 0x80 up is a compact envelope, never signed), and the flags byte (the second) has the signature bit (0x02).
    const frame = bundle(0, 200);
    for (let i = 0; i < 200; i++) [frame[i * 8 + 4], frame[i * 8 + 5]] = [1, 0x02];
    reader.read(frame);
    const before = s.got.length;
    const turn = currentTurn();
    reader.finish();
    expect(currentTurn()).toBe(turn);
    expect(charged.get(turn) ?? 0).toBeLessThanOrEqual(CHECKS_PER_TURN);
    // Every envelope is handed over, dropped unchecked, or counted unread (the last returned).
    expect(s.got.length + unchecked + s.dropped + 1).toBeGreaterThanOrEqual(200);
    expect(s.got.length - before).toBeLessThanOrEqual(CHECKS_PER_TURN);
  });
});
