import { describe, expect, it } from "vitest";
import { AbuseGuard, hostKey, isStrike } from "../src/abuse-guard.js";
import { banKey } from "../src/bans.js";

describe("hostKey", () => {
  it.each([
    ["198.51.100.7", "198.51.100.7"],
    ["2001:db8:1:2:3:4:5:6", "[2001:db8:1:2::/64]"],
    ["[2001:db8:1:2::9]", "[2001:db8:1:2::/64]"],
    ["2001:DB8:1:2::9", "[2001:db8:1:2::/64]"],
    ["::1", "[0:0:0:0::/64]"],
    ["::ffff:198.51.100.7", "198.51.100.7"],
    ["node-1", "node-1"],
    ["1::2::3", "[1::2::3]"],
  ])("%s -> %s", (host, key) => {
    expect(hostKey(host)).toBe(key);
  });
});

describe("AbuseGuard", () => {
  it("bans after the threshold within the window, and the ban expires", () => {
    let now = 0;
    const g = new AbuseGuard({ banThreshold: 2, strikeWindowMs: 1000, banDurationMs: 5000, allowPeers: null, now: () => now });
    expect(g.strike(["peer:a"], "x")).toEqual([]);
    now = 2000; // the first strike has left the window
    expect(g.strike(["peer:a"], "x")).toEqual([]);
    now = 2500;
    expect(g.strike(["peer:a"], "y").map((b) => b.key)).toEqual(["peer:a"]);
    expect(g.banned("peer:a")?.until).toBe(7500);
    now = 7500;
    expect(g.banned("peer:a")).toBeUndefined();
  });

  it("lists only the bans in force", () => {
    let now = 0;
    const g = new AbuseGuard({ banThreshold: 1, strikeWindowMs: 1000, banDurationMs: 10, allowPeers: null, now: () => now });
    for (let i = 0; i < 3000; i++) {
      now = i * 100;
      g.ban(`peer:${i}`, 10, "test");
    }
    expect(g.list().length).toBe(1);
  });

  it("counts only violations inside the authenticated stream as strikes", () => {
    expect(isStrike("XPPG_ERR_PROTOCOL_VIOLATION")).toBe(true);
    expect(isStrike("XPPG_ERR_STATE_INVALID_UPDATE")).toBe(true);
    expect(isStrike("XPPG_ERR_DECRYPT_FAILED")).toBe(false);
    expect(isStrike("XPPG_ERR_HANDSHAKE_TIMEOUT")).toBe(false);
  });

  it("does not count a full or failing local replica as the peer's strike", () => {
    for (const code of ["XPPG_ERR_STATE_TOO_MANY_KEYS", "XPPG_ERR_STATE_TOO_LARGE", "XPPG_ERR_STATE_LISTENER_FAILED", "XPPG_ERR_STATE_MERGE_FAILED"]) {
      expect(isStrike(code)).toBe(false);
    }
    expect(isStrike("XPPG_ERR_STATE_VERSION_TOO_FAR_AHEAD")).toBe(true);
  });
});

describe("banKey", () => {
  it("keys a host the way connections are keyed, so an operator's IPv6 ban covers its /64", () => {
    expect(banKey("host:2001:db8:1:2::7")).toBe(`host:${hostKey("2001:db8:1:2:3:4:5:6")}`);
    expect(banKey("host:::ffff:198.51.100.7")).toBe("host:198.51.100.7");
    expect(banKey("peer:xp1abc")).toBe("peer:xp1abc");
    expect(banKey("xp1abc")).toBe("peer:xp1abc");
  });
});
