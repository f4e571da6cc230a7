import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("./fixtures/doc-release.mjs", import.meta.url));

describe("memory held by a synced document", () => {
  // A child process with --expose-gc (two real Playgrounds on loopback): a document receives a few bytes as a map's
  // value and a few inside a map's plain object, then a small message read into the same memory; the child watches
  // that memory with a FinalizationRegistry once reading has moved on and the connection is idle. Yjs keeps bytes
  // nested in plain data as a view into the update it applied: given the payload's own update, that view held the
  // whole read buffer (256 KiB) for as long as the document kept the value.
  it.each(["encrypted", "plain"])("keeps no read memory alive through bytes stored in the document (%s)", async (security) => {
    const { stdout } = await run(process.execPath, ["--expose-gc", FIXTURE, security], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as { collected: boolean; gcs: number; held: number[] };
    // Each stored value lies in at most the update it came in (a few dozen bytes here), never in a read buffer.
    for (const bytes of r.held) expect(bytes).toBeLessThan(1024);
    expect(r.collected).toBe(true);
  }, 70_000);
});
