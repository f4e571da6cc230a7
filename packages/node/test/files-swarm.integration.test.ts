// Files, the swarm way, across OS processes over TCP on loopback (issue 12):
// each node is a Playground of the built package in a process of its own.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "./helpers.js";

const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
if (!built) console.log("[skip] swarm file tests: packages/node is not built; run `pnpm test` from the root (it builds first).");
const SCRIPT = fileURLToPath(new URL("./fixtures/files-peer.mjs", import.meta.url));
const MiB = 1024 * 1024;

type Event = { event: string; id?: number } & Record<string, unknown>;
interface Result {
  path: string;
  resumedChunks: number;
  fetchedChunks: number;
  sources: Record<string, number>;
  rejectedChunks: number;
}

class FilesPeer {
  readonly events: Event[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  /** Chunk indexes this peer verified, as it reported them. */
  readonly chunks = new Set<number>();
  peerId = "";
  port = 0;
  #nextId = 0;

  constructor(files: Record<string, number> = {}) {
    this.child = spawn(process.execPath, [SCRIPT, JSON.stringify(files)], { stdio: "pipe" });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const e = JSON.parse(line) as Event;
      this.events.push(e);
      if (e.event === "chunks") for (const c of e.chunks as number[]) this.chunks.add(c);
    });
    this.child.stderr.on("data", (d: Buffer) => this.stderr.push(d.toString()));
  }

  async ready(): Promise<this> {
    await until(() => this.events.some((e) => e.event === "ready"), 60_000, `a peer process starts ${this.stderr.join("")}`);
    const ready = this.events.find((e) => e.event === "ready")!;
    this.peerId = ready.peerId as string;
    this.port = ready.port as number;
    return this;
  }

  send(cmd: Record<string, unknown>): number {
    const id = ++this.#nextId;
    this.child.stdin.write(JSON.stringify({ ...cmd, id }) + "\n");
    return id;
  }

  async call(cmd: Record<string, unknown>, timeoutMs = 60_000): Promise<Event> {
    const id = this.send(cmd);
    await until(() => this.events.some((e) => e.id === id && e.event !== "chunks"), timeoutMs, `answer to ${JSON.stringify(cmd)} ${this.stderr.join("")}`);
    const answer = this.events.find((e) => e.id === id && e.event !== "chunks")!;
    if (answer.event === "op-error") throw new Error(`${String(cmd.op)} failed: ${String(answer.message)}`);
    return answer;
  }

  join(other: FilesPeer): Promise<Event> {
    return this.call({ op: "join", port: other.port });
  }

  /** Starts a download; `finished` waits for its end. */
  download(contentId: string, dir: string): number {
    return this.send({ op: "download", contentId, dir });
  }

  async finished(id: number, timeoutMs: number): Promise<Result> {
    await until(() => this.events.some((e) => e.id === id && (e.event === "downloaded" || e.event === "download-error")), timeoutMs, `download ${id} ${this.stderr.join("")}`);
    const e = this.events.find((x) => x.id === id && (x.event === "downloaded" || x.event === "download-error"))!;
    if (e.event === "download-error") {
      // The node's own errors (a dropped peer, a violation) tell why no source was left.
      const errors = this.events.filter((x) => x.event === "error").map((x) => `${String(x.code)} from ${String(x.peerId)}`);
      throw new Error(`download failed: ${String(e.code)} ${String(e.message)} (with ${this.chunks.size} chunks; node errors: ${errors.join("; ") || "none"})`);
    }
    return e.result as Result;
  }

  get exited(): Promise<void> {
    return new Promise((resolve) => (this.child.exitCode !== null || this.child.signalCode !== null ? resolve() : this.child.once("exit", () => resolve())));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

const peers: FilesPeer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.kill();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function start(count: number, files: Record<string, number> = {}): Promise<FilesPeer[]> {
  const list = Array.from({ length: count }, () => new FilesPeer(files));
  peers.push(...list);
  return Promise.all(list.map((p) => p.ready()));
}

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "xppg-swarm-"));
  dirs.push(dir);
  return dir;
}

