import { get } from "node:http";
import { isXppgError } from "@xppg/errors";
import { TRANSPORT_ERROR_CODES, TransportError, type Connection, type Listener } from "@xppg/transport";
import { Collector, deferred, numberOf, numbered, within } from "@xppg/transport/compliance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { webSocketTransport } from "../src/index.js";

const MAX = 64 * 1024;
const transport = webSocketTransport({ maxFrameSize: MAX });
let listener: Listener;
let waiters: Array<(c: Connection) => void>;
const opened: Connection[] = [];
const raws: WebSocket[] = [];

beforeEach(async () => {
  waiters = [];
  listener = await transport.listen("ws://127.0.0.1:0/p2p", (c) => {
    opened.push(c);
    waiters.shift()?.(c);
  });
});

afterEach(async () => {
  for (const r of raws.splice(0)) r.terminate();
  await Promise.allSettled(opened.splice(0).map((c) => c.close()));
  await listener.close();
});

function nextAccepted(): Promise<Connection> {
  const d = deferred<Connection>();
  waiters.push(d.resolve);
  return within(d.promise, "the listener to accept");
}

/** A raw `ws` client with no limits of its own, and the server's side of it. */
async function rawClient(): Promise<{ raw: WebSocket; conn: Connection; closeCode: Promise<number> }> {
  const next = nextAccepted();
  const raw = new WebSocket(listener.address, { perMessageDeflate: false });
  raws.push(raw);
  raw.on("error", () => {});
  const closeCode = new Promise<number>((resolve) => raw.on("close", (code) => resolve(code)));
  await new Promise((resolve) => raw.once("open", resolve));
  return { raw, conn: await next, closeCode };
}

async function goodPair(): Promise<{ client: Connection; server: Connection }> {
  const next = nextAccepted();
  const client = await transport.dial(listener.address);
  opened.push(client);
  return { client, server: await next };
}

async function expectStillWorks(pair: { client: Connection; server: Connection }, n: number): Promise<void> {
  const at = new Collector(pair.server);
  const back = new Collector(pair.client);
  await pair.client.send(numbered(n));
  await pair.server.send(numbered(n + 1));
  await Promise.all([at.waitFor(1), back.waitFor(1)]);
  expect(numberOf(at.frames[0]!)).toBe(n);
  expect(numberOf(back.frames[0]!)).toBe(n + 1);
}

