import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FILES_ERROR_CODES, FileSwarm, type DownloadProgress } from "../src/index.js";
import { MSG } from "../src/wire.js";
import { MemoryNet } from "./helpers/memory-net.js";
import { craftManifest, dataFor, rawPeer, rejectFor } from "./helpers/raw-peer.js";
import { randomFile, sha256Of, tempDir } from "./helpers/files.js";

describe("FileSwarm over neighbours", () => {
  it("downloads from a seeder and from another leecher, verified, and reports progress", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const a = new FileSwarm(net.host("A"));
    const b = new FileSwarm(net.host("B"));
    net.link("S", "A");
    net.link("S", "B");
    net.link("A", "B");
    const path = await randomFile(tmp.dir, "data.bin", 3 * 1024 * 1024 + 123);
    const shared = await seeder.share(path);
    expect(shared.contentId).toMatch(/^[0-9a-f]{64}$/);
    const events: DownloadProgress[] = [];
    const [ra, rb] = await Promise.all([
      a.download(shared.contentId, { dir: join(tmp.dir, "a"), onProgress: (p) => events.push(p) }),
      b.download(shared.contentId, { dir: join(tmp.dir, "b") }),
    ]);
    const want = await sha256Of(path);
    expect(await sha256Of(ra.path)).toBe(want);
    expect(await sha256Of(rb.path)).toBe(want);
    expect(ra.path).toBe(join(tmp.dir, "a", "data.bin"));
    expect(ra.fetchedChunks + ra.resumedChunks).toBe(shared.chunkCount);
    expect(events.at(-1)).toMatchObject({ done: true, bytesDone: shared.size, total: shared.size });
    // Nothing but the file is left in the folder: no partial, no sidecar.
    expect(await readdir(join(tmp.dir, "a"))).toEqual(["data.bin"]);
    await Promise.all([seeder.close(), a.close(), b.close()]);
  });

  it("verifies and writes chunks from the messages they came in when the host says they stay, and copies them out when not", async () => {
    await using tmp = await tempDir();
    const path = await randomFile(tmp.dir, "data.bin", 12 * 256 * 1024 + 777);
    const want = await sha256Of(path);
    for (const stable of [true, false]) {
      const net = new MemoryNet();
      const seeder = new FileSwarm(net.host("S"));
      const hostA = net.host("A");
      hostA.stableMessages = stable;
      const a = new FileSwarm(hostA);
      net.link("S", "A");
      const shared = await seeder.share(path);
      const r = await a.download(shared.contentId, { dir: join(tmp.dir, `stable-${stable}`) });
      // Not stable: the buffer each chunk came in was scribbled over before the chunk was written; a kept view would have written that.
      expect(await sha256Of(r.path)).toBe(want);
      expect(r.fetchedChunks).toBe(shared.chunkCount);
      await Promise.all([seeder.close(), a.close()]);
    }
  });

  it("asks one source for its chunks in a run from a random place (wrapping once), not scattered", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const hostA = net.host("A");
    hostA.record = true;
    const a = new FileSwarm(hostA);
    net.link("S", "A");
    const path = await randomFile(tmp.dir, "data.bin", 40 * 256 * 1024);
    const shared = await seeder.share(path);
    const r = await a.download(shared.contentId, { dir: join(tmp.dir, "a") });
    expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    const asked = hostA.sentMessages.filter((m) => m.bytes[0] === MSG.REQUEST).map((m) => new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(33));
    const n = shared.chunkCount;
    expect(asked).toEqual(Array.from({ length: n }, (_, k) => (asked[0]! + k) % n));
    await Promise.all([seeder.close(), a.close()]);
  });

  it("tells the other leechers of each chunk it gains, but not a seeder that holds them all", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const hostA = net.host("A");
    hostA.record = true;
    const a = new FileSwarm(hostA);
    const b = new FileSwarm(net.host("B"));
    net.link("S", "A");
    net.link("S", "B");
    net.link("A", "B");
    const path = await randomFile(tmp.dir, "data.bin", 3 * 1024 * 1024);
    const shared = await seeder.share(path);
    const [ra] = await Promise.all([a.download(shared.contentId, { dir: join(tmp.dir, "a") }), b.download(shared.contentId, { dir: join(tmp.dir, "b") })]);
    expect(await sha256Of(ra.path)).toBe(await sha256Of(path));
    const haves = (to: string): number => hostA.sentMessages.filter((m) => m.to === to && m.bytes[0] === MSG.HAVE).length;
    expect(haves("S")).toBe(0);
    expect(haves("B")).toBeGreaterThan(0);
    await Promise.all([seeder.close(), a.close(), b.close()]);
  });

  it("refuses a liar's chunks, drops it, and still ends with the right file", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const honest = new FileSwarm(net.host("H"), { uploadBytesPerSecond: 4 * 1024 * 1024 });
    const liar = new FileSwarm(net.host("L"));
    const leech = new FileSwarm(net.host("X"));
    const path = await randomFile(tmp.dir, "data.bin", 2 * 1024 * 1024);
    // The same name and bytes give the same content id.
    await mkdir(join(tmp.dir, "liar"));
    const copy = join(tmp.dir, "liar", "data.bin");
    await copyFile(path, copy);
    const shared = await honest.share(path);
    await liar.share(copy);
    // The liar now serves other bytes under the same content id.
    await writeFile(copy, randomBytes(2 * 1024 * 1024));
    net.link("H", "X");
    net.link("L", "X");
    const r = await leech.download(shared.contentId, { dir: join(tmp.dir, "x") });
    expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    expect(r.rejectedChunks).toBeGreaterThan(0);
    expect(net.misbehaviours).toContainEqual(["X", "L", FILES_ERROR_CODES.BAD_CHUNK]);
    await Promise.all([honest.close(), liar.close(), leech.close()]);
  });

  it("fetches a slow peer's chunks elsewhere and gives it fewer", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const slow = new FileSwarm(net.host("SLOW"), { uploadBytesPerSecond: 64 * 1024 });
    const fast = new FileSwarm(net.host("FAST"));
    const leech = new FileSwarm(net.host("X"), { requestTimeoutMs: 500 });
    const path = await randomFile(tmp.dir, "data.bin", 4 * 1024 * 1024);
    const shared = await slow.share(path);
    await fast.share(path);
    net.link("SLOW", "X");
    net.link("FAST", "X");
    const r = await leech.download(shared.contentId, { dir: join(tmp.dir, "x") });
    expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    expect(r.sources.FAST ?? 0).toBeGreaterThan(r.sources.SLOW ?? 0);
    await Promise.all([slow.close(), fast.close(), leech.close()]);
  });

  it("asks again, later, a peer that refused chunks it announced, and gets them once it can serve them", async () => {
    await using tmp = await tempDir();
    const data = randomBytes(64 * 1024);
    const crafted = craftManifest("data.bin", data, 16 * 1024);
    const net = new MemoryNet();
    // Busy at first: it refuses every request until it has been asked what it holds a second time.
    const peer = rawPeer(net.host("R"), {
      manifest: crafted.bytes,
      chunks: 4,
      answer: (m) => (peer.wants < 2 ? rejectFor(m) : dataFor(m, data.subarray(m.index * 16 * 1024 + m.offset, m.index * 16 * 1024 + m.offset + m.length))),
    });
    const leech = new FileSwarm(net.host("X"), { findTimeoutMs: 8_000 });
    net.link("R", "X");
    const r = await leech.download(crafted.contentId, { dir: join(tmp.dir, "x") });
    expect(Buffer.compare(await readFile(r.path), data)).toBe(0);
    expect(r.sources).toEqual({ R: 4 });
    expect(peer.wants).toBeGreaterThanOrEqual(2);
    await leech.close();
  });

  it("resumes from the verified chunks of an aborted download", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"), { uploadBytesPerSecond: 2 * 1024 * 1024 });
    const leech = new FileSwarm(net.host("X"));
    net.link("S", "X");
    const path = await randomFile(tmp.dir, "data.bin", 4 * 1024 * 1024);
    const shared = await seeder.share(path);
    const stop = new AbortController();
    const dir = join(tmp.dir, "x");
    const first = leech.download(shared.contentId, {
      dir,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.bytesDone >= 1024 * 1024) stop.abort();
      },
    });
    await expect(first).rejects.toMatchObject({ code: FILES_ERROR_CODES.ABORTED });
    const r = await leech.download(shared.contentId, { dir });
    expect(r.resumedChunks).toBeGreaterThanOrEqual(4);
    expect(r.resumedChunks + r.fetchedChunks).toBe(shared.chunkCount);
    expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    await Promise.all([seeder.close(), leech.close()]);
  });

  it("a share still reading its file when the swarm closes fails as closed, holding no file open", async () => {
    await using tmp = await tempDir();
    const path = await randomFile(tmp.dir, "big.bin", 8 * 1024 * 1024);
    const swarm = new FileSwarm(new MemoryNet().host("S"));
    const sharing = swarm.share(path);
    await swarm.close();
    await expect(sharing).rejects.toMatchObject({ code: FILES_ERROR_CODES.CLOSED });
  });

  it("fails with NOT_FOUND when no neighbour has the content", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const leech = new FileSwarm(net.host("X"), { findTimeoutMs: 300 });
    await expect(leech.download("ab".repeat(32), { dir: tmp.dir })).rejects.toMatchObject({ code: FILES_ERROR_CODES.NOT_FOUND });
    await expect(leech.download("not an id", { dir: tmp.dir })).rejects.toMatchObject({ code: FILES_ERROR_CODES.INVALID_ARGUMENT });
    await leech.close();
  });
});

