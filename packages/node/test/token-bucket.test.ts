import { describe, expect, it } from "vitest";
import { TokenBucket } from "../src/token-bucket.js";

describe("TokenBucket", () => {
  it("allows one burst, then the rate", () => {
    const b = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 5; i++) expect(b.take(1, 0)).toBe(true);
    expect(b.take(1, 0)).toBe(false);
    expect(b.take(1, 100)).toBe(true); // 100 ms at 10/s = 1 token
    expect(b.take(1, 100)).toBe(false);
  });

  it("gives no extra burst for time spent full", () => {
    const b = new TokenBucket(10, 5, 0);
    // Idle for an hour, then a burst: only 5 go through, not 5 plus an hour's worth capped again.
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.take(1, 3_600_000)) ok++;
    expect(ok).toBe(5);
  });
});
