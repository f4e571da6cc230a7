import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("./fixtures/row-release.mjs", import.meta.url));

describe("memory held by received state rows", () => {
  // A child process with --expose-gc: state rows holding a few bytes (a shared key, and an owned key whose row keeps its
  // signature) are received, then a small message read into the same memory; the child watches that memory with a
  // FinalizationRegistry once reading has moved on and the connection is idle. A row keeping its value or signature as
  // a view into what it was read from would hold that memory (a 256 KiB read buffer, or a frame of up to 1 MiB) for
  // as long as the row lives, beyond what the state's byte limits count.
  // The broadcast case also covers the mesh's message cache, which keeps the small broadcast read after the rows.
  const cases = [["encrypted", "direct"], ["plain", "direct"], ["encrypted", "broadcast"]] as const;
  it.each(cases)("keeps no read memory alive through a row's bytes or signature (%s, probe sent %s)", async (security, route) => {
    const { stdout } = await run(process.execPath, ["--expose-gc", FIXTURE, security, route], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as { collected: boolean; gcs: number; rows: number; ownBuffers: boolean };
    expect(r.rows).toBe(3);
    expect(r.ownBuffers).toBe(true);
    expect(r.collected).toBe(true);
  }, 70_000);
});
