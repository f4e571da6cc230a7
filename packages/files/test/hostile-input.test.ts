import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FILES_ERROR_CODES, FileSwarm } from "../src/index.js";
import { decodeMessage } from "../src/wire.js";
import { MemoryNet } from "./helpers/memory-net.js";
import { craftManifest, dataFor, rawPeer, rejectFor } from "./helpers/raw-peer.js";
import { randomFile, sha256Of, tempDir } from "./helpers/files.js";

const KiB = 1024;

describe("bad input from neighbours", () => {
  it("a manifest with an absurd size or chunk count is refused, its sender dropped, and nothing is written", async () => {
    await using tmp = await tempDir();
    const cases = [
      craftManifest("a.bin", new Uint8Array(0), 16 * KiB, { size: 2 ** 52, hashes: 1 }), // 2^38 chunks announced
      craftManifest("b.bin", new Uint8Array(0), 3 * KiB, { size: 10, hashes: 1 }), // chunk size not allowed
      craftManifest("c.bin", new Uint8Array(100), 16 * KiB, { size: 100, hashes: 7 }), // hashes for chunks that do not exist
    ];
    for (const [i, crafted] of cases.entries()) {
      const net = new MemoryNet();
      rawPeer(net.host("R"), { manifest: crafted.bytes, chunks: 1 });
      const leech = new FileSwarm(net.host("X"), { findTimeoutMs: 300 });
      net.link("R", "X");
      const dir = join(tmp.dir, `case-${i}`);
      await expect(leech.download(crafted.contentId, { dir })).rejects.toMatchObject({ code: FILES_ERROR_CODES.NOT_FOUND });
      expect(net.misbehaviours).toEqual([["X", "R", FILES_ERROR_CODES.INVALID_MANIFEST]]);
      await expect(readdir(dir)).rejects.toMatchObject({ code: "ENOENT" });
      await leech.close();
    }
  });

  it("content over maxFileSize is refused before anything is written", async () => {
    await using tmp = await tempDir();
    const crafted = craftManifest("big.bin", new Uint8Array(64 * KiB), 16 * KiB);
    const net = new MemoryNet();
    rawPeer(net.host("R"), { manifest: crafted.bytes, chunks: 4 });
    const leech = new FileSwarm(net.host("X"), { maxFileSize: 1000 });
    net.link("R", "X");
    await expect(leech.download(crafted.contentId, { dir: tmp.dir })).rejects.toMatchObject({ code: FILES_ERROR_CODES.TOO_LARGE });
    expect(await readdir(tmp.dir)).toEqual([]);
    await leech.close();
  });

  it("a name with path traversal and control characters lands, made safe, inside the download folder", async () => {
    await using tmp = await tempDir();
    const data = randomBytes(40 * KiB);
    const crafted = craftManifest("../../escape\u001b[31m\u202Etxt.exe", data, 16 * KiB);
    const net = new MemoryNet();
    rawPeer(net.host("R"), { manifest: crafted.bytes, chunks: 3, answer: (m) => dataFor(m, data.subarray(m.index * 16 * KiB + m.offset, m.index * 16 * KiB + m.offset + m.length)) });
    const leech = new FileSwarm(net.host("X"));
    net.link("R", "X");
    const dir = join(tmp.dir, "in");
    const r = await leech.download(crafted.contentId, { dir });
    expect(r.path).toBe(join(dir, "_.._escape[31mtxt.exe"));
    expect(r.name).toBe("_.._escape[31mtxt.exe");
    expect(await readdir(dir)).toEqual(["_.._escape[31mtxt.exe"]);
    expect(await readdir(tmp.dir)).toEqual(["in"]);
    expect(Buffer.compare(await readFile(r.path), data)).toBe(0);
    await leech.close();
  });

  it("a chunk of the wrong length or hash is refused, its sender dropped, and the chunk fetched elsewhere", async () => {
    await using tmp = await tempDir();
    const path = await randomFile(tmp.dir, "data.bin", 64 * KiB);
    const data = await readFile(path);
    for (const bad of ["short", "hash"] as const) {
      const net = new MemoryNet();
      const honest = new FileSwarm(net.host("H"), { uploadBytesPerSecond: 16 * KiB });
      const shared = await honest.share(path);
      const crafted = craftManifest("data.bin", data, shared.chunkSize);
      expect(crafted.contentId).toBe(shared.contentId);
      rawPeer(net.host("R"), {
        manifest: crafted.bytes,
        chunks: shared.chunkCount,
        answer: (m) => dataFor(m, bad === "short" ? new Uint8Array(m.length - 1) : new Uint8Array(m.length)),
      });
      const leech = new FileSwarm(net.host("X"));
      net.link("R", "X");
      net.link("H", "X");
      const r = await leech.download(shared.contentId, { dir: join(tmp.dir, bad) });
      expect(await sha256Of(r.path)).toBe(await sha256Of(path));
      expect(r.rejectedChunks).toBe(1);
      expect(net.misbehaviours).toEqual([["X", "R", FILES_ERROR_CODES.BAD_CHUNK]]);
      await Promise.all([honest.close(), leech.close()]);
    }
  });

  it("a peer that announces chunks it lacks (refusing or never answering) does not stop the download", async () => {
    await using tmp = await tempDir();
    const path = await randomFile(tmp.dir, "data.bin", 1024 * KiB);
    const data = await readFile(path);
    for (const mode of ["refuses", "silent"] as const) {
      const net = new MemoryNet();
      const honest = new FileSwarm(net.host("H"), { uploadBytesPerSecond: 1024 * KiB });
      const shared = await honest.share(path);
      const crafted = craftManifest("data.bin", data, shared.chunkSize);
      const liar = rawPeer(net.host("R"), { manifest: crafted.bytes, chunks: shared.chunkCount, answer: mode === "refuses" ? rejectFor : undefined });
      const leech = new FileSwarm(net.host("X"), { requestTimeoutMs: 200 });
      net.link("R", "X");
      net.link("H", "X");
      const r = await leech.download(shared.contentId, { dir: join(tmp.dir, mode) });
      expect(await sha256Of(r.path)).toBe(await sha256Of(path));
      expect(liar.requests).toBeGreaterThan(0);
      expect(r.sources).toEqual({ H: shared.chunkCount });
      await Promise.all([honest.close(), leech.close()]);
    }
  });

  it("malformed messages drop their sender", async () => {
    const net = new MemoryNet();
    const swarm = new FileSwarm(net.host("X"));
    const r = net.host("R");
    r.listen({ message: () => {}, joined: () => {}, left: () => {} });
    net.link("R", "X");
    await r.send("X", new Uint8Array([1, 2, 3]));
    expect(net.misbehaviours).toEqual([["X", "R", FILES_ERROR_CODES.PROTOCOL_VIOLATION]]);
    for (const bytes of [new Uint8Array(33).fill(0), Uint8Array.of(2, ...new Uint8Array(32), 0xff, 0xff, 0xff, 0xff)]) expect(typeof decodeMessage(bytes)).toBe("string");
    await swarm.close();
  });
});

function tmpfsAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to mount a small tmpfs";
  return undefined;
}

const noTmpfs = tmpfsAvailable();
if (noTmpfs !== undefined) console.log(`[skip] disk-full test: ${noTmpfs}`);

describe.skipIf(noTmpfs !== undefined)("a full disk", () => {
  it("fails with DISK_FULL, keeps the verified part, writes nothing under the final name, and resumes once there is room", async () => {
    await using tmp = await tempDir();
    const mnt = join(tmp.dir, "small");
    await mkdir(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]);
    const net = new MemoryNet();
    const seeder = new FileSwarm(net.host("S"));
    const leech = new FileSwarm(net.host("X"));
    try {
      net.link("S", "X");
      const path = await randomFile(tmp.dir, "data.bin", 3 * 1024 * KiB);
      const shared = await seeder.share(path);
      await expect(leech.download(shared.contentId, { dir: mnt })).rejects.toMatchObject({ code: FILES_ERROR_CODES.DISK_FULL });
      const left = await readdir(mnt);
      expect(left).not.toContain("data.bin");
      expect(left.some((n) => n.endsWith(".part"))).toBe(true);
      execFileSync("mount", ["-o", "remount,size=8m", mnt]);
      const r = await leech.download(shared.contentId, { dir: mnt });
      expect(r.resumedChunks).toBeGreaterThan(0);
      expect(await sha256Of(r.path)).toBe(await sha256Of(path));
    } finally {
      await Promise.all([seeder.close(), leech.close()]);
      // Lazy: a handle still closing must not leave the mount behind.
      execFileSync("umount", ["-l", mnt]);
    }
  });
});
