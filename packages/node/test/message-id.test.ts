import { describe, expect, it } from "vitest";
import { IDS_PER_MS, MessageIdClock, timeOfId } from "../src/message-id.js";

describe("MessageIdClock", () => {
  it("makes strictly increasing ids that carry the time, running ahead of the clock only past 1024 a millisecond", () => {
    let now = 1_700_000_000_000;
    const clock = new MessageIdClock(() => now);
    const first = clock.next();
    expect(timeOfId(first)).toBe(now);
    let last = first;
    for (let i = 0; i < 2000; i++) {
      const id = clock.next();
      expect(id).toBeGreaterThan(last);
      last = id;
    }
    expect(timeOfId(last)).toBe(now + 1);
    now += 10;
    expect(clock.next()).toBe(now * IDS_PER_MS);
    now -= 1000; // the clock goes back: ids still grow
    expect(clock.next()).toBe((now + 1000) * IDS_PER_MS + 1);
  });
});
