import { createServer, connect, type Socket } from "node:net";
import { encodeFrame } from "@xppg/framing";
import type { Connection } from "@xppg/transport";
import { deferred, within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tcpConnectionFromSocket, tcpTransport } from "../src/index.js";

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** What the sink sees of each frame: its class and whether Node calls it a Buffer. */
function frameKinds(conn: Connection): Array<{ type: string; buffer: boolean; text: string }> {
  const kinds: Array<{ type: string; buffer: boolean; text: string }> = [];
  conn.read({ frame: (f) => void kinds.push({ type: f.constructor.name, buffer: Buffer.isBuffer(f), text: new TextDecoder().decode(f) }) });
  return kinds;
}

describe("received frames are plain Uint8Array, as the Connection interface says", () => {
  it("on the read path into a reused buffer", async () => {
    const t = tcpTransport();
    const accepted = deferred<Connection>();
    const listener = await t.listen("tcp://127.0.0.1:0", (c) => accepted.resolve(c));
    const client = await t.dial(listener.address);
    const server = await within(accepted.promise, "accept");
    cleanup.push(() => Promise.allSettled([client.close(), server.close(), listener.close()]));
    const kinds = frameKinds(server);
    await client.send(new TextEncoder().encode("hello"));
    await vi.waitFor(() => expect(kinds).toHaveLength(1));
    expect(kinds).toEqual([{ type: "Uint8Array", buffer: false, text: "hello" }]);
  });

  it("on the path through the socket's data chunks (a socket that had read before it was wrapped)", async () => {
    const server = createServer((socket) => {
      // Two frames in one write: both cut from one chunk.
      socket.end(Buffer.concat([encodeFrame(new TextEncoder().encode("one")), encodeFrame(new TextEncoder().encode("two"))]));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const socket: Socket = connect(address.port, "127.0.0.1");
    // Bytes already in the socket's readable buffer: the reused-buffer path cannot be set up, so "data" chunks are read.
    await within(new Promise<void>((resolve) => socket.once("readable", () => resolve())), "readable");
    expect(socket.readableLength).toBeGreaterThan(0);
    const conn = tcpConnectionFromSocket(socket, { outbound: true });
    cleanup.push(() => conn.close());
    const kinds = frameKinds(conn);
    await within(conn.closed, "closed");
    expect(kinds).toEqual([
      { type: "Uint8Array", buffer: false, text: "one" },
      { type: "Uint8Array", buffer: false, text: "two" },
    ]);
  });
});
