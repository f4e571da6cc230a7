import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileSwarm } from "../src/index.js";
import { Bitfield } from "../src/bitfield.js";
import { MSG, decodeMessage, encodeBitfield, encodeRequest } from "../src/wire.js";
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

describe("a neighbour too slow to send the manifest", () => {
  it("stays a source: the download asks another for the manifest, then fetches from the slow one too once the seeder is gone", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const slowHost = net.host("P");
    const slow = new FileSwarm(slowHost);
    const downloader = new FileSwarm(net.host("D"), { requestTimeoutMs: 500, findTimeoutMs: 5_000 });
    const path = await randomFile(tmp.dir, "data.bin", 4 * 1024 * 1024);
    const shared = await seeder.share(path);
    net.link("S", "P");
    await slow.download(shared.contentId, { dir: join(tmp.dir, "p") });
    net.unlink("S", "P");
    // P holds every chunk but answers a manifest request only after the downloader has given up on it
    // (as a peer does on a loaded machine); everything else it sends at once.
    const send = slowHost.send.bind(slowHost);
    let asked = false;
    slowHost.send = (peer, bytes) => {
      const m = decodeMessage(bytes);
      if (typeof m === "string" || m.type !== MSG.MANIFEST) return send(peer, bytes);
      asked = true;
      return new Promise((resolve) => setTimeout(() => resolve(send(peer, bytes).catch(() => {})), 1_500));
    };
    net.link("D", "P");
    let got = 0;
    const d = downloader.download(shared.contentId, {
      dir: join(tmp.dir, "d"),
      // The seeder leaves halfway: the rest can only come from P.
      onChunk: () => {
        if (++got === shared.chunkCount / 2) net.unlink("S", "D");
      },
    });
    // P is asked first; the seeder is there by the time that request times out, and sends the manifest instead.
    await expect.poll(() => asked, { timeout: 5_000 }).toBe(true);
    net.link("S", "D");
    const result = await d;
    expect(await sha256Of(result.path)).toBe(await sha256Of(path));
    expect(result.sources.P ?? 0).toBeGreaterThan(0);
    await Promise.all([seeder.close(), slow.close(), downloader.close()]);
  });
});

describe("a download that completes", () => {
  it("keeps serving every chunk while it moves to its name: no request is rejected", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const a = new FileSwarm(net.host("A"));
    const asker = net.host("B");
    const answers = { data: 0, rejected: 0 };
    asker.listen({
      message: (_peer, bytes) => {
        const m = decodeMessage(bytes);
        if (typeof m === "string") return;
        if (m.type === MSG.DATA) answers.data++;
        if (m.type === MSG.REJECT) answers.rejected++;
        ask();
      },
      joined: () => {},
      left: () => {},
    });
    net.link("S", "A");
    net.link("A", "B");
    const path = await randomFile(tmp.dir, "data.bin", 2 * 1024 * 1024);
    const shared = await seeder.share(path);
    // From A's first chunk until its download has resolved, B asks A for that chunk again as soon as it is answered.
    let first = -1;
    let done = false;
    const ask = (): void => {
      if (!done && first >= 0) void asker.send("A", encodeRequest(shared.contentId, first, 0, shared.chunkSize)).catch(() => {});
    };
    const r = await a.download(shared.contentId, {
      dir: join(tmp.dir, "a"),
      onChunk: (index) => {
        if (first >= 0) return;
        first = index;
        ask();
      },
    });
    done = true;
    expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    await expect.poll(() => answers.data, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(answers.rejected).toBe(0);
    await Promise.all([seeder.close(), a.close()]);
  });
});

describe("a neighbour whose bitfield answers our want", () => {
  it("is told what we already hold, not only the chunks we gain later", async () => {
    await using tmp = await tempDir();
    const path = await randomFile(tmp.dir, "data.bin", 4 * 1024 * 1024);
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"), { uploadBytesPerSecond: 1024 * 1024 });
    const b = new FileSwarm(net.host("B"));
    const shared = await seeder.share(path);
    net.link("S", "B");
    let held = 0;
    const download = b.download(shared.contentId, { dir: join(tmp.dir, "b"), onChunk: () => held++ });
    await expect.poll(() => held, { timeout: 30_000 }).toBeGreaterThan(0);
    // A neighbour with none of the chunks answers B's want with its (empty) bitfield.
    const heard: number[] = [];
    const raw = net.host("A");
    raw.listen({
      message: (peer, bytes) => {
        const m = decodeMessage(bytes);
        if (typeof m === "string") return;
        if (m.type === MSG.WANT) void raw.send(peer, encodeBitfield(m.cid, shared.chunkCount, new Uint8Array(Math.ceil(shared.chunkCount / 8)))).catch(() => {});
        if (m.type === MSG.BITFIELD) heard.push(new Bitfield(m.size, m.bits).count);
      },
      joined: () => {},
      left: () => {},
    });
    const before = held;
    net.link("A", "B");
    await expect.poll(() => heard.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(heard[0]).toBeGreaterThanOrEqual(before);
    await download;
    await Promise.all([seeder.close(), b.close()]);
  });
});