describe("ws transport with hostile peers", () => {
  it("drops a peer that sends a message over maxFrameSize with XPPG_ERR_FRAME_TOO_LARGE (close 1009), and only that peer", async () => {
    const good = await goodPair();
    const { raw, conn, closeCode } = await rawClient();
    const at = new Collector(conn);
    raw.send(new Uint8Array([1, 2, 3]));
    raw.send(new Uint8Array(MAX + 1));
    const info = await within(conn.closed, "the hostile connection to close");
    expect(info.initiator).toBe("remote");
    expect(isXppgError(info.error, TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE)).toBe(true);
    expect(at.frames.length).toBe(1);
    expect(await within(closeCode, "the raw client's close")).toBe(1009);
    await expectStillWorks(good, 1);
    await expectStillWorks(await goodPair(), 10);
  });

  it("drops a peer that sends a text message with XPPG_ERR_TRANSPORT_PROTOCOL (close 1003), and only that peer", async () => {
    const good = await goodPair();
    const { raw, conn, closeCode } = await rawClient();
    raw.send("hello, I am text");
    const info = await within(conn.closed, "the text connection to close");
    expect(info.initiator).toBe("remote");
    expect(isXppgError(info.error, TRANSPORT_ERROR_CODES.PROTOCOL)).toBe(true);
    expect(await within(closeCode, "the raw client's close")).toBe(1003);
    await expectStillWorks(good, 2);
  });

  it("reports XPPG_ERR_CONNECTION_RESET when a peer vanishes without a close frame", async () => {
    const good = await goodPair();
    const { raw, conn } = await rawClient();
    raw.terminate();
    const info = await within(conn.closed, "the connection to close");
    expect(info.initiator).toBe("remote");
    expect(isXppgError(info.error, TRANSPORT_ERROR_CODES.CONNECTION_RESET)).toBe(true);
    await expectStillWorks(good, 3);
  });

  it("maps the peer's close codes to typed errors", async () => {
    const cases: Array<[number, string | undefined]> = [
      [1000, undefined],
      [1001, undefined],
      [1002, TRANSPORT_ERROR_CODES.PROTOCOL],
      [1008, TRANSPORT_ERROR_CODES.PROTOCOL],
      [1009, TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE],
      [1011, TRANSPORT_ERROR_CODES.CONNECTION_RESET],
      [4000, TRANSPORT_ERROR_CODES.CONNECTION_RESET],
    ];
    for (const [code, expected] of cases) {
      const { raw, conn } = await rawClient();
      raw.close(code, "test");
      const info = await within(conn.closed, `close code ${code}`);
      expect(info.initiator).toBe("remote");
      expect(info.error?.code, `close code ${code}`).toBe(expected);
    }
  });

  it("tells the peer why with a close code on close(error)", async () => {
    const { raw, conn, closeCode } = await rawClient();
    const reason = new Promise<string>((resolve) => raw.on("close", (_c, r) => resolve(r.toString())));
    await conn.close(new TransportError(TRANSPORT_ERROR_CODES.DIAL_TIMEOUT, "test"));
    expect(await within(closeCode, "close code")).toBe(4000);
    expect(await reason).toBe("XPPG_ERR_DIAL_TIMEOUT");
  });

  it("answers a plain HTTP request with 426 and a wrong path with a failed dial", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      get(listener.address.replace("ws://", "http://"), (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject);
    });
    expect(status).toBe(426);
    await expect(transport.dial(listener.address.replace("/p2p", "/other"))).rejects.toMatchObject({ code: TRANSPORT_ERROR_CODES.DIAL_FAILED });
  });

  it("reports XPPG_ERR_FRAME_TOO_LARGE when the peer refuses our message as too big", async () => {
    // A peer with a smaller limit than ours.
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 100 });
    wss.on("connection", (ws) => ws.on("error", () => {}));
    await new Promise((resolve) => wss.once("listening", resolve));
    try {
      const port = (wss.address() as { port: number }).port;
      const conn = await webSocketTransport({ maxFrameSize: MAX }).dial(`ws://127.0.0.1:${port}/`);
      await conn.send(new Uint8Array(1000)).catch(() => {});
      const info = await within(conn.closed, "the refused connection to close");
      expect(info.initiator).toBe("remote");
      expect(isXppgError(info.error, TRANSPORT_ERROR_CODES.FRAME_TOO_LARGE)).toBe(true);
    } finally {
      wss.close();
    }
  });
});

describe("webSocketTransport dials", () => {
  it("gives up on a server that never answers the handshake with XPPG_ERR_DIAL_TIMEOUT", async () => {
    const { createServer } = await import("node:net");
    const sockets: import("node:net").Socket[] = [];
    // Accepts TCP and then says nothing.
    const silent = createServer((s) => sockets.push(s.on("error", () => {})));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      await expect(webSocketTransport().dial(`ws://127.0.0.1:${port}/`, { timeoutMs: 200 })).rejects.toMatchObject({
        code: TRANSPORT_ERROR_CODES.DIAL_TIMEOUT,
      });
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("aborts a dial that is waiting for the handshake with XPPG_ERR_ABORTED", async () => {
    const { createServer } = await import("node:net");
    const accepted = deferred<void>();
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((s) => {
      sockets.push(s.on("error", () => {}));
      accepted.resolve();
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const ac = new AbortController();
      const dialing = webSocketTransport().dial(`ws://127.0.0.1:${port}/`, { signal: ac.signal });
      await within(accepted.promise, "the TCP accept");
      ac.abort();
      await expect(dialing).rejects.toMatchObject({ code: TRANSPORT_ERROR_CODES.ABORTED });
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});

describe("webSocketTransport options and addresses", () => {
  it("checks its options", () => {
    expect(() => webSocketTransport({ maxFrameSize: 0 })).toThrow(RangeError);
    expect(() => webSocketTransport({ highWaterMark: -1 })).toThrow(RangeError);
    expect(webSocketTransport().maxFrameSize).toBe(1024 * 1024);
  });

  it("refuses to listen on wss:// or without a port", async () => {
    for (const bad of ["wss://127.0.0.1:0/", "ws://127.0.0.1/"]) {
      await expect(transport.listen(bad, () => {})).rejects.toMatchObject({ code: TRANSPORT_ERROR_CODES.BAD_ADDRESS });
    }
  });
});
