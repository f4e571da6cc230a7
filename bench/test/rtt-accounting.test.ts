import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The round trip's accounting end to end on the raw node:net contender (real processes on loopback, a few
// hundred round trips): both sides report, with and without pauses. The figures are not judged.
const run = promisify(execFile);
const perThread = existsSync("/proc/self/task");
if (!perThread) console.log("skipped: bench/rtt-accounting.mjs reads each thread's CPU from /proc/self/task, which this system lacks");

describe("bench/rtt-accounting.mjs", () => {
  it.skipIf(!perThread)("reports each side of raw node:net's round trip, and the round trips after a pause", async () => {
    const { stdout } = await run(process.execPath, ["rtt-accounting.mjs", "--only=raw-tcp", "--rounds=1", "--warmup=100", "--count=300", "--idle-every=50"], {
      cwd: join(import.meta.dirname, ".."),
      timeout: 60_000,
    });
    const rows = stdout.split("\n").filter((line) => line.startsWith("raw-tcp"));
    expect(rows).toHaveLength(2);
    const [sender, receiver] = rows.map((line) => line.trim().split(/\s+/));
    expect(sender![1]).toBe("sender");
    expect(receiver![1]).toBe("receiver");
    // user, sys, main, other, vol, invol, latency, first, 2nd: every figure of the sender is a number.
    expect(sender!.slice(2).every((cell) => Number.isFinite(Number(cell)))).toBe(true);
    expect(Number(sender![4])).toBeGreaterThan(0); // the main thread ran
    expect(Number(receiver![4])).toBeGreaterThan(0);
  }, 90_000);
});
