import { describe, expect, test } from "vitest";
import { DialBudget } from "../../src/mesh/dial-budget.js";

describe("DialBudget", () => {
  test("at most perAddress attempts per address and perHost per host within the window, then again after it", () => {
    const b = new DialBudget({ perAddress: 3, perHost: 5, windowMs: 60_000 });
    const tries = (address: string, host: string, now: number): number => Array.from({ length: 10 }, () => b.take(address, host, now)).filter(Boolean).length;
    expect(tries("tcp://10.0.0.1:1", "10.0.0.1", 0)).toBe(3);
    expect(tries("tcp://10.0.0.1:2", "10.0.0.1", 1)).toBe(2);
    // The host is spent: a third port gets nothing.
    expect(tries("tcp://10.0.0.1:3", "10.0.0.1", 2)).toBe(0);
    // Another host is not affected.
    expect(tries("tcp://10.0.0.2:1", "10.0.0.2", 3)).toBe(3);
    // A window later, each address has its attempts again.
    expect(tries("tcp://10.0.0.1:1", "10.0.0.1", 60_001)).toBe(3);
  });

  test("memory is bounded: a flood of distinct addresses tracks at most `capacity` keys, and refuses past it within the window", () => {
    const b = new DialBudget({ capacity: 100, windowMs: 1000 });
    let allowed = 0;
    for (let i = 0; i < 10_000; i++) if (b.take(`tcp://h${i}:1`, `h${i}`, i / 100)) allowed++;
    expect(b.size).toBeLessThanOrEqual(100);
    expect(allowed).toBe(50);
    // Once the window passed, the old keys are forgotten and new dials are allowed.
    expect(b.take("tcp://late:1", "late", 5000)).toBe(true);
    expect(b.size).toBe(2);
  });
});
