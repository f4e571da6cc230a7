import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_BOOTSTRAP, topicInfoHash } from "../src/index.js";

describe("topicInfoHash", () => {
  it("is 20 bytes, stable, and depends on the app and the topic, each kept apart by its length", () => {
    const h = topicInfoHash("chat", "friends");
    expect(h).toHaveLength(20);
    expect(topicInfoHash("chat", "friends").equals(h)).toBe(true);
    expect(topicInfoHash("chat", "friends2").equals(h)).toBe(false);
    expect(topicInfoHash("chat2", "friends").equals(h)).toBe(false);
    expect(topicInfoHash("ab", "c").equals(topicInfoHash("a", "bc"))).toBe(false);
  });

  it("is domain-separated: not the plain SHA-1 or SHA-256 of the names", () => {
    const h = topicInfoHash("chat", "friends");
    for (const plain of ["friends", "chatfriends", "chat\u0000friends"]) {
      expect(h.equals(createHash("sha1").update(plain).digest())).toBe(false);
      expect(h.equals(createHash("sha256").update(plain).digest().subarray(0, 20))).toBe(false);
    }
  });

  it("refuses empty or over-long names with XPPG_ERR_INVALID_ARGUMENT", () => {
    expect(() => topicInfoHash("", "t")).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => topicInfoHash("app", "x".repeat(257))).toThrow(/topic/);
  });
});

describe("DEFAULT_BOOTSTRAP", () => {
  // Read, never dialled: no test ever gives a DHT the default list.
  it("lists the well-known mainline routers as host:port, frozen", () => {
    expect(DEFAULT_BOOTSTRAP).toContain("router.bittorrent.com:6881");
    expect(DEFAULT_BOOTSTRAP).toContain("dht.transmissionbt.com:6881");
    for (const entry of DEFAULT_BOOTSTRAP) expect(entry).toMatch(/^[a-z0-9.-]+:\d+$/);
    expect(Object.isFrozen(DEFAULT_BOOTSTRAP)).toBe(true);
  });
});
