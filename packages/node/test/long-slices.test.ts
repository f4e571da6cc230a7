import { describe, expect, it } from "vitest";
import {
  BundleReader,
  ENVELOPES_PER_CLOCK,
  ENVELOPES_PER_TURN,
  FINISH_SLICES,
  LONG_SLICE_ENVELOPES,
  LONG_SLICE_MS,
  STATE_ROWS_PER_ENVELOPE,
  TurnChecks,
  TurnTime,
  turnTime,
  currentTurn,
  type BundleSink,
} from "../src/bundle-reader.js";

/**
 * A peer's slice of a turn runs on past its guaranteed ENVELOPES_PER_TURN
 * while the node's turn, all its readers together, has spent under
 * LONG_SLICE_MS on such runs. What is checked here is counted, never timed:
 * a reader that starts its slice once the turn's time is spent reads exactly
 * its guaranteed envelopes; no slice is shorter than that unless its frame
 * ended; and `finish` forgives only the envelopes the clock added. The turn
 * lengths of many flooding readers are printed beside those of exact slices.
 */

/** A bundle of `count` envelopes of 4 bytes, each's first byte its number (mod 256). */
function bundle(count: number): Uint8Array {
  const out = new Uint8Array(count * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(i * 8, 4);
    out[i * 8 + 4] = i & 0xff;
  }
  return out;
}

/** A session's side of the reader: counts what it is handed, and calls `onEnvelope` with each envelope's index. */
function sink(onEnvelope: (index: number) => void = () => {}): BundleSink & { count: number; dropped: number } {
  return {
    count: 0,
    dropped: 0,
    unread(count) {
      this.dropped += count;
    },
    envelope(data, start) {
      if (data[start] !== (this.count & 0xff)) throw new Error(`envelope ${this.count} out of order`);
      onEnvelope(this.count++);
      return true;
    },
    violation(what) {
      throw new Error(what as string);
    },
    pause: () => {},
    resume: () => {},
    isClosed: () => false,
  };
}

interface Slice {
  reader: number;
  count: number;
  /** The turn's time for long slices was spent before this slice's first envelope. */
  spentBefore: boolean;
  /** The reader's frame ended in this slice. */
  ended: boolean;
}

/** `readers` readers sharing `checks`, each fed one frame of `perReader` envelopes at once; every slice of every turn recorded. */
async function flood(readers: number, perReader: number, checks: TurnChecks): Promise<{ turns: Map<number, Slice[]>; turnMs: number[] }> {
  const turns = new Map<number, Slice[]>();
  const started = new Map<number, [number, number]>();
  let sum = 0;
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const list = Array.from({ length: readers }, (_, r) => {
    const s = sink((index) => {
      const turn = currentTurn();
      const now = performance.now();
      const span = started.get(turn);
      if (span === undefined) started.set(turn, [now, now]);
      else span[1] = now;
      let slices = turns.get(turn);
      if (slices === undefined) turns.set(turn, (slices = []));
      let slice = slices.at(-1);
      if (slice?.reader !== r) slices.push((slice = { reader: r, count: 0, spentBefore: !turnTime(checks).left(turn), ended: false }));
      slice.count++;
      // A handler with a little work, as a message's is.
      for (let i = 0; i < 20; i++) sum += Math.sqrt(index + i);
      if (index === perReader - 1) {
        slice.ended = true;
        if (++done === readers) finished();
      }
    });
    return new BundleReader(s, ENVELOPES_PER_TURN, checks);
  });
  for (const reader of list) reader.read(bundle(perReader));
  await all;
  expect(sum).toBeGreaterThan(0);
  const turnMs = [...started.values()].map(([from, to]) => to - from);
  return { turns, turnMs };
}

