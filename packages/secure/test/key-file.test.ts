import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SECURE_ERROR_CODES, generateIdentity } from "../src/index.js";
import { KEY_FILE_TYPE, loadOrCreateIdentity, loadOrCreateIdentitySync, readKeyFile, readKeyFileSync } from "../src/key-file.js";
import { codeOf } from "./helpers.js";

const KEY_FILE = SECURE_ERROR_CODES.KEY_FILE;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "xppg-secure-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("key file", () => {
  it("creates the folder (0700) and the file (0600) and loads the same identity again", async () => {
    const path = join(dir, "nested", "deeper", "node.key");
    const a = await loadOrCreateIdentity(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "nested", "deeper"))).mode & 0o777).toBe(0o700);
    const json = JSON.parse(await readFile(path, "utf8")) as Record<string, string>;
    expect(json.type).toBe(KEY_FILE_TYPE);
    expect(Buffer.from(json.secretKey!, "base64").byteLength).toBe(32);
    expect(json.peerId).toBe(a.peerId);
    const b = await loadOrCreateIdentity(path);
    expect(b.peerId).toBe(a.peerId);
    // Atomic write: no temporary file is left beside it.
    expect(await readdir(join(dir, "nested", "deeper"))).toEqual(["node.key"]);
  });

  it("refuses a key file readable or writable by group or others", async () => {
    const path = join(dir, "node.key");
    const a = await loadOrCreateIdentity(path);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
      await chmod(path, mode);
      expect(await codeOf(loadOrCreateIdentity(path)), mode.toString(8)).toBe(KEY_FILE);
    }
    await chmod(path, 0o600);
    expect((await loadOrCreateIdentity(path)).peerId).toBe(a.peerId);
    await chmod(path, 0o400);
    expect((await loadOrCreateIdentity(path)).peerId).toBe(a.peerId);
  });

  it("refuses malformed files and never overwrites them", async () => {
    const cases = [
      "",
      "not json",
      "{}",
      JSON.stringify({ type: "other", secretKey: Buffer.alloc(32).toString("base64") }),
      JSON.stringify({ type: KEY_FILE_TYPE }),
      JSON.stringify({ type: KEY_FILE_TYPE, secretKey: Buffer.alloc(31).toString("base64") }),
      JSON.stringify({ type: KEY_FILE_TYPE, secretKey: "!".repeat(44) }),
      JSON.stringify({ type: KEY_FILE_TYPE, secretKey: Buffer.alloc(32, 1).toString("base64"), peerId: generateIdentity().peerId }),
      "null",
    ];
    for (const [i, text] of cases.entries()) {
      const path = join(dir, `bad-${i}.key`);
      await writeFile(path, text, { mode: 0o600 });
      expect(await codeOf(loadOrCreateIdentity(path)), text).toBe(KEY_FILE);
      expect(await readFile(path, "utf8")).toBe(text);
    }
  });

  it("refuses a folder or a symbolic link where the key file should be", async () => {
    expect(await codeOf(loadOrCreateIdentity(dir))).toBe(KEY_FILE);
    const real = join(dir, "real.key");
    await loadOrCreateIdentity(real);
    const link = join(dir, "link.key");
    await symlink(real, link);
    expect(await codeOf(loadOrCreateIdentity(link))).toBe(KEY_FILE);
    // A named pipe is refused at once, not waited on.
    const fifo = join(dir, "fifo.key");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    expect(await codeOf(loadOrCreateIdentity(fifo))).toBe(KEY_FILE);
    // A dangling link too: it is not taken for "no file yet".
    const dangling = join(dir, "dangling.key");
    await symlink(join(dir, "nowhere.key"), dangling);
    expect(await codeOf(loadOrCreateIdentity(dangling))).toBe(KEY_FILE);
  });

  it("accepts a key written by hand in the documented format", async () => {
    const id = generateIdentity();
    const path = join(dir, "hand.key");
    await writeFile(path, JSON.stringify({ type: KEY_FILE_TYPE, secretKey: Buffer.from(id.exportSecretKey()).toString("base64") }), { mode: 0o600 });
    expect((await loadOrCreateIdentity(path)).peerId).toBe(id.peerId);
  });

  it("many concurrent first starts agree on one identity and leave one file", async () => {
    const path = join(dir, "race", "node.key");
    const ids = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateIdentity(path)));
    const onDisk = await readKeyFile(path);
    for (const id of ids) expect(id.peerId).toBe(onDisk!.peerId);
    expect(await readdir(join(dir, "race"))).toEqual(["node.key"]);
  });

  it("readKeyFile gives null when there is no file", async () => {
    expect(await readKeyFile(join(dir, "missing.key"))).toBeNull();
  });
});

describe("key file, synchronous", () => {
  it("creates a private key file once, then loads the same identity, agreeing with the async reader", async () => {
    const path = join(dir, "sync", "node.key");
    const first = loadOrCreateIdentitySync(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "sync"))).mode & 0o777).toBe(0o700);
    expect(loadOrCreateIdentitySync(path).peerId).toBe(first.peerId);
    expect((await readKeyFile(path))?.peerId).toBe(first.peerId);
    expect((await loadOrCreateIdentity(path)).peerId).toBe(first.peerId);
    expect(readKeyFileSync(join(dir, "missing.key"))).toBeNull();
    expect((await readdir(join(dir, "sync"))).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses a key file others can read, and a malformed one", async () => {
    const path = join(dir, "open.key");
    loadOrCreateIdentitySync(path);
    await chmod(path, 0o644);
    expect(() => loadOrCreateIdentitySync(path)).toThrow(expect.objectContaining({ code: KEY_FILE }));
    const bad = join(dir, "bad.key");
    await writeFile(bad, "{not json", { mode: 0o600 });
    expect(() => readKeyFileSync(bad)).toThrow(expect.objectContaining({ code: KEY_FILE }));
    expect(await readFile(bad, "utf8")).toBe("{not json");
  });
});
