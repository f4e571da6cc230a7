import type { Duplex } from "node:stream";
import type { CloseInfo, Connection } from "@xppg/transport";
import { describe, expect, it } from "vitest";
import { duplexPair } from "./example-adapter/duplex-pair.js";
import { duplexConnection } from "./example-adapter/duplex-transport.js";

// A link may hand frames over while its connection is being made (the example adapter takes what its stream
// already holds): the receive limits they trip then act once the link exists, not on a link not yet there.

function connect(stream: Duplex, outbound: boolean, limits: { highWaterMark: number; maxHeldBytes?: number }): Connection {
  return duplexConnection(stream, {
    localAddress: outbound ? "duplex://a" : "duplex://b",
    remoteAddress: outbound ? "duplex://b" : "duplex://a",
    remoteHost: outbound ? "b" : "a",
    outbound,
    maxFrameSize: 1024,
    ...limits,
  });
}

/** Sends `count` frames of 100 bytes, the first byte each one's index, before the other end makes its connection. */
function sendAhead(peer: Connection, count: number): void {
  for (let i = 0; i < count; i++) void peer.send(new Uint8Array(100).fill(i, 0, 1));
}

describe("example adapter: frames handed over while the connection is being made", () => {
  it("past the high-water mark: the stream is paused once the link exists, every frame reaches the sink in order, and reading resumes", async () => {
    const [peerEnd, ourEnd] = duplexPair();
    const peer = connect(peerEnd, true, { highWaterMark: 64 * 1024 });
    sendAhead(peer, 5);
    // Two frames held (100 bytes and 64 of overhead each) reach the mark: the inbox asks the link to stop reading.
    const conn = connect(ourEnd, false, { highWaterMark: 256 });
    expect(ourEnd.isPaused()).toBe(true);
    const frames: number[] = [];
    conn.read({ frame: (f) => void frames.push(f[0]!) });
    await expect.poll(() => frames).toEqual([0, 1, 2, 3, 4]);
    expect(ourEnd.isPaused()).toBe(false);
    await peer.send(Uint8Array.of(5));
    await expect.poll(() => frames).toEqual([0, 1, 2, 3, 4, 5]);
    await Promise.all([conn.close(), peer.close()]);
    expect((await conn.closed).error).toBeUndefined();
  });

  it("past maxHeldBytes: the connection fails with XPPG_ERR_RECEIVE_BUFFER_FULL blamed on the peer, the stream is torn down, and the sink gets only its close", async () => {
    const [peerEnd, ourEnd] = duplexPair();
    const peer = connect(peerEnd, true, { highWaterMark: 64 * 1024 });
    sendAhead(peer, 3);
    const conn = connect(ourEnd, false, { highWaterMark: 256, maxHeldBytes: 300 });
    const frames: number[] = [];
    const closes: CloseInfo[] = [];
    conn.read({ frame: (f) => void frames.push(f[0]!), close: (info) => void closes.push(info) });
    expect(conn.isClosed).toBe(true);
    const info = await conn.closed;
    expect(info).toMatchObject({ initiator: "remote", error: { code: "XPPG_ERR_RECEIVE_BUFFER_FULL", details: { maxHeldBytes: 300, heldBytes: 328 } } });
    expect(closes).toEqual([info]);
    expect(frames).toEqual([]);
    // The peer's side sees its socket reset.
    expect((await peer.closed).error).toMatchObject({ code: "XPPG_ERR_CONNECTION_RESET" });
    expect(ourEnd.destroyed).toBe(true);
  });
});
