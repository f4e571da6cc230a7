import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { now, toPerformanceTime } from "../src/index.js";

describe("now()", () => {
  it("never goes back and starts from about the process's start", () => {
    let last = now();
    expect(last).toBeGreaterThan(0);
    // From about the process's start, as performance.now() is: never more than the process's own running time.
    expect(last).toBeLessThanOrEqual(process.uptime() * 1000 + 50);
    let back = 0;
    for (let i = 0; i < 100_000; i++) {
      const t = now();
      if (t < last) back++;
      last = t;
    }
    expect(back).toBe(0);
  });

  it("reads as performance.now() does once turned by toPerformanceTime", () => {
    // A reading of now() between two of performance.now() lands between them (the pairing's error is a few µs).
    for (let i = 0; i < 20; i++) {
      const before = performance.now();
      const t = toPerformanceTime(now());
      const after = performance.now();
      expect(t).toBeGreaterThanOrEqual(before - 0.05);
      expect(t).toBeLessThanOrEqual(after + 0.05);
    }
    expect(toPerformanceTime(1000) - toPerformanceTime(0)).toBeCloseTo(1000, 9);
  });

  it("does not load Node's perf_hooks (a fresh process, the built package)", (ctx) => {
    const dir = fileURLToPath(new URL("..", import.meta.url));
    if (!existsSync(join(dir, "dist", "bundle", "index.js"))) {
      console.log("skipped: @xppg/errors is not built (pnpm run build)");
      ctx.skip();
    }
    // The package imports itself by name, as an application does: its Node build.
    const script = `
      const { now } = await import("@xppg/errors");
      const perf = () => process.moduleLoadList.filter((m) => /perf_hooks|internal\\/perf\\/performance$/.test(m));
      const a = now(), b = now();
      const without = perf();
      performance.now();
      console.log(JSON.stringify({ ok: b >= a && a > 0, without, with: perf() }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { ok: boolean; without: string[]; with: string[] };
    expect(out.ok).toBe(true);
    // The names are this Node's: reading performance loads them, so their absence before means something.
    expect(out.with).toContain("NativeModule internal/perf/performance");
    expect(out.without).toEqual([]);
  });
});
