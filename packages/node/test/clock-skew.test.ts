// Two nodes whose clocks differ by more than the time window of signed
// broadcasts and state would drop each other's data without a word; the
// handshake compares the clocks and refuses such a peer with a reason that
// names the difference, on both sides. A hello without a time (an older
// release) is still accepted.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { memoryTransport } from "@xppg/transport";
import { isXppgError } from "@xppg/errors";
import { Playground, PROTOCOL_VERSION } from "../src/index.js";
import { clockSkewRefusal } from "../src/peer-table.js";
import { ProcessPeer } from "./fixtures/process-peer.js";
import { node, RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();
const children: ProcessPeer[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

const TEN_MINUTES = 10 * 60_000;

function hello(raw: RawPeer, fields: Record<string, unknown>): Promise<void> {
  return raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, peerId: raw.peerId, listen: [], agent: "raw", ...fields });
}

const byeOf = (raw: RawPeer) => raw.received.find((m) => m.kind === "xppg/bye")?.payload as { code: string; reason: string } | undefined;

describe("clock comparison in the handshake", () => {
  it("sends this node's clock in its hello", async () => {
    const pg = await node("test-app");
    const raw = await RawPeer.dial(memoryTransport(), pg.addresses[0]!);
    await until(() => raw.received.some((m) => m.kind === "xppg/hello"), 5000, "the node's hello");
    const { time } = raw.received.find((m) => m.kind === "xppg/hello")!.payload as { time: number };
    expect(Math.abs(time - Date.now())).toBeLessThan(60_000);
  });

  it("refuses a peer whose clock is 10 minutes ahead, says by how much, and still serves others; the same identity is welcome once its clock is right", async () => {
    const pg = await node("test-app");
    const raw = await RawPeer.dial(memoryTransport(), pg.addresses[0]!);
    await hello(raw, { time: Date.now() + TEN_MINUTES });
    await until(() => byeOf(raw) !== undefined, 5000, "a bye");
    expect(byeOf(raw)!.code).toBe("XPPG_ERR_CLOCK_SKEW");
    expect(byeOf(raw)!.reason).toMatch(/differ by 10 min 0 s \(.*'s is ahead\).*network time/);
    expect(pg.peers).toEqual([]);
    expect(pg.bans).toEqual([]);
    // Not a strike: the same identity joins as soon as its clock agrees.
    const again = await RawPeer.dial(memoryTransport(), pg.addresses[0]!, raw.identity);
    await hello(again, { time: Date.now() });
    await again.send("xppg/welcome", null);
    await until(() => pg.peers.some((p) => p.peerId === raw.peerId), 5000, "the same identity joins with a right clock");
  });

  it("compares with the state's clock limit when that is the smaller one", async () => {
    const pg = await node("test-app", { stateLimits: { maxClockSkewMs: 60_000 } });
    const raw = await RawPeer.dial(memoryTransport(), pg.addresses[0]!);
    await hello(raw, { time: Date.now() - 2 * 60_000 });
    await until(() => byeOf(raw) !== undefined, 5000, "a bye");
    expect(byeOf(raw)!.code).toBe("XPPG_ERR_CLOCK_SKEW");
    expect(byeOf(raw)!.reason).toMatch(/behind\), more than the 60 s/);
  });

  it("accepts a hello with no time (a release from before the comparison), and refuses one whose time is not a number", async () => {
    const pg = await node("test-app");
    const old = await RawPeer.dial(memoryTransport(), pg.addresses[0]!);
    await hello(old, {});
    await old.send("xppg/welcome", null);
    await until(() => pg.peers.some((p) => p.peerId === old.peerId), 5000, "the old peer joins");
    const bad = await RawPeer.dial(memoryTransport(), pg.addresses[0]!);
    await hello(bad, { time: "yesterday" });
    await until(() => byeOf(bad) !== undefined, 5000, "a bye");
    expect(byeOf(bad)!.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
  });

  it("words the difference for each side and stays quiet within the bound", () => {
    expect(clockSkewRefusal(undefined, 0, 1000, "a", "b")).toBeNull();
    expect(clockSkewRefusal(1_000_000 + 299_000, 1_000_000, 300_000, "a", "b")).toBeNull();
    expect(clockSkewRefusal(1_000_000 - 45_000, 1_000_000, 30_000, "a", "b")!.reason).toMatch(/^the clocks of a and b differ by 45 s \(b's is behind\)/);
  });

  const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
  it.skipIf(!built)("a node in another process whose system clock is 10 minutes ahead: join() rejects with XPPG_ERR_CLOCK_SKEW on both sides", async () => {
    // The child's clock is moved the way a wrong system clock moves it: every Date.now() in that process.
    const shift = encodeURIComponent(`const now = Date.now; Date.now = () => now() + ${TEN_MINUTES};`);
    const child = await ProcessPeer.start("proc-test", { NODE_OPTIONS: `--import=data:text/javascript,${shift}` });
    children.push(child);
    const pg = track(new Playground("proc-test", { host: "127.0.0.1", port: 0 }));
    await pg.start();
    const error = await pg.join("127.0.0.1", child.port).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isXppgError(error) && error.code).toBe("XPPG_ERR_CLOCK_SKEW");
    expect((error as Error).message).toMatch(/differ by (9 min 59 s|10 min 0 s|10 min 1 s)/);
    child.command({ op: "join", host: "127.0.0.1", port: pg.port });
    const failed = await child.waitFor((e) => e.event === "op-error" && e.op === "join");
    expect(failed.code).toBe("XPPG_ERR_CLOCK_SKEW");
    expect(pg.peers).toEqual([]);
  });
});
