import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("./fixtures/newest-held.mjs", import.meta.url));

/** Frames assembled one after the other (each kept, then dropped by the caller, then full GCs): after each, which of them so far were collected. */
async function collectedAfter(sizes: number[], decoders = 1): Promise<boolean[][]> {
  const { stdout } = await run(process.execPath, ["--expose-gc", FIXTURE, sizes.join(","), String(decoders)], { timeout: 30_000 });
  return (JSON.parse(stdout.trim().split("\n").at(-1)!) as { after: boolean[][] }).after;
}

describe("memory of large frames assembled in Node", () => {
  // The newest block of 32 KiB to 128 KiB stays live (the top of malloc's heap), so that glibc keeps the memory
  // the collector frees below it for the next frames instead of giving it back and faulting it in again.
  it("holds the newest frame of 32 KiB to 128 KiB until the next such frame, and no other", async () => {
    // A bulk message's frame (64 KiB and its envelope): held while newest; the next one lets it go (and is held).
    // 900 KiB, 1 KiB and 31 KiB: never held, and they leave the newest held as it was.
    const bulk = 64 * 1024 + 60;
    expect(await collectedAfter([bulk, bulk, 900 * 1024, 1024, 31 * 1024])).toEqual([
      [false],
      [true, false],
      [true, false, true],
      [true, false, true, true],
      [true, false, true, true, true],
    ]);
  }, 40_000);

  it("holds one frame per process, the newest of any size in the range", async () => {
    expect(await collectedAfter([32 * 1024, 128 * 1024 - 1, 40 * 1024, 128 * 1024])).toEqual([
      [false],
      [true, false],
      [true, true, false],
      [true, true, false, true],
    ]);
  }, 40_000);

  it("holds one frame per process, not one per decoder: a frame another connection assembles lets it go", async () => {
    const bulk = 64 * 1024 + 60;
    expect(await collectedAfter([bulk, bulk, bulk], 2)).toEqual([
      [false],
      [true, false],
      [true, true, false],
    ]);
  }, 40_000);
});
