import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { FILES_ERROR_CODES, FileSwarm, type DownloadResult, type FilesError, type PushProgress, type PushReceiver } from "../src/index.js";
import { PUSH_SILENCE_MS } from "../src/push.js";
import { MemoryNet } from "./helpers/memory-net.js";
import { randomFile, sha256Of, tempDir } from "./helpers/files.js";

function receiver(dir: string, accept?: PushReceiver["accept"]): PushReceiver & { got: DownloadResult[]; errors: FilesError[] } {
  const got: DownloadResult[] = [];
  const errors: FilesError[] = [];
  return { dir, accept, got, errors, received: (_from, r) => void got.push(r), failed: (_from, e) => void errors.push(e) };
}

describe("pushing a file", () => {
  it("each receiver downloads it the swarm way, verified, from the sender and from each other", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const a = receiver(join(tmp.dir, "a"));
    const b = receiver(join(tmp.dir, "b"));
    const sender = new FileSwarm(net.host("S"));
    const sa = new FileSwarm(net.host("A"), { pushes: a });
    const sb = new FileSwarm(net.host("B"), { pushes: b });
    net.link("S", "A");
    net.link("S", "B");
    net.link("A", "B");
    const path = await randomFile(tmp.dir, "photo.jpg", 2 * 1024 * 1024 + 5);
    const pushed = await sender.push(path, ["A", "B"]);
    const content = await readFile(path);
    expect(pushed).toMatchObject({ name: "photo.jpg", size: content.length, sha256: createHash("sha256").update(content).digest("hex"), delivered: expect.arrayContaining(["A", "B"]) });
    expect(pushed.refusals.size).toBe(0);
    for (const r of [a, b]) {
      expect(r.got).toHaveLength(1);
      expect(await sha256Of(r.got[0]!.path)).toBe(pushed.sha256);
      expect(await readdir(r.dir)).toEqual(["photo.jpg"]);
    }
    // The push's own share ended with it: nothing is served from the sender once it is done.
    expect(await sender.unshare(pushed.contentId)).toBe(false);
    await Promise.all([sender.close(), sa.close(), sb.close()]);
  });

  it("tells the sender how far its receivers are, a receiver that declines taken out of the total, and once at the end", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const a = receiver(join(tmp.dir, "a"));
    const picky = receiver(join(tmp.dir, "picky"), () => "not now");
    // Paced, so the push takes a few ticks of its progress.
    const sender = new FileSwarm(net.host("S"), { uploadBytesPerSecond: 512 * 1024 });
    const sa = new FileSwarm(net.host("A"), { pushes: a });
    const sp = new FileSwarm(net.host("P"), { pushes: picky });
    net.link("S", "A");
    net.link("S", "P");
    const path = await randomFile(tmp.dir, "video.bin", 1536 * 1024 + 9);
    const events: PushProgress[] = [];
    const pushed = await sender.push(path, ["A", "P"], { onProgress: (p) => events.push(p) });
    expect(pushed.delivered).toEqual(["A"]);
    const size = pushed.size;
    expect(events.at(-1)).toMatchObject({ contentId: pushed.contentId, name: "video.bin", done: true, bytesDone: size, total: size, peers: 0, delivered: 1, etaMs: 0 });
    expect(events.filter((e) => e.done)).toHaveLength(1);
    // Counted as it was served: seen part way, never going back.
    expect(events.some((e) => e.bytesDone > 0 && e.bytesDone < e.total)).toBe(true);
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
    await expect(sender.push(path, ["A"], { onProgress: "yes" as never })).rejects.toMatchObject({ code: FILES_ERROR_CODES.INVALID_ARGUMENT });
    await Promise.all([sender.close(), sa.close(), sp.close()]);
  });

  it("a receiver that declines, takes no pushes, or has too many from the peer answers why, and nothing is written", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const picky = receiver(join(tmp.dir, "picky"), ({ manifest }) => (manifest.name.endsWith(".exe") ? "no programs" : undefined));
    const sender = new FileSwarm(net.host("S"));
    const p = new FileSwarm(net.host("P"), { pushes: picky });
    const none = new FileSwarm(net.host("N"));
    net.link("S", "P");
    net.link("S", "N");
    const path = await randomFile(tmp.dir, "tool.exe", 40_000);
    const pushed = await sender.push(path, ["P", "N"]);
    expect(pushed.delivered).toEqual([]);
    expect(Object.fromEntries(pushed.refusals)).toEqual({ P: "no programs", N: "this node takes no pushed files" });
    // A neighbour gone before the offer is counted as gone, not waited for.
    expect(Object.fromEntries((await sender.push(path, ["GONE"])).refusals)).toEqual({ GONE: "GONE left before it held the whole file" });
    expect(picky.errors.map((e) => e.code)).toEqual([FILES_ERROR_CODES.REFUSED]);
    expect(await readdir(picky.dir).catch(() => [])).toEqual([]);
    await Promise.all([sender.close(), p.close(), none.close()]);
  });

  it("an offer from a neighbour the receiver does not take pushes from is ignored: nothing is fetched or written", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const r = { ...receiver(join(tmp.dir, "r")), allowedFrom: (peer: string) => peer !== "S" };
    const sender = new FileSwarm(net.host("S"));
    const rs = new FileSwarm(net.host("R"), { pushes: r });
    net.link("S", "R");
    const path = await randomFile(tmp.dir, "unasked.bin", 40_000);
    const controller = new AbortController();
    const events: PushProgress[] = [];
    const pushing = sender.push(path, ["R"], { signal: controller.signal, onProgress: (p) => events.push(p) }).catch((e: FilesError) => e.code);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    expect(await pushing).toBe(FILES_ERROR_CODES.ABORTED);
    // An aborted push still ends its progress: a bar waiting for `done` is not left open.
    expect(events.at(-1)).toMatchObject({ done: true, delivered: 0 });
    expect(r.got).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(await readdir(r.dir).catch(() => [])).toEqual([]);
    await Promise.all([sender.close(), rs.close()]);
  });

  it("a receiver that stays connected and never answers is counted as refusing after the silence bound, and the file stops being served", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const sender = new FileSwarm(net.host("S"));
    net.host("Q"); // linked, but no swarm reads what it is sent
    net.link("S", "Q");
    const path = await randomFile(tmp.dir, "silent.bin", 40_000);
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    try {
      const pushing = sender.push(path, ["Q"]);
      await vi.waitFor(() => expect(vi.getTimerCount()).toBeGreaterThan(0));
      await vi.advanceTimersByTimeAsync(PUSH_SILENCE_MS + 10_000);
      const pushed = await pushing;
      expect(Object.fromEntries(pushed.refusals)).toEqual({ Q: `Q did not answer for ${PUSH_SILENCE_MS / 1000} s` });
      expect(await sender.unshare(pushed.contentId)).toBe(false);
    } finally {
      vi.useRealTimers();
    }
    await sender.close();
  });

  it("a push cancelled by its sender stops at the receiver, which deletes what it got", async () => {
    await using tmp = await tempDir();
    const net = new MemoryNet();
    const a = receiver(join(tmp.dir, "a"));
    const sender = new FileSwarm(net.host("S"), { uploadBytesPerSecond: 256 * 1024 });
    const sa = new FileSwarm(net.host("A"), { pushes: a });
    net.link("S", "A");
    const path = await randomFile(tmp.dir, "big.bin", 4 * 1024 * 1024);
    const control = new AbortController();
    const pushing = sender.push(path, ["A"], { signal: control.signal });
    // Cancelled once the receiver has its partial download on disk.
    await expect.poll(async () => (await readdir(a.dir).catch(() => [] as string[])).some((n) => n.endsWith(".part")), { timeout: 10_000 }).toBe(true);
    control.abort();
    await expect(pushing).rejects.toMatchObject({ code: FILES_ERROR_CODES.ABORTED });
    await expect.poll(() => a.errors.map((e) => e.code), { timeout: 10_000 }).toEqual([FILES_ERROR_CODES.ABORTED]);
    expect(await readdir(a.dir)).toEqual([]);
    await Promise.all([sender.close(), sa.close()]);
  });
});
