import { describe, expect, it, vi } from "vitest";

/**
 * The clock that ends a slice run on past its guaranteed envelopes, made a
 * counter: every read of the packages' clock (`now()` of `@xppg/errors`)
 * moves it `step` ms, and a test may move it further. What the reader does
 * with it is then exact: how many envelopes a run-on slice reads before the
 * turn's LONG_SLICE_MS is spent, within one frame and over many frames of
 * one turn, and that a slice ended by a throw leaves no clock running.
 */
const clock = vi.hoisted(() => ({ t: 0, step: 0.125 }));
vi.mock("@xppg/errors", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@xppg/errors")>()),
  now: () => (clock.t += clock.step),
}));

import { BundleReader, ENVELOPES_PER_CLOCK, ENVELOPES_PER_TURN, LONG_SLICE_MS, TurnChecks } from "../src/bundle-reader.js";
import { bundle, sink } from "./long-slices-helpers.js";

/** The next turn of the node's counter (it moves once the event loop has gone round). */
async function nextTurns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("long slices by a counting clock", () => {
  it("within one frame, the clock ends a slice run on once the turn's LONG_SLICE_MS is spent: a clock read every ENVELOPES_PER_CLOCK envelopes", () => {
    clock.step = 0.125;
    const s = sink();
    const reader = new BundleReader(s, ENVELOPES_PER_TURN, new TurnChecks());
    reader.read(bundle(30_000));
    // The clock starts at the guaranteed slice's end; each later read finds `step` more spent.
    expect(s.count).toBe(ENVELOPES_PER_TURN + (LONG_SLICE_MS / clock.step) * ENVELOPES_PER_CLOCK);
    expect(reader.holding).toBe(true);
  });

  it("over many frames of one turn, each shorter than a clock's envelopes, the time each frame ran on is the turn's: the slice ends once LONG_SLICE_MS is spent", () => {
    clock.step = 0.125;
    const frame = 32;
    const s = sink();
    const reader = new BundleReader(s, ENVELOPES_PER_TURN, new TurnChecks());
    reader.read(bundle(ENVELOPES_PER_TURN));
    for (let i = 0; i < 200; i++) reader.read(bundle(frame, ENVELOPES_PER_TURN + i * frame));
    // Each frame run on reads the clock as it starts and as it ends: `step` spent a frame.
    expect(s.count).toBe(ENVELOPES_PER_TURN + (LONG_SLICE_MS / clock.step) * frame);
    expect(reader.holding).toBe(true);
  });

  it("a slice ended by a throw in the sink leaves no clock running: the reader's next turn does not pay for the time between", async () => {
    clock.step = 0.001;
    const throwAt = 2_000;
    const s = sink((index) => {
      if (index === throwAt) throw new Error("a handler threw");
    });
    const reader = new BundleReader(s, ENVELOPES_PER_TURN, new TurnChecks());
    // Thrown in a slice run on past its guaranteed envelopes, its clock started.
    expect(() => reader.read(bundle(5_000))).toThrow("a handler threw");
    expect(s.count).toBe(throwAt + 1);
    // A second goes by before the peer's next frame.
    clock.t += 1_000;
    await nextTurns();
    reader.read(bundle(4_000, throwAt + 1));
    // The new turn's slice runs on (it read only its 1,024 when charged the second).
    expect(s.count - (throwAt + 1)).toBe(4_000);
  });
});
