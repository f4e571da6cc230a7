import { describe, expect, it } from "vitest";
import { RequestPacer } from "../src/pacer.js";

describe("RequestPacer", () => {
  it("lets a neighbour be asked one second's worth, then no more until it refills; each neighbour has its own", () => {
    const pacer = new RequestPacer(1000);
    expect(pacer.take("a", 600)).toBe(true);
    expect(pacer.take("a", 300)).toBe(true);
    // 100 left: a request of 200 waits (no time passes in this test to refill 100 more).
    expect(pacer.take("a", 200)).toBe(false);
    expect(pacer.take("b", 1000)).toBe(true);
    // A request over a second's worth goes when the bucket is full, and leaves a debt.
    expect(pacer.take("c", 5000)).toBe(true);
    expect(pacer.take("c", 1)).toBe(false);
    pacer.forget("a");
    expect(pacer.take("a", 1000)).toBe(true);
  });

  it("paces nothing at Infinity", () => {
    const pacer = new RequestPacer(Infinity);
    for (let i = 0; i < 100; i++) expect(pacer.take("a", 1e9)).toBe(true);
  });
});
