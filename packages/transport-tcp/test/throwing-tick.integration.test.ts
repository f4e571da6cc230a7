import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("./fixtures/throwing-tick.mjs", import.meta.url));

describe("reading while process.nextTick callbacks throw (a process living on through an 'uncaughtException' handler)", () => {
  it("delivers every frame whole and in order, and never writes over a frame the sink kept", async () => {
    // A real process: the throws must reach the process's own handler, as in an application.
    // Node drops the memory a read's callback names for the next read when a tick throws as that callback's
    // scope ends; before the fix the socket then read over the bytes before, and the peer was dropped.
    const { stdout } = await run(process.execPath, [FIXTURE, "20000", "40"], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as { got: number; bad: number; kept: number; keptBad: number; thrown: number; closedEarly: string | null };
    expect(r.thrown).toBe(500);
    expect(r.closedEarly).toBeNull();
    expect(r.got).toBe(20000);
    expect(r.bad).toBe(0);
    expect(r.kept).toBe(400);
    expect(r.keptBad).toBe(0);
  }, 70_000);
});

describe("the memory the transport keeps for the case above", () => {
  it("does not keep a closed connection alive (the last socket that read is forgotten when it closes)", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/closed-released.mjs", import.meta.url));
    const { stdout } = await run(process.execPath, ["--expose-gc", fixture], { timeout: 30_000 });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({ collected: true });
  }, 40_000);
});
