import { describe, expect, it } from "vitest";
import {
  BundleReader,
  CHECKS_PER_TURN,
  ENVELOPES_PER_CLOCK,
  ENVELOPES_PER_TURN,
  FINISH_SLICES,
  LONG_SLICE_ENVELOPES,
  LONG_SLICE_MS,
  STATE_ROWS_PER_ENVELOPE,
  TurnChecks,
  TurnTime,
  VERIFICATION_EXTRA_ENVELOPES,
  turnTime,
  currentTurn,
} from "../src/bundle-reader.js";
import { bundle, sink } from "./long-slices-helpers.js";

/**
 * A peer's slice of a turn runs on past its guaranteed ENVELOPES_PER_TURN
 * while the node's turn, all its readers together, has spent under
 * LONG_SLICE_MS on such runs, and only for a peer that floods alone: in the
 * last turn in which readers of the node used up their slices, it was the
 * only one (or there was none). What is checked here is counted, never
 * timed: two or more flooding readers read exact slices, equal shares,
 * after their first turn; one flooding reader among light ones runs on; a
 * reader that starts its slice once the turn's time is spent reads exactly
 * its guaranteed envelopes; no slice is shorter than that unless its frame
 * ended; and `finish` forgives only the envelopes the clock added. The turn
 * lengths of many flooding readers are printed beside those of exact slices.
 */


interface Slice {
  reader: number;
  count: number;
  /** The turn's time for long slices was spent before this slice's first envelope. */
  spentBefore: boolean;
  /** The reader's frame ended in this slice. */
  ended: boolean;
}

interface Flood {
  /** Every turn's slices, in the order read. */
  turns: Map<number, Slice[]>;
  /** The turns in which anything was read, in order. */
  turnList: number[];
  /** Each turn's time from its first envelope to its last, in ms (printed, never checked). */
  turnMs: number[];
}

/**
 * Readers sharing `checks`, reader `r` fed one frame of `perReader[r]`
 * envelopes: at once, or (`joinAt[r]`) in the turn after reader 0 handled
 * that many. Every slice of every turn is recorded.
 */
async function flood(perReader: number[], checks: TurnChecks, joinAt: (number | undefined)[] = []): Promise<Flood> {
  const readers = perReader.length;
  const turns = new Map<number, Slice[]>();
  const started = new Map<number, [number, number]>();
  let sum = 0;
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const list: BundleReader[] = Array.from({ length: readers }, (_, r) => {
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
      if (r === 0) {
        for (let j = 1; j < readers; j++) if (joinAt[j] === index + 1) setImmediate(() => list[j]!.read(bundle(perReader[j]!)));
      }
      if (index === perReader[r]! - 1) {
        slice.ended = true;
        if (++done === readers) finished();
      }
    });
    return new BundleReader(s, ENVELOPES_PER_TURN, checks);
  });
  list.forEach((reader, r) => {
    if (joinAt[r] === undefined) reader.read(bundle(perReader[r]!));
  });
  await all;
  expect(sum).toBeGreaterThan(0);
  const turnMs = [...started.values()].map(([from, to]) => to - from);
  return { turns, turnList: [...turns.keys()].sort((a, b) => a - b), turnMs };
}

/** Reader `r`'s slice in `turn` (undefined: it read nothing then). */
function sliceOf(f: Flood, turn: number, r: number): Slice | undefined {
  return f.turns.get(turn)!.find((s) => s.reader === r);
}

/** No reader is starved: from its first slice to its frame's end, it reads in every turn. */
function expectEveryTurn(f: Flood, readers: number): void {
  for (let r = 0; r < readers; r++) {
    const read = f.turnList.filter((t) => sliceOf(f, t, r) !== undefined);
    expect(read.at(-1)! - read[0]!, `reader ${r}`).toBe(read.length - 1);
  }
}

/**
 * Flooding readers that all started in the first turn share the receiver
 * equally after it: every slice in the later turns is exactly the guaranteed
 * one (less only where a frame ended), and up to the first turn in which a
 * frame ended, the readers' totals over those turns differ by at most one slice.
 */
