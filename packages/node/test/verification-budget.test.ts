import { describe, expect, it } from "vitest";
import { ABUSE, DROP, VERIFY, VerificationBudget, VerifyAccount } from "../src/verification-budget.js";

describe("VerificationBudget", () => {
  it("shares each window between the peers sending; a peer over its share is dropped, one under it is not", () => {
    let now = 0;
    const budget = new VerificationBudget({ perSecond: 400, windowMs: 250, abuseAfterMs: 1000, now: () => now });
    const flood = new VerifyAccount();
    const honest = new VerifyAccount();
    // Alone, a peer may use the whole window (100 checks).
    for (let i = 0; i < 100; i++) expect(budget.admit(flood)).toBe(VERIFY);
    expect(budget.admit(flood)).toBe(DROP);
    // Another peer starts: it gets its share even though the window's budget is spent.
    expect(budget.admit(honest)).toBe(VERIFY);
    now = 250;
    // Two peers sending: 50 each.
    expect(budget.admit(honest)).toBe(VERIFY);
    let verified = 0;
    for (let i = 0; i < 200; i++) if (budget.admit(flood) === VERIFY) verified++;
    expect(verified).toBe(50);
    for (let i = 0; i < 48; i++) expect(budget.admit(honest)).toBe(VERIFY);
    // Over its share in every window for abuseAfterMs (4 windows): abuse.
    now = 500;
    budget.admit(honest);
    for (let i = 0; i < 50; i++) budget.admit(flood);
    expect(budget.admit(flood)).toBe(DROP);
    now = 750;
    budget.admit(honest);
    for (let i = 0; i < 50; i++) budget.admit(flood);
    expect(budget.admit(flood)).toBe(ABUSE);
  });
});
