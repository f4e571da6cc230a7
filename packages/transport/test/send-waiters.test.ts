import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { isPending } from "../src/compliance/helpers.js";
import { SendWaiters } from "../src/adapter/index.js";

describe("SendWaiters", () => {
  it("keeps senders waiting until release, then lets them all go", async () => {
    const w = new SendWaiters();
    expect(w.empty).toBe(true);
    const a = w.wait();
    const b = w.wait();
    expect(w.empty).toBe(false);
    expect(await isPending(a)).toBe(true);
    w.release();
    await Promise.all([a, b]);
    expect(w.empty).toBe(true);
    // A later wait is not settled by the earlier release.
    const c = w.wait();
    expect(await isPending(c)).toBe(true);
    w.release();
    await c;
  });

  it("fail rejects every waiter with the error given", async () => {
    const w = new SendWaiters();
    const a = w.wait();
    const boom = new Error("boom");
    w.fail(boom);
    await expect(a).rejects.toBe(boom);
    expect(w.empty).toBe(true);
  });

  it("after a clean local close lets waiters go on; after any other close fails them with XPPG_ERR_CONNECTION_CLOSED", async () => {
    const clean = new SendWaiters();
    const ok = clean.wait();
    clean.settle({ initiator: "local" }, "memory://x");
    await ok;

    for (const info of [{ initiator: "remote" as const }, { initiator: "local" as const, error: new Error("boom") as never }]) {
      const w = new SendWaiters();
      const failed = w.wait();
      w.settle(info, "tcp://127.0.0.1:9");
      const error = await failed.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isXppgError(error, "XPPG_ERR_CONNECTION_CLOSED")).toBe(true);
      expect(String((error as Error).message)).toContain("tcp://127.0.0.1:9");
      expect(w.empty).toBe(true);
    }
  });
});