function expectEqualShares(f: Flood, readers: number): void {
  const [first, ...later] = f.turnList;
  expect(f.turns.get(first!)!.length).toBe(readers);
  const totals = new Array<number>(readers).fill(0);
  let compared = 0;
  for (const turn of later) {
    const slices = f.turns.get(turn)!;
    for (const slice of slices) {
      if (slice.ended) expect(slice.count, `turn ${turn}, reader ${slice.reader}`).toBeLessThanOrEqual(ENVELOPES_PER_TURN);
      else expect(slice.count, `turn ${turn}, reader ${slice.reader}`).toBe(ENVELOPES_PER_TURN);
    }
    if (compared >= 0) {
      for (const slice of slices) totals[slice.reader]! += slice.count;
      compared++;
      if (slices.some((s) => s.ended)) {
        expect(Math.max(...totals) - Math.min(...totals), `totals over ${compared} turns: ${totals.join(", ")}`).toBeLessThanOrEqual(ENVELOPES_PER_TURN);
        compared = -1;
      }
    }
  }
  expect(compared).toBe(-1);
}

/** A node's checks whose turns have no time for long slices: exact slices, as a page reads. */
function exactChecks(): TurnChecks {
  const checks = new TurnChecks();
  checks.time = new TurnTime(0);
  return checks;
}

/**
 * An envelope inside the first clock read's stretch of a slice run on past
 * ENVELOPES_PER_TURN, where `preempted` stops the process (as a loaded
 * machine's scheduler may) for longer than LONG_SLICE_MS: a count a test
 * checks must not hang on the clock, so the tests that run on to a later
 * envelope give their turn all the time it could want.
 */
const PREEMPTED_AT = ENVELOPES_PER_TURN + 26;

