import { describe, expect, it } from "vitest";
import { Playground } from "../src/index.js";
import { resolveOptions } from "../src/resolved-options.js";

const NEW_LIMITS = [
  "maxPendingHandshakesPerHost",
  "verificationsPerSecond",
  "broadcastMaxAgeMs",
  "maxTrackedOrigins",
  "maxQueuedBytesPerPeer",
  "maxQueuedBytes",
  "writeStallTimeoutMs",
  "maxBroadcastWaitMs",
  "fileIdleTimeoutMs",
] as const;

describe("the hardening limits as options", () => {
  it("have safe defaults", () => {
    const { limits } = resolveOptions("app", {});
    expect(limits).toMatchObject({
      maxPendingHandshakesPerHost: 4,
      verificationsPerSecond: 2000,
      broadcastMaxAgeMs: 300_000,
      maxTrackedOrigins: 4096,
      maxQueuedBytesPerPeer: 64 * 1024 * 1024,
      maxQueuedBytes: 256 * 1024 * 1024,
      writeStallTimeoutMs: 10_000,
      maxBroadcastWaitMs: 1000,
      fileIdleTimeoutMs: 30_000,
    });
  });

  it("give one host a quarter of the pending handshakes when that is less than 4", () => {
    expect(resolveOptions("app", { limits: { maxPendingHandshakes: 8 } }).limits.maxPendingHandshakesPerHost).toBe(2);
    expect(resolveOptions("app", { limits: { maxPendingHandshakes: 2 } }).limits.maxPendingHandshakesPerHost).toBe(1);
    expect(resolveOptions("app", { limits: { maxPendingHandshakes: 8, maxPendingHandshakesPerHost: 8 } }).limits.maxPendingHandshakesPerHost).toBe(8);
  });

  it.each(NEW_LIMITS)("refuse a bad %s with the right call", (name) => {
    for (const bad of [-1, 0, Number.NaN, "10"]) {
      expect(() => new Playground("app", { limits: { [name]: bad } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining(`limits.${name}`) }));
    }
  });
});