describe("a content downloaded twice", () => {
  it("into a second folder, while this node serves a whole copy: the whole copy stays served", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const a = new FileSwarm(net.host("A"));
    const b = new FileSwarm(net.host("B"));
    net.link("S", "A");
    net.link("A", "B");
    const path = await randomFile(tmp.dir, "data.bin", 1024 * 1024);
    const shared = await seeder.share(path);
    await a.download(shared.contentId, { dir: join(tmp.dir, "a1") });
    await a.download(shared.contentId, { dir: join(tmp.dir, "a2") });
    // B reaches the content only through A.
    const r = await b.download(shared.contentId, { dir: join(tmp.dir, "b") });
    expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    expect(r.sources).toEqual({ A: shared.chunkCount });
    await Promise.all([seeder.close(), a.close(), b.close()]);
  });
});

describe("an empty file", () => {
  it("is shared and downloaded (one empty chunk, nothing fetched)", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const leech = new FileSwarm(net.host("X"));
    net.link("S", "X");
    const path = await randomFile(tmp.dir, "empty.txt", 0);
    const shared = await seeder.share(path);
    const r = await leech.download(shared.contentId, { dir: join(tmp.dir, "x") });
    expect(r).toMatchObject({ size: 0, fetchedChunks: 0, path: join(tmp.dir, "x", "empty.txt") });
    expect(await readdir(join(tmp.dir, "x"))).toEqual(["empty.txt"]);
    await Promise.all([seeder.close(), leech.close()]);
  });
});
