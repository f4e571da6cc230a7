import { open, readdir, readlink, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FILES_ERROR_CODES, buildManifest } from "../src/index.js";
import { PartialFile, partialPaths } from "../src/partial-file.js";
import { randomFile, tempDir } from "./helpers/files.js";

/** The files this process holds open whose path is `path` (Linux: /proc/self/fd). */
async function openHandlesTo(path: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target === path) n++;
  }
  return n;
}

describe("a partial download on disk", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.skipIf(process.platform !== "linux")("a read error while its chunks are verified again fails typed and holds no file open", async () => {
    await using tmp = await tempDir();
    const path = await randomFile(tmp.dir, "data.bin", 64 * 1024);
    const manifest = await buildManifest(path);
    const dir = join(tmp.dir, "in");
    const first = await PartialFile.open(manifest, dir, 2 ** 40);
    await first.write(0, (await readFile(path)).subarray(0, manifest.chunkSize));
    await first.close();
    const part = partialPaths(dir, manifest.contentId).part;
    expect(await openHandlesTo(part)).toBe(0);

    // The disk fails the first read of the resume (as a bad sector would).
    const probe = await open(path, "r");
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    vi.spyOn(proto, "read").mockRejectedValueOnce(Object.assign(new Error("EIO: i/o error, read"), { code: "EIO" }));
    await expect(PartialFile.open(manifest, dir, 2 ** 40)).rejects.toMatchObject({ code: FILES_ERROR_CODES.WRITE_FAILED });
    expect(await openHandlesTo(part)).toBe(0);

    // Once the disk reads again, the chunk on disk is found verified.
    const again = await PartialFile.open(manifest, dir, 2 ** 40);
    expect(again.resumed).toBe(1);
    await again.close();
  });
});
