import { afterEach, describe, expect, it, vi } from "vitest";
import { timersOf } from "./fixtures/timers.js";
import { ANSWER_MIN_CHARGE, AnswerBudget, type BudgetTurn } from "../src/answer-budget.js";

/** A budget whose turns record their start (peer and label) and charge `bytes` each. */
function recording(bytesPerSecond: number, bytes: number) {
  const budget = new AnswerBudget(bytesPerSecond);
  const started: string[] = [];
  const turn = (peerId: string, label: string): BudgetTurn => ({ peerId, start: () => (started.push(`${peerId}:${label}`), bytes) });
  return { budget, started, turn };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("AnswerBudget", () => {
  it("starts turns at once while it holds bytes; then they wait and are served round robin over peers", async () => {
    // 100 KiB a second, each answer 60 KiB: two start at once (100 -> 40 -> -20), the rest wait.
    const { budget, started, turn } = recording(100 * 1024, 60 * 1024);
    for (const label of ["1", "2", "3", "4"]) budget.request(turn("noisy", label));
    budget.request(turn("honest", "1"));
    budget.request(turn("other", "1"));
    expect(started).toEqual(["noisy:1", "noisy:2"]);
    expect(budget.waiting).toBe(4);
    await expect.poll(() => started.length, { timeout: 10_000, interval: 5 }).toBe(6);
    // The noisy peer's third waited first, then every other peer had its turn before its fourth.
    expect(started).toEqual(["noisy:1", "noisy:2", "noisy:3", "honest:1", "other:1", "noisy:4"]);
    expect(budget.waiting).toBe(0);
  });

  it("charges a tiny answer at least ANSWER_MIN_CHARGE", () => {
    // 4.5 charges' worth: five start (the fifth while half a charge is left), the sixth waits; charged 1 byte each, all would.
    const { budget, started, turn } = recording(4.5 * ANSWER_MIN_CHARGE, 1);
    for (let i = 0; i < 6; i++) budget.request(turn("p", String(i)));
    expect(started).toHaveLength(5);
    budget.clear();
  });

  it("cancel() drops a waiting turn; the last one cancelled or clear() leaves no timer, and every timer is unref'd", async () => {
    for (const drop of ["cancel", "clear"] as const) {
      const { budget, started, turn } = recording(1024 * 1024, 2 * 1024 * 1024);
      const waiting = [turn("p", "2"), turn("q", "1")];
      const { made, live } = await timersOf(() => {
        budget.request(turn("p", "1")); // starts, and leaves a second's debt
        for (const t of waiting) budget.request(t);
        expect(budget.waiting).toBe(2);
        if (drop === "clear") budget.clear();
        else for (const t of waiting) budget.cancel(t);
      });
      expect(made.length).toBeGreaterThan(0);
      expect(made.map((t) => t.hasRef())).toEqual(made.map(() => false));
      expect(live).toBe(0);
      expect(budget.waiting).toBe(0);
      expect(started).toEqual(["p:1"]);
    }
  });

  it("a wall clock set back does not stop the refill (a monotonic clock times it)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] }); // only the wall clock: timers and the monotonic clock stay real
    const { budget, started, turn } = recording(64 * 1024, 64 * 1024);
    budget.request(turn("p", "1"));
    budget.request(turn("p", "2"));
    vi.setSystemTime(Date.now() - 3_600_000);
    await expect.poll(() => started.length, { timeout: 10_000, interval: 5 }).toBe(2);
  });

  it("a debt longer than a timer's longest delay waits without spinning (no timer overflow)", async () => {
    // 1 byte a second and a 3 MB answer: some 35 days of debt, past setTimeout's 2^31 - 1 ms.
    const { budget, started, turn } = recording(1, 3_000_000);
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      budget.request(turn("p", "1"));
      budget.request(turn("p", "2"));
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("warning", onWarning);
      budget.clear();
    }
    expect(warnings).toEqual([]);
    expect(started).toEqual(["p:1"]);
  });

  it("setBytesPerSecond() applies to turns already waiting", async () => {
    // 1 KiB a second and a 1 MiB answer: the second would wait some 17 minutes at the old rate.
    const { budget, started, turn } = recording(1024, 1024 * 1024);
    budget.request(turn("p", "1"));
    budget.request(turn("q", "1"));
    expect(started).toEqual(["p:1"]);
    budget.setBytesPerSecond(Number.POSITIVE_INFINITY);
    await expect.poll(() => started.length, { timeout: 10_000, interval: 5 }).toBe(2);
    expect(budget.waiting).toBe(0);
  });

  it("Infinity is no bound", () => {
    const { budget, started, turn } = recording(Number.POSITIVE_INFINITY, 2 ** 40);
    for (let i = 0; i < 100; i++) budget.request(turn("p", String(i)));
    expect(started).toHaveLength(100);
    expect(budget.waiting).toBe(0);
  });
});
