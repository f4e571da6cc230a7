import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { XppgError } from "@xppg/errors";
import { Playground, sanitizeFileName, type ReceivedFile } from "../src/index.js";
import { collect, memoryNode, RawPeer, until } from "./helpers.js";
import { memoryTransport } from "@xppg/transport";
import { FileTransfers } from "../src/file-transfer.js";
import type { PeerSession } from "../src/peer-session.js";

/** Switches for the file system the receiver sees: no hard links, and a hook run after each `stat`. */
const fsHooks = vi.hoisted(() => ({ noHardLinks: false, afterStat: undefined as ((path: string) => Promise<void>) | undefined }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    link: async (existing: string, path: string) => {
      if (fsHooks.noHardLinks) throw Object.assign(new Error(`EPERM: operation not permitted, link '${existing}' -> '${path}'`), { code: "EPERM" });
      return real.link(existing, path);
    },
    stat: async (path: string) => {
      try {
        return await real.stat(path);
      } finally {
        await fsHooks.afterStat?.(path);
      }
    },
  };
});

const nodes: Playground[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "xppg-file-test-"));
});
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
  await rm(dir, { recursive: true, force: true });
});
/** Polls a folder until `check` accepts its listing. */
async function dirUntil(path: string, check: (names: string[]) => boolean, what: string): Promise<string[]> {
  const end = Date.now() + 10_000;
  for (;;) {
    const names = await readdir(path).catch(() => [] as string[]);
    if (check(names)) return names;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${path} holds ${JSON.stringify(names)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function node(name: string, options: Parameters<typeof memoryNode>[1] = {}): Promise<Playground> {
  const pg = await memoryNode("test-app", { downloadDir: join(dir, name), ...options });
  nodes.push(pg);
  return pg;
}

describe("Playground: shareFile", () => {
  it("streams a file that arrives whole, checked, under its name", async () => {
    const a = await node("a");
    const b = await node("b");
    await b.join(a.addresses[0]!);
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const src = join(dir, "photo.jpg");
    await writeFile(src, content);
    const files = collect<ReceivedFile>(a, "file");
    const sent = await b.shareFile(src, { to: a.peerId });
    const sha256 = createHash("sha256").update(content).digest("hex");
    expect(sent).toEqual({ name: "photo.jpg", size: content.byteLength, sha256, peers: [a.peerId] });
    await until(() => files.length === 1, 10_000, "file event");
    const got = files[0]!;
    expect(got.src).toBe(b.peerId);
    expect(got.payload).toEqual({ name: "photo.jpg", size: content.byteLength, sha256, path: join(dir, "a", "photo.jpg") });
    expect((await readFile(got.payload.path)).equals(content)).toBe(true);
    expect(await readdir(join(dir, "a"))).toEqual(["photo.jpg"]);
  });

  it("a received file named with a bidi override cannot show another extension", async () => {
    const a = await node("a");
    const b = await node("b");
    await b.join(a.addresses[0]!);
    // Displayed with the override, "invoice\u202Efdp.exe" reads "invoiceexe.pdf".
    const src = join(dir, "invoice\u202Efdp.exe");
    await writeFile(src, "MZ");
    const files = collect<ReceivedFile>(a, "file");
    await b.shareFile(src, a.peerId);
    await until(() => files.length === 1, 10_000, "file event");
    expect(files[0]!.payload.name).toBe("invoicefdp.exe");
    expect(await readdir(join(dir, "a"))).toEqual(["invoicefdp.exe"]);
  });

  it("an aborted shareFile rejects with XPPG_ERR_ABORTED and the receiver keeps nothing", async () => {
    const a = await node("a");
    // Slow enough that the abort comes while the receiver is downloading.
    const b = await node("b", { files: { uploadBytesPerSecond: 512 * 1024 } });
    await b.join(a.addresses[0]!);
    const src = join(dir, "big.bin");
    await writeFile(src, randomBytes(4 * 1024 * 1024));
    const failed = new Promise<XppgError>((resolve) => a.events.on("error", (e) => resolve(e)));
    const controller = new AbortController();
    const sending = b.shareFile(src, { to: a.peerId, signal: controller.signal });
    await dirUntil(join(dir, "a"), (names) => names.some((n) => n.endsWith(".part")), "the partial download");
    controller.abort();
    await expect(sending).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    expect((await failed).code).toBe("XPPG_ERR_FILE_TRANSFER_FAILED");
    await dirUntil(join(dir, "a"), (names) => names.length === 0, "no partial file");
    const signal = AbortSignal.abort();
    await expect(b.shareFile(src, { signal })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
  });

  it("broadcasts to every peer and never overwrites an existing file", async () => {
    const hub = await node("hub");
    const x = await node("x");
    const y = await node("y");
    await x.join(hub.addresses[0]!);
    await y.join(hub.addresses[0]!);
    await until(() => hub.peers.length === 2, 5000, "two peers");
    const src = join(dir, "notes.txt");
    await writeFile(src, "first");
    const atX = collect<ReceivedFile>(x, "file");
    const atY = collect<ReceivedFile>(y, "file");
    await hub.shareFile(src);
    await writeFile(src, "second");
    await hub.shareFile(src);
    await until(() => atX.length === 2 && atY.length === 2, 10_000, "four files");
    expect(atX.map((f) => f.payload.name)).toEqual(["notes.txt", "notes.txt"]);
    expect(atX.map((f) => f.payload.path)).toEqual([join(dir, "x", "notes.txt"), join(dir, "x", "notes (1).txt")]);
    expect(await readFile(join(dir, "y", "notes.txt"), "utf8")).toBe("first");
    expect(await readFile(join(dir, "y", "notes (1).txt"), "utf8")).toBe("second");
  });

  it("sends an empty file", async () => {
    const a = await node("a");
    const b = await node("b");
    await b.join(a.addresses[0]!);
    const src = join(dir, "empty");
    await writeFile(src, "");
    const files = collect<ReceivedFile>(a, "file");
    await b.shareFile(src);
    await until(() => files.length === 1, 5000, "file");
    expect(files[0]!.payload.size).toBe(0);
  });

  it("refuses a file the receiver declines or that is too big, leaving nothing", async () => {
    const a = await node("a", { acceptFile: ({ name }) => name !== "nope.bin", limits: { maxFileSize: 1000 } });
    const b = await node("b");
    await b.join(a.addresses[0]!);
    const errors: XppgError[] = [];
    a.events.on("error", (e) => {
      errors.push(e);
    });
    await writeFile(join(dir, "nope.bin"), "x");
    await writeFile(join(dir, "big.bin"), randomBytes(5000));
    await expect(b.shareFile(join(dir, "nope.bin"), { to: a.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_FILE_TRANSFER_FAILED" });
    await expect(b.shareFile(join(dir, "big.bin"), { to: a.peerId })).rejects.toThrow(/maxFileSize/);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_FILE_TRANSFER_FAILED", "XPPG_ERR_FILE_TRANSFER_FAILED"]);
    expect(await readdir(join(dir, "a")).catch(() => [])).toEqual([]);
    expect(a.peers).toHaveLength(1);
  });

  it("a refusal that comes after the first chunk fails with the refusal, not as a changed file", async () => {
    const a = await node("a", { limits: { maxFileSize: 1000 } });
    const b = await node("b");
    await b.join(a.addresses[0]!);
    // Many chunks: the refusal arrives while they are being sent.
    await writeFile(join(dir, "large.bin"), randomBytes(8 * 1024 * 1024));
    const error = await b.shareFile(join(dir, "large.bin"), { to: a.peerId }).catch((e: XppgError) => e);
    expect(error).toMatchObject({ code: "XPPG_ERR_FILE_TRANSFER_FAILED" });
    expect((error as XppgError).message).toMatch(/^No peer received "large\.bin": .*maxFileSize/);
    expect(a.peers).toHaveLength(1);
  });

  it("sharing with no peer connected resolves with no peers, whatever the file size", async () => {
    const a = await node("a");
    const content = randomBytes(300 * 1024);
    await writeFile(join(dir, "alone.bin"), content);
    const sha256 = createHash("sha256").update(content).digest("hex");
    expect(await a.shareFile(join(dir, "alone.bin"))).toEqual({ name: "alone.bin", size: content.byteLength, sha256, peers: [] });
  });

  it("rejects a path that is not a readable file, with a code", async () => {
    const a = await node("a");
    await expect(a.shareFile(join(dir, "missing"))).rejects.toMatchObject({ code: "XPPG_ERR_FILE_TRANSFER_FAILED" });
    await expect(a.shareFile(dir)).rejects.toMatchObject({ code: "XPPG_ERR_FILE_TRANSFER_FAILED" });
  });

  it("a sender that leaves mid-transfer leaves no file and no partial file", async () => {
    const a = await node("a");
    const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw sender admitted");
    const t = "b".repeat(32);
    await raw.send("xppg/file-offer", { t, name: "half.bin", size: 1_000_000 });
    await raw.send("xppg/file-chunk", { t, seq: 0, data: new Uint8Array(500_000) });
    const partial = await dirUntil(join(dir, "a"), (n) => n.length > 0, "the partial file");
    expect(partial).toHaveLength(1);
    expect(partial[0]).toMatch(/^\.xppg-[0-9a-f]{24}\.part$/);
    await raw.conn.close();
    await until(() => a.peers.length === 0, 5000, "peer gone");
    await dirUntil(join(dir, "a"), (n) => n.length === 0, "the partial file to go");
  });

  it("a download folder that cannot be made fails the transfer, not the node", async () => {
    const blocker = join(dir, "not-a-folder");
    await writeFile(blocker, "a file where the folder should be");
    const a = await node("x", { downloadDir: join(blocker, "downloads") });
    const b = await node("b");
    await b.join(a.addresses[0]!);
    const errors: XppgError[] = [];
    a.events.on("error", (e) => void errors.push(e));
    await writeFile(join(dir, "f.txt"), "data");
    await expect(b.shareFile(join(dir, "f.txt"), { to: a.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_FILE_TRANSFER_FAILED" });
    await until(() => errors.length > 0, 5000, "error");
    expect(errors[0]!.code).toBe("XPPG_ERR_FILE_TRANSFER_FAILED");
    expect(errors[0]!.message).toMatch(/cannot be stored/);
    expect(a.running).toBe(true);
    expect(a.peers).toHaveLength(1);
  });

  it("a checksum mismatch saves nothing and reports it", async () => {
    const a = await node("a");
    const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw sender admitted");
    const errors: XppgError[] = [];
    a.events.on("error", (e) => {
      errors.push(e);
    });
    const files = collect(a, "file");
    const t = "c".repeat(32);
    await raw.send("xppg/file-offer", { t, name: "lie.bin", size: 4 });
    await raw.send("xppg/file-chunk", { t, seq: 0, data: new Uint8Array([1, 2, 3, 4]) });
    await dirUntil(join(dir, "a"), (n) => n.length > 0, "the partial file");
    await raw.send("xppg/file-end", { t, size: 4, sha256: "0".repeat(64) });
    await until(() => errors.length === 1, 5000, "error");
    expect(errors[0]!.code).toBe("XPPG_ERR_FILE_TRANSFER_FAILED");
    expect(errors[0]!.message).toMatch(/SHA-256/);
    await dirUntil(join(dir, "a"), (n) => n.length === 0, "the partial file to go");
    expect(files).toEqual([]);
  });
});

describe("sanitizeFileName", () => {
  it.each([
    ["../../etc/passwd", "_.._etc_passwd"],
    ["..", "file"],
    [".bashrc", "bashrc"],
    ["a\u0000b\nc", "ab c"],
    ["invoice\u202Efdp.exe", "invoicefdp.exe"],
    ["a\u2066b\u2069\u200bc\u0085d", "abcd"],
    ["C:\\Windows\\x.dll", "C__Windows_x.dll"],
    ["", "file"],
    ["ok name.txt", "ok name.txt"],
  ])("%j -> %j", (input, output) => {
    expect(sanitizeFileName(input)).toBe(output);
  });

  it("bounds the length and keeps the extension", () => {
    const name = sanitizeFileName("x".repeat(300) + ".jpg");
    expect(name.length).toBe(200);
    expect(name.endsWith(".jpg")).toBe(true);
  });
});

describe("FileTransfers: memory held by chunks waiting for the disk", () => {
  it("a small chunk does not keep its whole received frame alive", async () => {
    const delivered: ReceivedFile[] = [];
    const files = new FileTransfers({
      downloadDir: join(dir, "pin"),
      maxFrameSize: 1024 * 1024,
      maxFileSize: 1024,
      maxIncomingPerPeer: 4,
      idleTimeoutMs: 30_000,
      acceptFile: () => true,
      delivered: (_from, file) => void delivered.push(file),
      failed: (error) => {
        throw error;
      },
      setPaused: () => {},
    });
    const session = { peerId: "xp1sender", isOpen: true, sendMessage: async () => {} } as unknown as PeerSession;
    const t = "d".repeat(32);
    files.handle(session, "xppg/file-offer", { t, name: "pinned.bin", size: 2 });
    // A 1 MiB frame whose chunk is 2 bytes: decoded payloads are views into the frame.
    const frame = new Uint8Array(1024 * 1024);
    frame.set([7, 8], 100);
    files.handle(session, "xppg/file-chunk", { t, seq: 0, data: frame.subarray(100, 102) });
    // Counted as 2 bytes while it waits for the disk, the chunk must not still be the frame's memory.
    frame.fill(0);
    files.handle(session, "xppg/file-end", { t, size: 2, sha256: createHash("sha256").update(new Uint8Array([7, 8])).digest("hex") });
    await until(() => delivered.length === 1, 5000, "the file");
    expect([...(await readFile(delivered[0]!.path))]).toEqual([7, 8]);
  });
});

describe("FileTransfers on a file system without hard links", () => {
  afterEach(() => {
    fsHooks.noHardLinks = false;
    fsHooks.afterStat = undefined;
  });

  it("places a file by exclusive copy, never over a file that exists or appears meanwhile", async () => {
    fsHooks.noHardLinks = true;
    const a = await node("a");
    const b = await node("b");
    await b.join(a.addresses[0]!);
    const downloads = join(dir, "a");
    await mkdir(downloads, { recursive: true });
    await writeFile(join(downloads, "doc.txt"), "already here");
    // Another program creates "doc (1).txt" just after the receiver looked whether that name is free.
    let appeared = false;
    fsHooks.afterStat = async (path) => {
      if (path !== join(downloads, "doc (1).txt")) return;
      await writeFile(path, "appeared meanwhile", { flag: "wx" });
      appeared = true;
    };
    await writeFile(join(dir, "doc.txt"), "ours");
    const files = collect<ReceivedFile>(a, "file");
    await b.shareFile(join(dir, "doc.txt"), { to: a.peerId });
    await until(() => files.length === 1, 5000, "file event");
    fsHooks.afterStat = undefined;
    const { path } = files[0]!.payload;
    expect(await readFile(path, "utf8")).toBe("ours");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const names = await readdir(downloads);
    expect(names.filter((n) => n.endsWith(".part"))).toEqual([]);
    const contents = await Promise.all(names.map((n) => readFile(join(downloads, n), "utf8")));
    expect(contents.sort()).toEqual(["already here", "ours", ...(appeared ? ["appeared meanwhile"] : [])].sort());
  });
});
