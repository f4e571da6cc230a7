import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

// The bench's connection phases end to end, on the raw node:net contender only (real processes on
// loopback, a few connects): a phase that reports nothing, or fails for every contender, is caught here
// and not in a long run by hand. The figures themselves are not judged (no timing assertions).
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "xppg-bench-phases-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("bench/run.mjs connection phases", () => {
  it("reports the setup and first-connection phases for raw node:net", async () => {
    const { stdout } = await run(process.execPath, ["run.mjs", "--only=raw-tcp", "--phases=setup,first", "--rounds=1", "--connects=10"], {
      cwd: join(import.meta.dirname, ".."),
      env: { ...process.env, BENCH_RESULTS_DIR: dir },
      timeout: 60_000,
    });
    expect(stdout).not.toMatch(/failed/i);
    const results = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8"));
    const [setup] = results.raw.setup["raw-tcp"];
    expect(setup.connects).toBe(10);
    expect(setup.medianMs).toBeGreaterThan(0);
    expect(setup.serverCpuMsPerConnect).toBeGreaterThan(0);
    const [first] = results.raw.first["raw-tcp"];
    expect(first.processes).toBeGreaterThan(0);
    expect(first.medianMs).toBeGreaterThan(0);
  }, 90_000);

  it("reports, for a flood, each side's event loop busy share and its collector's share of the counted window", async () => {
    const { stdout } = await run(process.execPath, ["run.mjs", "--only=raw-tcp", "--phases=bulk", "--rounds=1", "--warmup=0.2", "--duration=0.5"], {
      cwd: join(import.meta.dirname, ".."),
      env: { ...process.env, BENCH_RESULTS_DIR: dir },
      timeout: 60_000,
    });
    expect(stdout).not.toMatch(/failed/i);
    expect(stdout).toMatch(/loop busy \(of it GC\), sender \/ receiver, bulk +\d+% \(\d+%\) \/ \d+% \(\d+%\)/);
    const results = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8"));
    const [bulk] = results.raw.bulk["raw-tcp"];
    for (const key of ["senderLoopBusy", "receiverLoopBusy"]) {
      // The receiver counted messages in its window, and the sender sent them: neither loop was idle throughout.
      expect(bulk[key]).toBeGreaterThan(0);
      expect(bulk[key]).toBeLessThanOrEqual(1);
    }
    for (const key of ["senderGc", "receiverGc"]) {
      expect(bulk[key]).toBeGreaterThanOrEqual(0);
      expect(bulk[key]).toBeLessThanOrEqual(1);
    }
  }, 90_000);
});
