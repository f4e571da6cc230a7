import { readFile, truncate } from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";
import { FileSwarm } from "../src/index.js";
import { MAX_UPLOAD_STATS } from "../src/constants.js";
import { MSG, decodeMessage, encodeRequest, type FilesMessage } from "../src/wire.js";
import { MemoryNet } from "./helpers/memory-net.js";
import { randomFile, tempDir } from "./helpers/files.js";

describe("serving chunks", () => {
  it("counts the bytes served to at most MAX_UPLOAD_STATS neighbours, forgetting the one served longest ago", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const shared = await seeder.share(await randomFile(tmp.dir, "data.bin", 20_000));
    const visitors = MAX_UPLOAD_STATS + 50;
    for (let i = 0; i < visitors; i++) {
      // A neighbour comes, fetches one block, and leaves: many of them over a long life.
      const id = `P${i}`;
      const h = net.host(id);
      const got = new Promise<void>((resolve) =>
        h.listen({
          message: (_peer, bytes) => {
            const m = decodeMessage(bytes);
            if (typeof m !== "string" && m.type === MSG.DATA) resolve();
          },
          joined: () => {},
          left: () => {},
        }),
      );
      net.link(id, "S");
      await h.send("S", encodeRequest(shared.contentId, 0, 0, 1000));
      await got;
      net.unlink(id, "S");
    }
    // Counted once the transport took the block (just after it arrived).
    await vi.waitFor(() => expect(seeder.uploaded.get(`P${visitors - 1}`)).toBe(1000));
    expect(seeder.uploaded.size).toBe(MAX_UPLOAD_STATS);
    expect(seeder.uploaded.has("P0")).toBe(false);
    await seeder.close();
  });

  it("answers a queue in order with the right bytes in every block, consecutive blocks read as a run and the next run read ahead; a run it cannot read is refused and the rest still served", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const path = await randomFile(tmp.dir, "data.bin", 4 * 256 * 1024);
    const shared = await seeder.share(path);
    const bytes = await readFile(path);
    // The file shrinks after it was shared: its last chunk can no longer be read.
    await truncate(path, 3 * 256 * 1024);
    const got: FilesMessage[] = [];
    const h = net.host("P");
    h.listen({
      message: (_peer, b) => {
        const m = decodeMessage(b);
        if (typeof m !== "string") got.push(m);
      },
      joined: () => {},
      left: () => {},
    });
    net.link("P", "S");
    const block = 60_000;
    const asked: [number, number][] = [];
    for (const index of [2, 0, 3, 1]) for (let off = 0; off < 256 * 1024; off += block) asked.push([index, off]);
    // All at once: the blocks of a chunk wait together, read as one run.
    await Promise.all(asked.map(([index, off]) => h.send("S", encodeRequest(shared.contentId, index, off, Math.min(block, 256 * 1024 - off)))));
    await vi.waitFor(() => expect(got).toHaveLength(asked.length));
    const data = got.filter((m): m is Extract<FilesMessage, { type: typeof MSG.DATA }> => m.type === MSG.DATA);
    // Served in the order asked, each block the file's own bytes at its place (no buffer reused too early).
    expect(data.map((m) => [m.index, m.offset])).toEqual(asked.filter(([index]) => index !== 3));
    for (const m of data) expect(Buffer.from(m.data).equals(bytes.subarray(m.index * 256 * 1024 + m.offset, m.index * 256 * 1024 + m.offset + m.data.length))).toBe(true);
    const refused = got.flatMap((m) => (m.type === MSG.REJECT ? [[m.index, m.offset]] : []));
    expect(refused).toEqual(asked.filter(([index]) => index === 3));
    await seeder.close();
  });
});
