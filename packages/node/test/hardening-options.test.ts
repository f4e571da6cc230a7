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

describe("limits.routedInboxBytes (what a paused end-to-end channel may hold)", () => {
  it("is 4 MiB by default and takes any whole number of bytes from 1 MiB (a burst at a channel's open) up", () => {
    expect(resolveOptions("app", {}).limits.routedInboxBytes).toBe(4 * 1024 * 1024);
    expect(resolveOptions("app", { limits: { routedInboxBytes: 1 << 20 } }).limits.routedInboxBytes).toBe(1 << 20);
    expect(resolveOptions("app", { limits: { routedInboxBytes: 1 << 30 } }).limits.routedInboxBytes).toBe(1 << 30);
  });

  it("refuses a bad value with XPPG_ERR_INVALID_ARGUMENT, naming the option and the least it takes", () => {
    for (const bad of [(1 << 20) - 1, 65_536, 0, -1, 65_536.5, Number.NaN, Infinity, "4194304", null]) {
      expect(() => new Playground("app", { limits: { routedInboxBytes: bad as number } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("limits.routedInboxBytes") }));
    }
  });
});

describe("limits.routedInboxTotalBytes (what all paused end-to-end channels together may hold)", () => {
  it("is 16 MiB by default and takes any whole number of bytes from 1 MiB up", () => {
    expect(resolveOptions("app", {}).limits.routedInboxTotalBytes).toBe(16 << 20);
    expect(resolveOptions("app", { limits: { routedInboxTotalBytes: 1 << 20 } }).limits.routedInboxTotalBytes).toBe(1 << 20);
  });

  it("refuses a bad value with XPPG_ERR_INVALID_ARGUMENT, naming the option", () => {
    for (const bad of [(1 << 20) - 1, 0, -1, 1.5e6 + 0.5, Number.NaN, Infinity, "16777216", null]) {
      expect(() => new Playground("app", { limits: { routedInboxTotalBytes: bad as number } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("limits.routedInboxTotalBytes") }));
    }
  });
});

describe("limits.routedErrorsPerMinute (error events a minute naming one node for its broken routed channels)", () => {
  it("is 10 by default, takes any number above 0, and Infinity turns it off", () => {
    expect(resolveOptions("app", {}).limits.routedErrorsPerMinute).toBe(10);
    expect(resolveOptions("app", { limits: { routedErrorsPerMinute: 1 } }).limits.routedErrorsPerMinute).toBe(1);
    expect(resolveOptions("app", { limits: { routedErrorsPerMinute: Infinity } }).limits.routedErrorsPerMinute).toBe(Infinity);
  });

  it("refuses a bad value with XPPG_ERR_INVALID_ARGUMENT, naming the option", () => {
    for (const bad of [0, -1, Number.NaN, "10", null]) {
      expect(() => new Playground("app", { limits: { routedErrorsPerMinute: bad as number } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("limits.routedErrorsPerMinute") }));
    }
  });
});
