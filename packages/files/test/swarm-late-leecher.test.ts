import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSwarm } from "../src/index.js";
import { MemoryNet } from "./helpers/memory-net.js";
import { randomFile, sha256Of, tempDir } from "./helpers/files.js";

describe("leechers that start at different moments", () => {
  it("hear of each other's chunks, so they complete from each other once the seeder is gone", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const early = new FileSwarm(net.host("B"), { findTimeoutMs: 5_000 });
    const late = new FileSwarm(net.host("A"));
    net.link("S", "B");
    net.link("A", "B");
    const path = await randomFile(tmp.dir, "data.bin", 4 * 1024 * 1024);
    const shared = await seeder.share(path);
    // B asks A before A downloads anything (A drops that want); B loses the seeder halfway.
    let got = 0;
    const b = early.download(shared.contentId, {
      dir: join(tmp.dir, "b"),
      onChunk: () => {
        if (++got === shared.chunkCount / 2) net.unlink("S", "B");
      },
    });
    await expect.poll(() => got, { timeout: 30_000 }).toBeGreaterThanOrEqual(shared.chunkCount / 2);
    // A starts now: B answers A's want with its bitfield before A has the manifest.
    net.link("S", "A");
    const ra = await late.download(shared.contentId, { dir: join(tmp.dir, "a") });
    net.unlink("S", "A");
    const rb = await b;
    const want = await sha256Of(path);
    expect(await sha256Of(ra.path)).toBe(want);
    expect(await sha256Of(rb.path)).toBe(want);
    // What B lacked when the seeder went came from A.
    expect(rb.sources.A ?? 0).toBeGreaterThan(0);
    expect(rb.fetchedChunks).toBe(shared.chunkCount);
    await Promise.all([seeder.close(), early.close(), late.close()]);
  });
});