/** A file of random bytes written a MiB at a time (never held whole). */
async function randomFile(path: string, size: number): Promise<string> {
  const fh = await open(path, "w");
  for (let at = 0; at < size; at += MiB) await fh.write(randomBytes(Math.min(MiB, size - at)));
  await fh.close();
  return path;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Each peer joined to every other. */
async function joinAll(list: FilesPeer[]): Promise<void> {
  for (let i = 1; i < list.length; i++) for (let j = 0; j < i; j++) await list[i]!.join(list[j]!);
}

describe.skipIf(!built)("files, the swarm way, across processes on loopback", () => {
  it("200 MiB: one seeder and three leechers end with identical hashes, and the leechers fetch from each other", { timeout: 600_000 }, async () => {
    const dir = await workDir();
    const size = 200 * MiB;
    const started = performance.now();
    // The seeder is paced, so the leechers' exchange among themselves counts.
    const [seeder, ...leechers] = [(await start(1, { uploadBytesPerSecond: 60 * MiB }))[0]!, ...(await start(3))];
    await joinAll([seeder, ...leechers]);
    const file = await randomFile(join(dir, "random.bin"), size);
    const shared = await seeder.call({ op: "share", path: file });
    const ids = leechers.map((l, i) => l.download(shared.contentId as string, join(dir, `leecher-${i}`)));
    const results = await Promise.all(leechers.map((l, i) => l.finished(ids[i]!, 500_000)));
    const want = await sha256(file);
    for (const r of results) expect(await sha256(r.path)).toBe(want);
    const fromEachOther = results.map((r) => Object.entries(r.sources).filter(([peer]) => peer !== seeder.peerId).reduce((n, [, c]) => n + c, 0));
    console.log(`[files] 200 MiB to 3 leechers in ${((performance.now() - started) / 1000).toFixed(1)} s; chunks each fetched from the other leechers: ${fromEachOther.join(", ")} of ${shared.chunkCount as number}`);
    expect(fromEachOther.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it("the seeder is killed once the leechers hold every chunk between them: they complete from each other", { timeout: 300_000 }, async () => {
    const dir = await workDir();
    // A fast seeder and slow leechers: when the seeder dies the leechers hold about half each.
    const [seeder, ...leechers] = [(await start(1, { uploadBytesPerSecond: 32 * MiB }))[0]!, ...(await start(3, { uploadBytesPerSecond: 2 * MiB }))];
    await joinAll([seeder, ...leechers]);
    const file = await randomFile(join(dir, "random.bin"), 48 * MiB);
    const shared = await seeder.call({ op: "share", path: file });
    const count = shared.chunkCount as number;
    // The first leecher starts alone; the others once it holds a chunk. So its want reached them before they were
    // downloading, and their answers to it came before they had the manifest: under load that order is common.
    const ids = [leechers[0]!.download(shared.contentId as string, join(dir, "leecher-0"))];
    await until(() => leechers[0]!.chunks.size > 0, 120_000, "the first leecher to hold a chunk");
    for (const [i, l] of leechers.entries()) if (i > 0) ids.push(l.download(shared.contentId as string, join(dir, `leecher-${i}`)));
    const union = (): number => new Set(leechers.flatMap((l) => [...l.chunks])).size;
    await until(() => union() === count, 240_000, "the leechers to hold every chunk between them");
    const heldAtKill = leechers.map((l) => l.chunks.size);
    seeder.kill();
    await seeder.exited;
    const results = await Promise.all(leechers.map((l, i) => l.finished(ids[i]!, 240_000)));
    const want = await sha256(file);
    for (const r of results) expect(await sha256(r.path)).toBe(want);
    console.log(`[files] seeder killed with the leechers at ${heldAtKill.join(", ")} of ${count} chunks`);
    // Whoever lacked chunks when the seeder died got them from the other leechers.
    expect(heldAtKill.some((n) => n < count)).toBe(true);
  });

  it("a downloader killed with SIGKILL midway resumes from the chunks on its disk", { timeout: 300_000 }, async () => {
    const dir = await workDir();
    const [seeder] = await start(1, { uploadBytesPerSecond: 16 * MiB });
    const file = await randomFile(join(dir, "random.bin"), 48 * MiB);
    const shared = await seeder!.call({ op: "share", path: file });
    const count = shared.chunkCount as number;
    const target = join(dir, "leecher");
    const [first] = await start(1);
    await first!.join(seeder!);
    first!.download(shared.contentId as string, target);
    await until(() => first!.chunks.size >= count / 2, 240_000, "half of the chunks");
    first!.kill();
    await first!.exited;
    const before = first!.chunks.size;
    // Nothing is under the final name yet: only the partial file and its sidecar.
    expect((await readdir(target)).every((n) => n.startsWith(".xppg-"))).toBe(true);
    const [second] = await start(1);
    await second!.join(seeder!);
    const r = await second!.finished(second!.download(shared.contentId as string, target), 240_000);
    expect(await sha256(r.path)).toBe(await sha256(file));
    const refetched = Math.max(0, before - r.resumedChunks);
    console.log(`[files] SIGKILL at ${before} of ${count} chunks; resumed ${r.resumedChunks}, fetched again ${refetched}`);
    expect(r.resumedChunks).toBeGreaterThan(0);
    expect(r.resumedChunks + r.fetchedChunks).toBe(count);
  });

  it("a lying peer's chunks are refused, it is dropped, and the file is still right", { timeout: 300_000 }, async () => {
    const dir = await workDir();
    const [honest, liar, leecher] = await start(3);
    const file = await randomFile(join(dir, "random.bin"), 16 * MiB);
    await mkdir(join(dir, "liar"));
    const copy = join(dir, "liar", "random.bin");
    await copyFile(file, copy);
    const shared = await honest!.call({ op: "share", path: file });
    await liar!.call({ op: "share", path: copy });
    // Other bytes under the same content id: every chunk the liar sends is wrong.
    await randomFile(copy, 16 * MiB);
    // The liar is the only source at first, so the leecher must ask it (with the honest seeder there too, the
    // leecher could finish from it first and the test prove nothing); the honest seeder joins once the liar is dropped.
    await leecher!.join(liar!);
    const download = leecher!.download(shared.contentId as string, join(dir, "leecher"));
    await until(() => leecher!.events.some((e) => e.event === "error" && e.peerId === liar!.peerId), 120_000, "the liar is dropped");
    await leecher!.join(honest!);
    const r = await leecher!.finished(download, 240_000);
    expect(await sha256(r.path)).toBe(await sha256(file));
    expect(r.rejectedChunks).toBeGreaterThan(0);
    expect(r.sources[liar!.peerId]).toBeUndefined();
    expect(leecher!.events.some((e) => e.event === "error" && e.peerId === liar!.peerId && e.code === "XPPG_ERR_PROTOCOL_VIOLATION")).toBe(true);
  });
});