/** Holds the process for twice LONG_SLICE_MS, as a preemption on a busy machine does. */
function preempted(): void {
  const until = performance.now() + 2 * LONG_SLICE_MS;
  while (performance.now() < until);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe("long slices: a reader runs on past its guaranteed slice while it floods alone and the node's turn has time left", () => {
  it("two flooding readers: after their first turn every slice is exactly the guaranteed one, both read every turn, their totals differ by at most one slice; once one's frame ended the other runs on again", async () => {
    const perReader = [30_000, 60_000];
    const f = await flood(perReader, new TurnChecks());
    // The first turn had no earlier one: a reader may run on in it, on the turn's time.
    for (const slice of f.turns.get(f.turnList[0]!)!) {
      expect(slice.count).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN);
      if (slice.spentBefore) expect(slice.count).toBe(ENVELOPES_PER_TURN);
    }
    expectEveryTurn(f, 2);
    // Up to the turn reader 0's frame ended, both flood: exact slices, equal shares.
    const endedIn = f.turnList.find((t) => sliceOf(f, t, 0)?.ended)!;
    const both: Flood = { ...f, turnList: f.turnList.filter((t) => t <= endedIn) };
    expectEqualShares(both, 2);
    // Reader 1 floods alone from the next turn: it runs on again (past its slice by at least a clock's envelopes).
    const alone = f.turnList.filter((t) => t > endedIn);
    expect(alone.length).toBeGreaterThan(0);
    for (const turn of alone) {
      const slice = sliceOf(f, turn, 1)!;
      if (!slice.ended) expect(slice.count, `turn ${turn}`).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN + ENVELOPES_PER_CLOCK);
    }
  });

  it("64 flooding readers of one node: after their first turn, exact slices and equal shares (as with no time for long slices), every reader reads every turn", async () => {
    const readers = 64;
    const perReader = 20_000;
    const long = await flood(new Array<number>(readers).fill(perReader), new TurnChecks());
    const exact = await flood(new Array<number>(readers).fill(perReader), exactChecks());
    console.log(
      `${readers} flooding readers, ${perReader} envelopes each: turns ${long.turns.size} with long slices (longest ${Math.max(...long.turnMs).toFixed(1)} ms, median ${median(long.turnMs).toFixed(1)} ms), ` +
        `${exact.turns.size} with exact slices (longest ${Math.max(...exact.turnMs).toFixed(1)} ms, median ${median(exact.turnMs).toFixed(1)} ms)`,
    );
    // The first turn: the turn's time is shared, a reader that starts once it is spent reads exactly its slice, none less.
    for (const slice of long.turns.get(long.turnList[0]!)!) {
      expect(slice.count, `reader ${slice.reader}`).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN);
      if (slice.spentBefore) expect(slice.count, `reader ${slice.reader}`).toBe(ENVELOPES_PER_TURN);
      expect(slice.count).toBeLessThan(LONG_SLICE_ENVELOPES + ENVELOPES_PER_CLOCK);
    }
    expectEqualShares(long, readers);
    expectEveryTurn(long, readers);
    for (let r = 0; r < readers; r++) expect(sliceOf(long, long.turnList[0]!, r)).toBeDefined();
    for (const slices of exact.turns.values()) for (const slice of slices) expect(slice.count).toBe(slice.ended ? slice.count : ENVELOPES_PER_TURN);
  });

  it("a reader flooding alone runs on; once a second one floods, it runs on at most in the second's first turn, then both read exact slices", async () => {
    // Reader 1's frame comes in the turn after reader 0 handled 10,000 envelopes.
    const f = await flood([80_000, 20_000], new TurnChecks(), [undefined, 10_000]);
    const joined = f.turnList.find((t) => sliceOf(f, t, 1) !== undefined)!;
    const before = f.turnList.filter((t) => t < joined);
    expect(before.length).toBeGreaterThan(0);
    // Alone: every slice run on (its first too, with no earlier turn).
    for (const turn of before) expect(sliceOf(f, turn, 0)!.count, `turn ${turn}`).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN + ENVELOPES_PER_CLOCK);
    // The newcomer never runs on while the other floods; after the turn it joined, neither does.
    const endedIn = f.turnList.find((t) => sliceOf(f, t, 1)?.ended)!;
    expect(sliceOf(f, joined, 1)!.count).toBe(ENVELOPES_PER_TURN);
    for (const turn of f.turnList.filter((t) => t > joined && t <= endedIn)) {
      for (const slice of f.turns.get(turn)!) {
        if (slice.ended) expect(slice.count).toBeLessThanOrEqual(ENVELOPES_PER_TURN);
        else expect(slice.count, `turn ${turn}, reader ${slice.reader}`).toBe(ENVELOPES_PER_TURN);
      }
    }
    expectEveryTurn(f, 2);
  });

  it("one flooding reader among light ones (a few envelopes a turn each): the flooder runs on in every turn, the light ones read all of theirs each turn", async () => {
    const checks = new TurnChecks();
    const perFlood = 150_000;
    const slices = new Map<number, number>();
    const f = sink(() => {
      const turn = currentTurn();
      slices.set(turn, (slices.get(turn) ?? 0) + 1);
    });
    const flooder = new BundleReader(f, ENVELOPES_PER_TURN, checks);
    const light = Array.from({ length: 8 }, (_, i) => {
      const s = sink();
      return { s, reader: new BundleReader(s, ENVELOPES_PER_TURN, checks), each: 1 + i, fed: 0 };
    });
    let feeds = 0;
    const unread: string[] = [];
    flooder.read(bundle(perFlood));
    await new Promise<void>((resolve) => {
      const feed = (): void => {
        for (const l of light) {
          l.reader.read(bundle(l.each, l.fed));
          l.fed += l.each;
          if (l.s.count !== l.fed || l.reader.holding) unread.push(`feed ${feeds}: ${l.s.count} of ${l.fed}`);
        }
        feeds++;
        if (f.count < perFlood) setImmediate(feed);
        else resolve();
      };
      setImmediate(feed);
    });
    expect(unread).toEqual([]);
    const turns = [...slices.keys()].sort((a, b) => a - b);
    expect(turns.length).toBeGreaterThan(1);
    expect(feeds).toBeGreaterThanOrEqual(turns.length - 1);
    // Every slice but the last (where the frame ended) ran on past the guaranteed one: fewer turns than exact slices.
    for (const turn of turns.slice(0, -1)) expect(slices.get(turn)!, `turn ${turn}`).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN + ENVELOPES_PER_CLOCK);
    expect(turns.length).toBeLessThan(perFlood / ENVELOPES_PER_TURN);
  });

  it("a cheap flooder beside two peers flooding signed broadcasts (held for the node's checks): after the first turn it reads exactly its guaranteed slice in every turn the others are held", async () => {
    const checks = new TurnChecks();
    const cheapCount = 200_000;
    const signedCount = 40 * CHECKS_PER_TURN;
    const cheapIn = new Map<number, number>();
    const signedIn = new Map<number, number>();
    const cheapSink = sink(() => {
      const turn = currentTurn();
      cheapIn.set(turn, (cheapIn.get(turn) ?? 0) + 1);
    });
    const cheap = new BundleReader(cheapSink, ENVELOPES_PER_TURN, checks);
    let signedLeft = 2 * signedCount;
    let done!: () => void;
    const signedDone = new Promise<void>((resolve) => (done = resolve));
    const signed = [0, 1].map(() => {
      const s = sink();
      const reader = new BundleReader(s, ENVELOPES_PER_TURN, checks);
      // A signature check each, as a session charges one.
      s.envelope = () => {
        const turn = currentTurn();
        signedIn.set(turn, (signedIn.get(turn) ?? 0) + 1);
        reader.charge(VERIFICATION_EXTRA_ENVELOPES, true);
        if (--signedLeft === 0) done();
        return true;
      };
      return reader;
    });
    cheap.read(bundle(cheapCount));
    for (const reader of signed) {
      // Signed envelopes: version 1 and the flags byte's signature bit (0x02).
      const frame = bundle(signedCount);
      for (let i = 0; i < signedCount; i++) [frame[i * 8 + 4], frame[i * 8 + 5]] = [1, 0x02];
      reader.read(frame);
    }
    await signedDone;
    const signedTurns = [...signedIn.keys()].sort((a, b) => a - b);
    expect(signedTurns.length).toBeGreaterThan(2);
    // Every turn the signed readers were held at its end (all but their last): the cheap one's slice is exact.
    const held = signedTurns.slice(1, -1);
    expect(held.map((t) => `turn ${t}: ${cheapIn.get(t)}`)).toEqual(held.map((t) => `turn ${t}: ${ENVELOPES_PER_TURN}`));
    // The first turn had no earlier one: it may run on there.
    expect(cheapIn.get(signedTurns[0]!)!).toBeGreaterThanOrEqual(ENVELOPES_PER_TURN);
  });

  it("with the turn's time spent, a reader stops at its guaranteed slice, and one already past it stops at its next clock read", () => {
    const checks = new TurnChecks();
    const first = sink();
    turnTime(checks).spend(currentTurn(), LONG_SLICE_MS);
    new BundleReader(first, ENVELOPES_PER_TURN, checks).read(bundle(30_000));
    expect(first.count).toBe(ENVELOPES_PER_TURN);

    // All the time a turn could want, all of it spent at envelope 2,000: the clock does not end the run-on
    // before it, even where the process is stopped for longer than LONG_SLICE_MS at envelope 1,050.
    const fresh = new TurnChecks();
    fresh.time = new TurnTime(Infinity);
    const spendAt = 2_000;
    const second = sink((index) => {
      if (index === PREEMPTED_AT) preempted();
      if (index === spendAt) turnTime(fresh).spend(currentTurn(), Infinity);
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
        if (index === PREEMPTED_AT) preempted();
        if (index === at) reader.charge(4_000 / STATE_ROWS_PER_ENVELOPE);
      });
      // All the time a turn could want: the charge, not the clock, ends the slice run on to envelope 1,100.
      const checks = new TurnChecks();
      checks.time = new TurnTime(Infinity);
      const reader = new BundleReader(s, ENVELOPES_PER_TURN, checks);
      reader.read(bundle(40_000));
      const read = s.count;
      // Ended by the charge: before the envelope after it (or at the guaranteed slice's end).
      expect(read).toBeLessThanOrEqual(Math.max(at + 1, ENVELOPES_PER_TURN));
      expect(read).toBeGreaterThanOrEqual(Math.min(at + 1, ENVELOPES_PER_TURN));
      expect(reader.holding).toBe(true);
      reader.finish();
      expect(s.count, `charge at ${at}`).toBe(read);
      expect(s.count + s.dropped + 1).toBe(40_000);
    }
  });

  it("a charge ends a slice being run on at once: charge(1) at envelope 2,000 of a run-on lets at most one more envelope through", () => {
    const checks = new TurnChecks();
    // All the time a turn could want: the clock does not end the run-on first.
    checks.time = new TurnTime(Infinity);
    const at = 2_000;
    const s = sink((index) => {
      if (index === at) reader.charge(1);
    });
    const reader = new BundleReader(s, ENVELOPES_PER_TURN, checks);
    reader.read(bundle(30_000));
    expect(s.count).toBeGreaterThan(at);
    expect(s.count).toBeLessThanOrEqual(at + 2);
    expect(reader.holding).toBe(true);
  });

  it("with all the time a turn could want, a slice runs on to LONG_SLICE_ENVELOPES exactly, and finish then reads exactly FINISH_SLICES - 1 slices", () => {
    const checks = new TurnChecks();
    checks.time = new TurnTime(Infinity);
    const s = sink();
    const reader = new BundleReader(s, ENVELOPES_PER_TURN, checks);
    reader.read(bundle(40_000));
    expect(s.count).toBe(LONG_SLICE_ENVELOPES);
    expect(reader.holding).toBe(true);
    reader.finish();
    expect(s.count - LONG_SLICE_ENVELOPES).toBe((FINISH_SLICES - 1) * ENVELOPES_PER_TURN);
  });

  it("a reader waiting for a deferred envelope with frames waiting behind it counts as flooding: a cheap flooder beside it reads exact slices", async () => {
    const checks = new TurnChecks();
    // Each envelope of the deferring reader is one frame, its work done a turn later (as a state update or a file block is).
    const ref: { deferring?: BundleReader } = {};
    const d = sink(() => ref.deferring!.deferUntil(new Promise((resolve) => setImmediate(resolve))));
    const deferring = new BundleReader(d, ENVELOPES_PER_TURN, checks);
    ref.deferring = deferring;
    const c = sink();
    const cheap = new BundleReader(c, ENVELOPES_PER_TURN, checks);
    for (let i = 0; i < 60; i++) deferring.read(bundle(1, i));
    cheap.read(bundle(100_000));
    const perTurn: number[] = [];
    let last = c.count;
    for (let turn = 0; turn < 12; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      perTurn.push(c.count - last);
      last = c.count;
    }
    // The deferring reader still had frames waiting in every one of these turns.
    expect(d.count).toBeLessThan(60);
    // After its first turns, the cheap flooder reads no more than its 1,024 a turn.
    for (const count of perTurn.slice(3)) expect(count, `per turn: ${perTurn.join(", ")}`).toBeLessThanOrEqual(ENVELOPES_PER_TURN);
  });

  it("the ceiling holds whatever the guaranteed slice: with perTurn 1, 100, 1,500 or 16,383 a slice run on stops at LONG_SLICE_ENVELOPES exactly", () => {
    for (const perTurn of [1, 100, 1_500, 16_383]) {
      const checks = new TurnChecks();
      checks.time = new TurnTime(Infinity);
      const s = sink();
      const reader = new BundleReader(s, perTurn, checks);
      reader.read(bundle(40_000));
      expect(s.count, `perTurn ${perTurn}`).toBe(LONG_SLICE_ENVELOPES);
      expect(reader.holding).toBe(true);
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
