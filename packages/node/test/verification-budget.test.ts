import { describe, expect, it } from "vitest";
import { ABUSE, DROP, VERIFY, VerificationBudget, VerifyAccount, type Admission } from "../src/verification-budget.js";

describe("VerificationBudget", () => {
  it("checks a burst of one second's budget, then shares each window between the peers sending", () => {
    let now = 0;
    const budget = new VerificationBudget({ perSecond: 400, windowMs: 250, abuseAfterMs: 1000, now: () => now });
    const flood = new VerifyAccount();
    const honest = new VerifyAccount();
    const count = (account: VerifyAccount, n: number, what: Admission) => {
      let k = 0;
      for (let i = 0; i < n; i++) if (budget.admit(account) === what) k++;
      return k;
    };
    // A burst of one second's budget from one peer is checked in full (a lone honest burst is not cut).
    expect(count(flood, 400, VERIFY)).toBe(400);
    expect(budget.admit(flood)).toBe(DROP);
    // Overloaded: a peer under its share is still checked, a peer over it is not.
    expect(budget.admit(honest)).toBe(VERIFY);
    const verdicts: Admission[] = [];
    for (let w = 1; w <= 3; w++) {
      now = w * 250;
      expect(count(honest, 40, VERIFY)).toBe(40);
      const before = verdicts.length;
      for (let i = 0; i < 500; i++) verdicts.push(budget.admit(flood));
      const checked = verdicts.slice(before).filter((v) => v === VERIFY).length;
      // The window's budget (100) at most; the rest of the flood is dropped unchecked.
      expect(checked).toBeGreaterThan(0);
      expect(checked).toBeLessThanOrEqual(100);
      expect(count(honest, 5, VERIFY)).toBe(5);
    }
    // Over its share in every window for abuseAfterMs (four windows, the first one included): abuse, once.
    expect(verdicts.filter((v) => v === ABUSE)).toHaveLength(1);
    expect(verdicts.slice(0, 1000)).not.toContain(ABUSE);
  });

  it("a node's own stall (no window read) does not break a flooder's run; the flooder's own pause does", () => {
    /** 500 broadcasts from `flood` in each window of `floodIn`, one from `honest` in each of `honestIn`: the verdicts of the flood's. */
    const run = (floodIn: number[], honestIn: number[]): Admission[] => {
      let now = 0;
      const budget = new VerificationBudget({ perSecond: 400, windowMs: 250, abuseAfterMs: 1000, now: () => now });
      const flood = new VerifyAccount();
      const honest = new VerifyAccount();
      const verdicts: Admission[] = [];
      for (let w = 0; w <= 7; w++) {
        now = w * 250;
        if (honestIn.includes(w)) budget.admit(honest);
        if (floodIn.includes(w)) for (let i = 0; i < 500; i++) verdicts.push(budget.admit(flood));
      }
      return verdicts;
    };
    // Over its share in the four windows the node read in (the node read nothing in 3 to 5, as a stalled node): abuse.
    expect(run([0, 1, 2, 6, 7], [])).toContain(ABUSE);
    // The node read the honest peer's broadcasts in 3 to 5 while the flooder sent none: its run is broken.
    expect(run([0, 1, 2, 6, 7], [3, 4, 5])).not.toContain(ABUSE);
  });

  it("an idle node gets one second's burst back, not more", () => {
    let now = 0;
    const budget = new VerificationBudget({ perSecond: 100, windowMs: 250, now: () => now });
    const a = new VerifyAccount();
    now = 60_000;
    let checked = 0;
    for (let i = 0; i < 300; i++) if (budget.admit(a) === VERIFY) checked++;
    expect(checked).toBeLessThanOrEqual(100 + 25);
  });
});
