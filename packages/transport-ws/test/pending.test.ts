// Issue 16, item 10, over WebSocket: sockets in the HTTP stage (an upgrade
// never finished) are capped and timed out, and counted by the listener from
// accept; upgraded sockets whose client ignores our close are dropped after
// the close timeout.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Connection, Listener } from "@xppg/transport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { webSocketTransport } from "../src/index.js";

const SOCKETS = 200;
const clients: Socket[] = [];
let listener: Listener | undefined;

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await listener?.close();
  listener = undefined;
});

/**
 * A raw client that ignores our FIN (it never sends its own); resolves once
 * connected. `onDropped` is called once our side has ended or reset it.
 */
function rawClient(port: number, onDropped: () => void): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  socket.on("error", () => {});
  let seen = false;
  const dropped = (): void => {
    if (seen) return;
    seen = true;
    onDropped();
  };
  socket.once("end", dropped);
  socket.once("close", dropped);
  clients.push(socket);
  return new Promise((resolve) => socket.once("connect", () => resolve(socket)));
}

/** Opens `count` clients that send the start of an upgrade request and never finish it. */
async function unfinishedUpgrades(port: number, count: number, onDropped: () => void): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const socket = await rawClient(port, onDropped);
      socket.on("data", () => {});
      socket.write("GET /xppg HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n");
    }),
  );
}

/** Does the WebSocket upgrade by hand, then ignores everything (our close frame, our FIN). */
async function silentUpgrade(port: number, onDropped: () => void): Promise<void> {
  const socket = await rawClient(port, onDropped);
  const upgraded = new Promise<void>((resolve) => {
    let head = "";
    const onData = (chunk: Buffer): void => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
  });
  socket.write(
    "GET /xppg HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await upgraded;
  // From here on the client answers nothing: our close frame and our FIN are read and ignored.
  socket.on("data", () => {});
}

describe("the WebSocket listener bounds sockets from accept", () => {
  it(`holds at most maxPendingConnections of ${SOCKETS} unfinished upgrades and drops the rest at once`, async () => {
    const maxPendingConnections = 16;
    let dropped = 0;
    // A long deadline: what drops the sockets here is the cap, not the clock.
    listener = await webSocketTransport({ upgradeTimeoutMs: 60_000 }).listen("ws://127.0.0.1:0/xppg", () => {}, { maxPendingConnections });
    await unfinishedUpgrades(listener.port!, SOCKETS, () => dropped++);
    await vi.waitFor(() => expect(dropped).toBe(SOCKETS - maxPendingConnections), { timeout: 10_000, interval: 20 });
    expect(listener.pendingConnections).toBe(maxPendingConnections);
    // Closing the listener drops the upgrades still pending.
    await listener.close();
    await vi.waitFor(() => expect(dropped).toBe(SOCKETS), { timeout: 5_000, interval: 20 });
    expect(listener.pendingConnections).toBe(0);
  });

  it(`drops ${SOCKETS} unfinished upgrades at the upgrade deadline`, async () => {
    let dropped = 0;
    listener = await webSocketTransport({ upgradeTimeoutMs: 500, maxPendingConnections: SOCKETS }).listen("ws://127.0.0.1:0/xppg", () => {});
    await unfinishedUpgrades(listener.port!, SOCKETS, () => dropped++);
    await vi.waitFor(() => expect(dropped).toBe(SOCKETS), { timeout: 5_000, interval: 50 });
    expect(listener.pendingConnections).toBe(0);
  });

  it(`releases ${SOCKETS} upgraded sockets whose clients ignore our close within the close timeout`, async () => {
    const closed: Connection[] = [];
    const accepted: Connection[] = [];
    // The default close timeout (2 s) is what is under test.
    listener = await webSocketTransport().listen("ws://127.0.0.1:0/xppg", (conn) => {
      accepted.push(conn);
      // What a node does with a connection it will not serve: a clean close.
      void conn.close().then(() => closed.push(conn));
    }, { maxPendingConnections: SOCKETS });
    let dropped = 0;
    await Promise.all(Array.from({ length: SOCKETS }, () => silentUpgrade(listener!.port!, () => dropped++)));
    await vi.waitFor(() => expect(accepted.length).toBe(SOCKETS), { timeout: 10_000, interval: 20 });
    await vi.waitFor(() => expect(closed.length).toBe(SOCKETS), { timeout: 4_000, interval: 50 });
    // Handed over at upgrade: the listener holds none of them.
    expect(listener.pendingConnections).toBe(0);
    for (const conn of closed) expect((await conn.closed).initiator).toBe("local");
    // Dropped, not just given up on: the clients see their sockets closed.
    await vi.waitFor(() => expect(dropped).toBe(SOCKETS), { timeout: 2_000, interval: 50 });
  });
});
