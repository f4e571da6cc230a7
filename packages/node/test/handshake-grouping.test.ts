import { createConnection, createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { roundTrip, stopNodesAfterEach } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

/** What the proxy did with the dialler's frames: the sizes of the frames it held and wrote together. */
interface Grouping {
  grouped: number[];
}

/**
 * A loopback proxy in front of `port` that passes the listener's bytes on as
 * they come and the dialler's first frame (Noise message 1) at once, then
 * holds the dialler's next `group` frames (message 3 and the first record
 * after the handshake, the dialler's hello) until all have arrived and hands
 * them to the listener in one `write`: on loopback one write of a few
 * hundred bytes is one segment, read by the listener in one chunk (what a
 * dialler that writes them together, or a network that joins them, gives).
 * Frames are the TCP transport's: a 4-byte big-endian length, then the bytes.
 */
async function groupingProxy(port: number, group: number): Promise<{ port: number; grouping: Grouping; close(): Promise<void> }> {
  const grouping: Grouping = { grouped: [] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((fromDialler: Socket) => {
    const toListener = createConnection({ host: "127.0.0.1", port });
    sockets.add(fromDialler).add(toListener);
    toListener.on("data", (chunk: Buffer) => fromDialler.write(chunk));
    let held = Buffer.alloc(0);
    let frames = 0;
    let passing = false;
    fromDialler.on("data", (chunk: Buffer) => {
      if (passing) {
        toListener.write(chunk);
        return;
      }
      held = Buffer.concat([held, chunk]);
      // Count the whole frames held; pass the first at once, then wait for `group` more.
      let at = 0;
      const sizes: number[] = [];
      while (held.length - at >= 4 && held.length - at >= 4 + held.readUInt32BE(at)) {
        sizes.push(held.readUInt32BE(at));
        at += 4 + held.readUInt32BE(at);
      }
      if (frames === 0 && sizes.length > 0) {
        const first = 4 + sizes[0]!;
        toListener.write(held.subarray(0, first));
        held = held.subarray(first);
        frames = 1;
        sizes.shift();
      }
      if (frames === 1 && sizes.length >= group) {
        grouping.grouped = sizes.slice(0, group);
        passing = true;
        // The held frames, and whatever followed them, in one write.
        toListener.write(held);
        held = Buffer.alloc(0);
      }
    });
    const end = (): void => {
      fromDialler.destroy();
      toListener.destroy();
    };
    fromDialler.on("close", end).on("error", end);
    toListener.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as { port: number }).port, grouping, close };
}

describe("the dialler's first flight after the handshake", () => {
  it("message 3 and the dialler's hello reaching the listener in one chunk: the listener reads both and the join succeeds", async () => {
    const listener = await tcpNode();
    const proxy = await groupingProxy(listener.port!, 2);
    try {
      const dialler = await tcpNode({ listen: [] });
      const joined = new Promise<string>((resolve) => listener.events.on("peer:joined", (peer) => resolve(peer.peerId)));
      const peer = await dialler.join("127.0.0.1", proxy.port);
      expect(peer.peerId).toBe(listener.peerId);
      expect(await joined).toBe(dialler.peerId);
      // Both went in the one write: message 3, then the record that carries the hello.
      expect(proxy.grouping.grouped).toHaveLength(2);
      await roundTrip(dialler, listener);
    } finally {
      await proxy.close();
    }
  });
});
