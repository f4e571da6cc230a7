import { describe, expect, it, vi } from "vitest";
import { FileSwarm } from "../src/index.js";
import { MAX_UPLOAD_STATS } from "../src/constants.js";
import { MSG, decodeMessage, encodeRequest } from "../src/wire.js";
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
});
