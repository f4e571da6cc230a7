// An authenticated peer floods a paused secure connection over TCP with empty
// records: the secure connection's held records and the TCP connection's held
// frames each count HELD_FRAME_OVERHEAD, so the receiver stops reading its
// socket instead of holding them all.
import { createServer, connect, type Socket } from "node:net";
import { once } from "node:events";
import { tcpConnectionFromSocket } from "@xppg/transport-tcp";
import { afterEach, describe, expect, it } from "vitest";
import { generateIdentity, secureConnection } from "../src/index.js";

// 20 MB on the wire (20 bytes a record), more than the loopback socket buffers take.
const RECORDS = 1_000_000;
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe("a paused secure connection flooded with empty records", () => {
  it("stops reading its TCP socket, and delivers every record once resumed", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const accepted = once(server, "connection") as Promise<[Socket]>;
    const senderSocket = connect({ host: "127.0.0.1", port: (server.address() as { port: number }).port });
    const [receiverSocket] = await accepted;
    cleanup.push(() => {
      senderSocket.destroy();
      receiverSocket.destroy();
      server.close();
    });
    await once(senderSocket, "connect");
    const [sender, receiver] = await Promise.all([
      secureConnection(tcpConnectionFromSocket(senderSocket, { outbound: true }), { identity: generateIdentity() }),
      secureConnection(tcpConnectionFromSocket(receiverSocket, { outbound: false }), { identity: generateIdentity() }),
    ]);
    let got = 0;
    receiver.read({ frame: () => void got++ });
    receiver.pause();
    const empty = new Uint8Array(0);
    let sent = 0;
    let sendDone = false;
    const sending = (async () => {
      for (; sent < RECORDS && !sender.isClosed; sent++) await sender.send(empty);
      sendDone = true;
    })();
    // Wait until the receiver's socket stops reading, or it read everything sent.
    while (!receiverSocket.isPaused() && !(sendDone && receiverSocket.bytesRead >= senderSocket.bytesWritten)) await new Promise((r) => setTimeout(r, 5));
    expect(receiverSocket.isPaused()).toBe(true);
    expect(got).toBe(0);
    receiver.resume();
    await sending;
    while (got < RECORDS) await new Promise((r) => setTimeout(r, 5));
    expect([got, receiver.isClosed]).toEqual([RECORDS, false]);
    await Promise.all([sender.close(), receiver.close()]);
  });
});
