import { createConnection, createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

/**
 * A loopback proxy in front of `port` that passes the dialler's bytes on as
 * they come and the listener's first `pass` frames (Noise message 2 and the
 * record that carries the listener's hello) at once, then holds the
 * listener's next `group` frames (its welcome, then the message its
 * `peer:joined` handler sends) and hands them to the dialler in one `write`:
 * on loopback one chunk, read by the dialler in one go (what a dialler that
 * reads late, on a loaded machine, gets). Frames are the TCP transport's: a
 * 4-byte big-endian length, then the bytes.
 */
async function holdingProxy(port: number, pass: number, group: number): Promise<{ port: number; grouped: () => number; close(): Promise<void> }> {
  let grouped = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((fromDialler: Socket) => {
    const toListener = createConnection({ host: "127.0.0.1", port });
    sockets.add(fromDialler).add(toListener);
    fromDialler.on("data", (chunk: Buffer) => toListener.write(chunk));
    let held = Buffer.alloc(0);
    let passed = 0;
    let passing = false;
    toListener.on("data", (chunk: Buffer) => {
      if (passing) {
        fromDialler.write(chunk);
        return;
      }
      held = Buffer.concat([held, chunk]);
      let at = 0;
      let frames = 0;
      while (held.length - at >= 4 && held.length - at >= 4 + held.readUInt32BE(at)) {
        at += 4 + held.readUInt32BE(at);
        frames++;
        if (passed < pass) {
          fromDialler.write(held.subarray(0, at));
          held = held.subarray(at);
          at = 0;
          frames = 0;
          passed++;
        }
      }
      if (passed === pass && frames >= group) {
        grouped = frames;
        passing = true;
        fromDialler.write(held);
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
  return { port: (server.address() as { port: number }).port, grouped: () => grouped, close };
}

describe("a join and the peer's messages that came with its welcome", () => {
  it("the join resolves before the messages read in the same chunk as the welcome are handled", async () => {
    const listener = await tcpNode();
    // The listener greets each new peer at once, from its peer:joined handler: the message follows its welcome.
    listener.events.on("peer:joined", (peer) => void listener.send("greeting", "hi", { to: peer.peerId }));
    const proxy = await holdingProxy(listener.port!, 2, 2);
    try {
      const dialler = await tcpNode({ listen: [] });
      const order: string[] = [];
      dialler.on("greeting", () => void order.push("message"));
      const peer = await dialler.join("127.0.0.1", proxy.port);
      order.push("joined");
      expect(peer.peerId).toBe(listener.peerId);
      await until(() => order.length === 2);
      // The welcome and the greeting reached the dialler in one write.
      expect(proxy.grouped()).toBeGreaterThanOrEqual(2);
      expect(order).toEqual(["joined", "message"]);
    } finally {
      await proxy.close();
    }
  });
});
