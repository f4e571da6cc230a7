import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("./fixtures/broadcast-memory.mjs", import.meta.url));
const MiB = 1024 * 1024;

describe("memory after a burst of large broadcasts (issue 16: memory back after an attack)", () => {
  it("is released, but for the broadcast tree's bounded cache of recent messages, once the burst has been delivered", async () => {
    // A child process with --expose-gc measures what stays reachable after a full GC (heap used + external).
    // 400 broadcasts of 64 KiB: 25 MiB through each node; the two caches may keep 4 MiB each.
    const { stdout } = await run(process.execPath, ["--expose-gc", FIXTURE, "400"], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as { before: number; after: number; sent: number };
    expect(r.sent).toBe(400 * 64 * 1024);
    expect((r.after - r.before) / MiB).toBeLessThan(12);
  }, 70_000);
});
