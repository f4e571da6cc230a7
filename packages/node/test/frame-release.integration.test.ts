import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("./fixtures/frame-release.mjs", import.meta.url));

describe("memory of an idle connection", () => {
  // A child process with --expose-gc watches the memory the received payload lies in (its frame's) with a
  // FinalizationRegistry, and runs up to 40 full GCs once the connection is idle. The envelope reader kept
  // the last payload and signature it read, and with them the whole frame (up to 1 MiB), until its next read.
  const cases = ["bytes", "object"].flatMap((shape) => ["direct", "broadcast"].flatMap((route) => ["encrypted", "plain"].map((security) => [shape, route, security] as const)));
  it.each(cases)("holds no frame once a large message (%s, %s, %s) has been handled", async (shape, route, security) => {
    const { stdout } = await run(process.execPath, ["--expose-gc", FIXTURE, shape, route, security], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as { collected: boolean; gcs: number; length: number };
    expect(r.length).toBe(900 * 1024);
    expect(r.collected).toBe(true);
  }, 70_000);
});
