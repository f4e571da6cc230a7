// Issue 16, item 10: a connection that is closing is bounded. Clients that
// ignore our FIN (and keep sending) must not hold their sockets on our side
// past the close timeout.
import { readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Connection, Listener } from "@xppg/transport";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tcpTransport } from "../src/index.js";

const SOCKETS = 200;
const clients: Socket[] = [];
let listener: Listener | undefined;

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await listener?.close();
  listener = undefined;
});

/** Descriptors this process holds (Linux). */
function openDescriptors(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Opens `count` clients that never answer our FIN: half-open from our side once we close. */
async function halfOpenClients(address: { port: number }, count: number, flood: boolean): Promise<void> {
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: "127.0.0.1", port: address.port, allowHalfOpen: true });
    socket.on("error", () => {});
    clients.push(socket);
    opened.push(new Promise((resolve) => socket.once("connect", () => resolve())));
    if (flood) {
      // Keep writing after our FIN arrives: bytes we must not decode, for a bounded while.
      const junk = Buffer.alloc(16 * 1024, 0xff);
      let writes = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || ++writes > 200) clearInterval(timer);
        else socket.write(junk);
      }, 10);
      socket.once("close", () => clearInterval(timer));
    }
  }
  await Promise.all(opened);
}

describe("closing connections are bounded", () => {
  for (const flood of [false, true]) {
    it(`releases ${SOCKETS} sockets whose clients ignore our FIN${flood ? " and keep sending" : ""} by the close timeout`, async () => {
      const baseline = openDescriptors();
      const closed: Connection[] = [];
      const accepted: Connection[] = [];
      // The default close timeout (2 s) is what is under test.
      listener = await tcpTransport().listen("tcp://127.0.0.1:0", (conn) => {
        accepted.push(conn);
        // What a node does with a connection it will not serve: a clean close.
        void conn.close().then(() => closed.push(conn));
      });
      await halfOpenClients({ port: listener.port! }, SOCKETS, flood);
      await vi.waitFor(() => expect(accepted.length).toBe(SOCKETS), { timeout: 10_000, interval: 20 });
      // The clients never answer our FIN, so only the close timeout can release our side. How long after
      // 2 s its timers run depends on this process's share of the CPU (it also runs the 200 clients and
      // their writes): the wait bounds a hang, it does not time the release.
      await vi.waitFor(() => expect(closed.length).toBe(SOCKETS), { timeout: 20_000, interval: 50 });
      for (const conn of closed) expect((await conn.closed).initiator).toBe("local");
      // Our descriptors are released; only the clients' own ends remain open.
      expect(openDescriptors()).toBeLessThanOrEqual(baseline + SOCKETS + 8);
      for (const c of clients.splice(0)) c.destroy();
      await vi.waitFor(() => expect(openDescriptors()).toBeLessThanOrEqual(baseline + 8), { timeout: 10_000, interval: 50 });
    }, 60_000);
  }
});
