// A send answered where it was encoded (in Node, with the tick's flush on its way) must still meet the outbox's
// bounds and its close: these are the states in which that answer would be wrong.
import type { Connection, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it, vi } from "vitest";
import { Playground } from "../src/index.js";
import { collect, stopNodesAfterEach, track } from "./helpers.js";
import { errorsOf, leftOf, tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

/**
 * Real TCP, but the connections it dials throw from their next write once
 * armed (a connection that breaks its contract): the transport is not under
 * test; what the outbox does when its flush fails in the middle of a tick is.
 */
function failingOnceTransport(): Transport & { arm(): void } {
  const inner = tcpTransport();
  let armed = false;
  const trap = (conn: Connection): Connection => {
    const send = conn.send.bind(conn);
    const sendParts = conn.sendParts.bind(conn);
    const trip = (): void => {
      if (!armed) return;
      armed = false;
      throw new Error("injected write failure");
    };
    conn.send = (frame) => (trip(), send(frame));
    conn.sendParts = (parts) => (trip(), sendParts(parts));
    return conn;
  };
  return Object.assign(Object.create(inner) as Transport, {
    arm: () => void (armed = true),
    dial: async (address: string, options?: Parameters<Transport["dial"]>[1]) => trap(await inner.dial(address, options)),
  });
}

const outcomeOf = (sent: Promise<void>): Promise<string | undefined> =>
  sent.then(
    () => "resolved",
    (error: { code?: string }) => error.code,
  );

describe("a send queued with its tick's flush on its way (real TCP)", () => {
  it("rejects when the outbox closed itself in the same tick (its flush's write threw), never resolving unwritten", async () => {
    const p = await tcpNode({ heartbeat: quietHeartbeat, dangerouslyDisableEncryption: true });
    const transport = failingOnceTransport();
    const a = track(new Playground("test-app", { transports: [transport], listen: [], heartbeat: quietHeartbeat, dangerouslyDisableEncryption: true }));
    await a.start();
    await a.join(`tcp://127.0.0.1:${p.port}`);
    const warm = collect(p, "warm-up");
    await a.send("warm-up", new Uint8Array(1), { to: p.peerId });
    await vi.waitFor(() => expect(warm).toHaveLength(1));
    const errors = errorsOf(a);
    const left = leftOf(a);
    // One tick: the first send leaves at once and schedules the tick's flush; the second waits in the bundle; the
    // third does not fit the bundle's buffer (64 KiB), so the bundle is flushed before it, and that write throws:
    // the outbox closes, its tick's flush still scheduled, the session not yet closed.
    const first = outcomeOf(a.send("bytes", new Uint8Array(10), { to: p.peerId }));
    transport.arm();
    const second = outcomeOf(a.send("bytes", new Uint8Array(10), { to: p.peerId }));
    const third = outcomeOf(a.send("bytes", new Uint8Array(70_000), { to: p.peerId }));
    const fourth = outcomeOf(a.send("bytes", new Uint8Array(10), { to: p.peerId }));
    expect(await first).toBe("resolved");
    // The second was in the lost bundle, answered before the write failed: not what this test is about (left unchecked).
    await second;
    expect(await third).toMatch(/^XPPG_ERR_/);
    expect(await fourth).toMatch(/^XPPG_ERR_/);
    await vi.waitFor(() => expect(left.map((l) => l.peerId)).toEqual([p.peerId]));
    expect(errors.filter((e) => (e.cause as Error | undefined)?.message === "injected write failure")).toHaveLength(1);
  });

  it("over a small limits.maxQueuedBytesPerPeer: drops the peer as slow and rejects", async () => {
    const a = await tcpNode({ heartbeat: quietHeartbeat, dangerouslyDisableEncryption: true, limits: { maxQueuedBytesPerPeer: 4096, writeStallTimeoutMs: 120_000 } });
    const b = await tcpNode({ heartbeat: quietHeartbeat, dangerouslyDisableEncryption: true });
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await vi.waitFor(() => expect(a.peers.map((peer) => peer.peerId)).toEqual([b.peerId]));
    const left = leftOf(a);
    // One tick: the first send leaves at once and schedules the tick's flush; the second waits in the bundle, over 4 KiB (a smaller limit would drop the peer at its hello).
    const first = outcomeOf(a.send("bytes", new Uint8Array(10), { to: b.peerId }));
    const second = outcomeOf(a.send("bytes", new Uint8Array(5000), { to: b.peerId }));
    expect(await first).toBe("resolved");
    expect(await second).toMatch(/^XPPG_ERR_/);
    await vi.waitFor(() => expect(left).toEqual([{ peerId: b.peerId, code: "XPPG_ERR_SLOW_PEER" }]));
  });
});
