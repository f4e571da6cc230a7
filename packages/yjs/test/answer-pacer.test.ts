import { afterEach, describe, expect, it, vi } from "vitest";
import { timersOf } from "./fixtures/timers.js";
import { AnswerPacer } from "../src/answer-pacer.js";

/** A pacer whose answers are recorded (peer, the vector's bytes as they were when answered); each resolves at once. */
function recording(intervalMs: number): { pacer: AnswerPacer; calls: [string, number[]][] } {
  const calls: [string, number[]][] = [];
  const pacer = new AnswerPacer(intervalMs, (peerId, vector) => {
    calls.push([peerId, [...vector]]);
    return { encoded: vector.length, taken: Promise.resolve() };
  });
  return { pacer, calls };
}

/** Resolves after `ms`: a timer made after the pacer's, for a longer time, so it fires after the pacer's has. */
const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  vi.useRealTimers();
});

describe("AnswerPacer", () => {
  it("answers each peer's first ask at once; an ask after an idle interval is a first ask again", async () => {
    const { pacer, calls } = recording(20);
    pacer.ask("p", new Uint8Array([1]));
    pacer.ask("q", new Uint8Array([2])); // another peer's ask is its own
    expect(calls).toEqual([
      ["p", [1]],
      ["q", [2]],
    ]);
    await after(100); // both intervals ended with nothing waiting: the peers are idle
    pacer.ask("p", new Uint8Array([3]));
    expect(calls.at(-1)).toEqual(["p", [3]]); // at once, not at the end of another interval
    pacer.clear();
  });

  it("answers a coalesced ask with the bytes it came with, though the caller's buffer was reused meanwhile", async () => {
    const { pacer, calls } = recording(20);
    pacer.ask("p", new Uint8Array([1]));
    const read = new Uint8Array([7, 7]);
    pacer.ask("p", read.subarray(0, 1)); // coalesced: a view into memory the caller reads the next message into
    read.fill(9);
    await expect.poll(() => calls.length, { timeout: 10_000, interval: 5 }).toBe(2);
    expect(calls[1]).toEqual(["p", [7]]);
    pacer.clear();
  });

  it("clear() and forget() drop what waits: nothing is answered after them and no timer is left", async () => {
    for (const drop of [(pacer: AnswerPacer) => pacer.clear(), (pacer: AnswerPacer) => pacer.forget("p")]) {
      const { pacer, calls } = recording(20);
      const { live } = await timersOf(async () => {
        pacer.ask("p", new Uint8Array([1]));
        pacer.ask("p", new Uint8Array([2])); // waits for the interval
        await Promise.resolve(); // the first answer settled: the interval's timer runs
        drop(pacer);
      });
      expect(live).toBe(0);
      await after(100);
      expect(calls).toEqual([["p", [1]]]);
    }
  });

  it("keeps no process alive: every timer it makes is unref'd", async () => {
    const { pacer } = recording(2 ** 31 - 1);
    const { made, live } = await timersOf(async () => {
      pacer.ask("p", new Uint8Array([1]));
      await Promise.resolve();
    });
    expect(live).toBe(1);
    expect(made.map((t) => t.hasRef())).toEqual([false]);
    pacer.clear();
  });

  it("a wall clock set back while an answer is out does not stretch the interval (a monotonic clock times it)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] }); // only the wall clock: timers and the monotonic clock stay real
    const { pacer, calls } = recording(20);
    pacer.ask("p", new Uint8Array([1]));
    pacer.ask("p", new Uint8Array([2]));
    vi.setSystemTime(Date.now() - 3_600_000); // set back an hour before the answer settles
    await expect.poll(() => calls.length, { timeout: 10_000, interval: 5 }).toBe(2);
    expect(calls[1]).toEqual(["p", [2]]);
    pacer.clear();
  });
});