/** A node's checks whose turns have no time for long slices: exact slices, as a page reads. */
function exactChecks(): TurnChecks {
  const checks = new TurnChecks();
  checks.time = new TurnTime(0);
  return checks;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe("long slices: a reader runs on past its guaranteed slice while the node's turn has time left", () => {
  it("64 flooding readers of one node: the turn's time is shared, a reader that starts once it is spent reads exactly its slice, none reads less unless its frame ended, every reader reads every turn", async () => {
    const readers = 64;
    const perReader = 20_000;
    const long = await flood(readers, perReader, new TurnChecks());
    const exact = await flood(readers, perReader, exactChecks());
    console.log(
      `${readers} flooding readers, ${perReader} envelopes each: turns ${long.turns.size} with long slices (longest ${Math.max(...long.turnMs).toFixed(1)} ms, median ${median(long.turnMs).toFixed(1)} ms), ` +
        `${exact.turns.size} with exact slices (longest ${Math.max(...exact.turnMs).toFixed(1)} ms, median ${median(exact.turnMs).toFixed(1)} ms)`,
    );
    let spentTurns = 0;
    for (const [turn, slices] of long.turns) {
      let spent = false;
      for (const slice of slices) {
        // Never shorter than the guaranteed slice, unless the frame ended.
        if (!slice.ended) expect(slice.count, `turn ${turn}, reader ${slice.reader}`).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN);
        // Once the turn's time is spent, exactly the guaranteed slice (or less where the frame ended).
        if (slice.spentBefore) {
          spent = true;
          expect(slice.count, `turn ${turn}, reader ${slice.reader}`).toBeLessThanOrEqual(ENVELOPES_PER_TURN);
        }
        expect(slice.count).toBeLessThan(LONG_SLICE_ENVELOPES + ENVELOPES_PER_CLOCK);
      }
      if (spent) spentTurns++;
      // A budget per peer would run every reader's slice on: the turn's is shared.
      if (slices.length === readers) expect(slices.filter((s) => s.count > ENVELOPES_PER_TURN).length).toBeLessThan(readers);
    }
    expect(spentTurns).toBeGreaterThan(0);
    // No reader is starved: from its first slice to its frame's end, it reads in every turn.
    const turnList = [...long.turns.keys()].sort((a, b) => a - b);
    for (let r = 0; r < readers; r++) {
      const read = turnList.filter((t) => long.turns.get(t)!.some((s) => s.reader === r));
      expect(read.at(-1)! - read[0]!, `reader ${r}`).toBe(read.length - 1);
      expect(read[0]).toBe(turnList[0]);
    }
    for (const slices of exact.turns.values()) for (const slice of slices) expect(slice.count).toBe(slice.ended ? slice.count : ENVELOPES_PER_TURN);
  });

  it("with the turn's time spent, a reader stops at its guaranteed slice, and one already past it stops at its next clock read", () => {
    const checks = new TurnChecks();
    const first = sink();
    turnTime(checks).spend(currentTurn(), LONG_SLICE_MS);
    new BundleReader(first, ENVELOPES_PER_TURN, checks).read(bundle(30_000));
    expect(first.count).toBe(ENVELOPES_PER_TURN);

    const fresh = new TurnChecks();
    const spendAt = 2_000;
    const second = sink((index) => {
      if (index === spendAt) turnTime(fresh).spend(currentTurn(), LONG_SLICE_MS);
    });
    new BundleReader(second, ENVELOPES_PER_TURN, fresh).read(bundle(30_000));
    expect(second.count).toBeGreaterThan(spendAt);
    expect(second.count).toBeLessThanOrEqual(spendAt + 1 + ENVELOPES_PER_CLOCK);
    // A later reader of the same node, in the same turn: its guaranteed slice, no more.
    const third = sink();
    new BundleReader(third, ENVELOPES_PER_TURN, fresh).read(bundle(30_000));
    expect(third.count).toBe(ENVELOPES_PER_TURN);
  });

  it("a charged slice (a state update's rows) is not run on, and finish then reads nothing more, as with exact slices", () => {
    for (const at of [999, 1_100]) {
      // A 4,000-row state update at envelope `at`: 4,000 envelopes more, past FINISH_SLICES slices of the turn.
      const s = sink((index) => {
        if (index === at) reader.charge(4_000 / STATE_ROWS_PER_ENVELOPE);
      });
      const reader = new BundleReader(s, ENVELOPES_PER_TURN, new TurnChecks());
      reader.read(bundle(40_000));
      const read = s.count;
      // Ended by the charge: the envelope after it at the latest (once the slice was run on, at its next clock read).
      expect(read).toBeLessThanOrEqual(at + 1 + ENVELOPES_PER_CLOCK);
      expect(read).toBeGreaterThanOrEqual(Math.min(at + 1, ENVELOPES_PER_TURN));
      expect(reader.holding).toBe(true);
      reader.finish();
      expect(s.count, `charge at ${at}`).toBe(read);
      expect(s.count + s.dropped + 1).toBe(40_000);
    }
  });

  it("finish forgives the envelopes the clock added: after a slice run on, it still reads FINISH_SLICES - 1 slices; after an exact one, up to its budget", () => {
    const s = sink();
    const reader = new BundleReader(s, ENVELOPES_PER_TURN, new TurnChecks());
    reader.read(bundle(60_000));
    const read = s.count;
    expect(read).toBeGreaterThan(ENVELOPES_PER_TURN);
    reader.finish();
    expect(s.count - read).toBe((FINISH_SLICES - 1) * ENVELOPES_PER_TURN);

    const checks = new TurnChecks();
    turnTime(checks).spend(currentTurn(), LONG_SLICE_MS);
    const t = sink();
    const exact = new BundleReader(t, ENVELOPES_PER_TURN, checks);
    exact.read(bundle(60_000));
    expect(t.count).toBe(ENVELOPES_PER_TURN);
    exact.finish();
    expect(t.count).toBe(FINISH_SLICES * ENVELOPES_PER_TURN);
  });
});
