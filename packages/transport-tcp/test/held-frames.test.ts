import { createServer, connect, type Server, type Socket } from "node:net";
import { once } from "node:events";
import type { Connection } from "@xppg/transport";
import { HELD_FRAME_OVERHEAD } from "@xppg/transport/adapter";
import { afterEach, describe, expect, it } from "vitest";
import { tcpConnectionFromSocket } from "../src/index.js";

const HIGH_WATER_MARK = 1024 * 1024;
// A million empty frames: 4 MB on the wire, each a 4-byte header and no payload.
const FRAMES = 1_000_000;
const FLOOD = FRAMES * 4;

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A real loopback pair: the receiver's socket (kept, to read how much it took) wrapped as an xppg connection, and a raw sender. */
async function pair(): Promise<{ receiverSocket: Socket; receiver: Connection; sender: Socket }> {
  const server: Server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const sender = connect({ host: "127.0.0.1", port });
  sender.on("error", () => {});
  const [receiverSocket] = await accepted;
  const receiver = tcpConnectionFromSocket(receiverSocket, { outbound: false, highWaterMark: HIGH_WATER_MARK });
  cleanup.push(() => {
    sender.destroy();
    receiverSocket.destroy();
    server.close();
  });
  return { receiverSocket, receiver, sender };
}

describe("a paused tcp receiver flooded with empty frames", () => {
  it("stops reading once the frames held reach the high-water mark (each counts a fixed overhead), then delivers them all on resume", async () => {
    const { receiverSocket, receiver, sender } = await pair();
    let got = 0;
    receiver.read({ frame: () => void got++ });
    receiver.pause();
    sender.write(Buffer.alloc(FLOOD));
    // Wait until the receiver either stopped reading or took the whole flood.
    while (!receiverSocket.isPaused() && receiverSocket.bytesRead < FLOOD) await new Promise((r) => setTimeout(r, 5));
    expect(receiverSocket.isPaused()).toBe(true);
    // Held: the high-water mark's worth of empty frames, and at most one read more (a read is at most 64 KiB).
    const heldMost = Math.ceil(HIGH_WATER_MARK / HELD_FRAME_OVERHEAD) * 4 + 64 * 1024;
    expect(receiverSocket.bytesRead).toBeLessThanOrEqual(heldMost);
    expect(got).toBe(0);
    // The sender is held back by TCP, not dropped: every frame arrives once the reader resumes.
    receiver.resume();
    while (got < FRAMES) await new Promise((r) => setTimeout(r, 5));
    expect(got).toBe(FRAMES);
    expect(receiver.isClosed).toBe(false);
  });
});
