import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { memoryTransport } from "@xppg/transport";
import type { XppgError } from "@xppg/errors";
import type { PushProgress } from "@xppg/files";
import { PROTOCOL_VERSION, Playground, type Playground as PG } from "../src/index.js";
import { node, RawPeer, stopNodesAfterEach, until } from "./helpers.js";

stopNodesAfterEach();
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "xppg-files-room-"));
  dirs.push(dir);
  return dir;
}

async function rawMember(target: PG, caps: string[]): Promise<RawPeer> {
  const raw = await RawPeer.dial(memoryTransport(), target.addresses[0]!);
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps, peerId: raw.peerId, listen: [], agent: "raw" });
  await raw.send("xppg/welcome", null);
  await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "raw peer admitted");
  return raw;
}

describe("pg.files (capability files/2)", () => {
  it("shares a file by content id and downloads it into the node's downloadDir", async () => {
    const dir = await workDir();
    const a = await node();
    const b = await node("test-app", { downloadDir: join(dir, "b") });
    await b.join(a.addresses[0]!);
    const data = randomBytes(700 * 1024);
    await writeFile(join(dir, "photo.jpg"), data);
    const shared = await a.files.share(join(dir, "photo.jpg"));
    expect(b.peers[0]!.capabilities).toContain("files/2");
    const got = await b.files.download(shared.contentId);
    expect(got.path).toBe(join(dir, "b", "photo.jpg"));
    expect(createHash("sha256").update(await readFile(got.path)).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    expect(got.sources).toEqual({ [a.peerId]: shared.chunkCount });
    expect(a.files.uploaded.get(b.peerId)).toBe(data.length);
  });

  it("shareFile to a files-push/1 peer goes through the swarm: verified chunks, and the receivers fetch from each other", async () => {
    const dir = await workDir();
    // A slow sender: the two receivers, joined to each other, get much of it from each other.
    const hub = await node("test-app", { downloadDir: join(dir, "hub"), files: { uploadBytesPerSecond: 2 * 1024 * 1024 } });
    const x = await node("test-app", { downloadDir: join(dir, "x") });
    const y = await node("test-app", { downloadDir: join(dir, "y") });
    await x.join(hub.addresses[0]!);
    await y.join(hub.addresses[0]!);
    await y.join(x.addresses[0]!);
    await until(() => hub.peers.length === 2 && x.peers.length === 2, 5000, "three joined");
    expect(x.peers.find((p) => p.peerId === hub.peerId)!.capabilities).toContain("files-push/1");
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, "clip.mp4"), data);
    const progress: PushProgress[] = [];
    const sent = await hub.shareFile(join(dir, "clip.mp4"), { onProgress: (p) => progress.push(p) });
    const sha256 = createHash("sha256").update(data).digest("hex");
    expect(sent).toEqual({ name: "clip.mp4", size: data.length, sha256, peers: expect.arrayContaining([x.peerId, y.peerId]) });
    // The sender heard how far the receivers were, and once that both hold it.
    expect(progress.at(-1)).toMatchObject({ name: "clip.mp4", done: true, bytesDone: 2 * data.length, total: 2 * data.length, delivered: 2, peers: 0 });
    await expect(hub.shareFile(join(dir, "clip.mp4"), { onProgress: 1 as never })).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    for (const name of ["x", "y"]) expect(createHash("sha256").update(await readFile(join(dir, name, "clip.mp4"))).digest("hex")).toBe(sha256);
    // Served in chunks by the swarm (the whole-file stream counts nothing here), partly by the receivers to each other.
    const fromHub = (hub.files.uploaded.get(x.peerId) ?? 0) + (hub.files.uploaded.get(y.peerId) ?? 0);
    const between = (x.files.uploaded.get(y.peerId) ?? 0) + (y.files.uploaded.get(x.peerId) ?? 0);
    expect(fromHub + between).toBeGreaterThanOrEqual(2 * data.length);
    expect(between).toBeGreaterThan(0);
  });

  it("a download asks a peer for no more than the node's own byte limit takes from it, so the limit never drops the source", async () => {
    const dir = await workDir();
    const a = await node();
    // 1 MiB a second from one peer, 1 MiB above it at most: a 3 MiB file asked for at full speed would break it.
    const b = await node("test-app", { downloadDir: join(dir, "b"), limits: { bytesPerSecond: 1024 * 1024, byteBurst: 1024 * 1024 } });
    await b.join(a.addresses[0]!);
    const errors: XppgError[] = [];
    b.events.on("error", (e) => void errors.push(e));
    const data = randomBytes(3 * 1024 * 1024);
    await writeFile(join(dir, "big.bin"), data);
    const shared = await a.files.share(join(dir, "big.bin"));
    const got = await b.files.download(shared.contentId);
    expect(createHash("sha256").update(await readFile(got.path)).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    expect(got.sources).toEqual({ [a.peerId]: shared.chunkCount });
    expect(errors.map((e) => e.code)).toEqual([]);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);
  }, 20_000);

  it("shareFile to a peer without files-push/1 (an earlier release) streams the file whole, as before", async () => {
    const dir = await workDir();
    const a = await node();
    const raw = await rawMember(a, ["files/2"]);
    await writeFile(join(dir, "note.txt"), "hello");
    void a.shareFile(join(dir, "note.txt"), raw.peerId).catch(() => {});
    await until(() => raw.received.some((m) => m.kind === "xppg/file-offer"), 5000, "a whole-file offer");
    expect(raw.received.some((m) => m.kind === "xppg/files")).toBe(false);
    expect(a.files.uploaded.size).toBe(0);
  });

  it("drops a peer that sends a files message without having settled files/2", async () => {
    const pg = await node();
    const errors: XppgError[] = [];
    pg.events.on("error", (e) => void errors.push(e));
    const raw = await rawMember(pg, ["mesh/1"]);
    await raw.send("xppg/files", Uint8Array.of(1, ...new Uint8Array(32)));
    await until(() => pg.peers.length === 0, 5000, "the raw peer dropped");
    expect(errors.map((e) => e.code)).toContain("XPPG_ERR_PROTOCOL_VIOLATION");
  });

  it("asks a files/2 neighbour for a content, and drops it for a malformed answer", async () => {
    const dir = await workDir();
    const pg = await node("test-app", { downloadDir: dir, files: { findTimeoutMs: 60_000 } });
    const raw = await rawMember(pg, ["files/2"]);
    const id = "ab".repeat(32);
    const download = pg.files.download(id);
    await until(() => raw.received.some((m) => m.kind === "xppg/files" && (m.payload as Uint8Array)[0] === 1), 5000, "a want");
    await raw.send("xppg/files", Uint8Array.of(2, ...Buffer.from(id, "hex"), 0, 0, 0, 0));
    await until(() => pg.peers.length === 0, 5000, "the raw peer dropped");
    await pg.stop();
    await expect(download).rejects.toMatchObject({ code: "XPPG_ERR_FILES_CLOSED" });
  });

  it("checks the files option", () => {
    expect(() => new Playground("app", { files: { uploadBytesPerSecnd: 5 } as never })).toThrow(/did you mean "uploadBytesPerSecond"/);
    expect(() => new Playground("app", { files: { maxInFlightPerPeer: 0 } })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });
});
