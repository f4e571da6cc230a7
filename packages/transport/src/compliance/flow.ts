import { expect, it } from "vitest";
import { Collector, isPending, numberOf, numbered, turns, within } from "./helpers.js";
import type { Suite } from "./suite.js";

/** Flow: frames held until `read`, `pause` and `resume`, backpressure on a paused receiver. */
export function flowTests(suite: Suite): void {
  const { pair } = suite;
  it("holds frames that arrive before read() and delivers them once read is called", async () => {
    const { dialer, accepted } = await pair();
    await Promise.all([0, 1, 2].map((i) => dialer.send(numbered(i))));
    await turns(20);
    const at = new Collector(accepted);
    await at.waitFor(3);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2]);
  });

  it("pause stops delivery (even from inside the sink) and resume restarts it with nothing lost", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    at.onFrame = (_f, index) => {
      if (index === 2) accepted.pause();
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => dialer.send(numbered(i))));
    await at.waitFor(3);
    await turns(20);
    expect(at.frames.length).toBe(3);
    at.onFrame = undefined;
    accepted.resume();
    await at.waitFor(50);
    expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // And a pause from outside the sink.
    accepted.pause();
    await Promise.all(Array.from({ length: 10 }, (_, i) => dialer.send(numbered(50 + i))));
    await turns(20);
    expect(at.frames.length).toBe(50);
    accepted.resume();
    await at.waitFor(60);
    expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it("applies backpressure: with the receiver paused a send stays pending, and everything arrives after resume", async () => {
    const { dialer, accepted } = await pair();
    const at = new Collector(accepted);
    accepted.pause();
    const frameSize = Math.max(1, Math.min(64 * 1024, suite.maxFrameSize));
    const limit = suite.ctx.backpressureLimitBytes ?? 64 * 1024 * 1024;
    const sends: Promise<void>[] = [];
    let pending: Promise<void> | undefined;
    for (let sent = 0; sent < limit; sent += frameSize) {
      const p = dialer.send(numbered(sends.length, frameSize - 4));
      sends.push(p);
      if (await isPending(p, 1)) {
        pending = p;
        break;
      }
    }
    expect(pending, `no send was pending after ${limit} bytes to a paused receiver`).toBeDefined();
    expect(at.frames.length).toBe(0);
    accepted.resume();
    await within(Promise.all(sends), "the pending sends to resolve after resume", 30_000);
    await at.waitFor(sends.length);
    expect(at.frames.length).toBe(sends.length);
    at.frames.forEach((f, i) => {
      if (numberOf(f) !== i || f.byteLength !== frameSize) expect.fail(`frame ${i} arrived as ${numberOf(f)}`);
    });
  });
}
