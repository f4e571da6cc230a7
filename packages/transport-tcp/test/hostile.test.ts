import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { isXppgError } from "@xppg/errors";
import type { Connection, Listener } from "@xppg/transport";
import { Collector, deferred, numberOf, numbered, within } from "@xppg/transport/compliance";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tcpTransport } from "../src/index.js";

const MAX = 64 * 1024;
const transport = tcpTransport({ maxFrameSize: MAX });
let listener: Listener;
let accepted: Connection[];
let acceptedWaiters: Array<(c: Connection) => void>;
const raws: Socket[] = [];
const dialed: Connection[] = [];

beforeEach(async () => {
  accepted = [];
  acceptedWaiters = [];
  listener = await transport.listen("tcp://127.0.0.1:0", (c) => {
    accepted.push(c);
    acceptedWaiters.shift()?.(c);
  });
});

afterEach(async () => {
  for (const s of raws.splice(0)) s.destroy();
  await Promise.allSettled([...dialed.splice(0), ...accepted].map((c) => c.close()));
  await listener.close();
});

/** The next connection the listener accepts. */
function nextAccepted(): Promise<Connection> {
  const d = deferred<Connection>();
  acceptedWaiters.push(d.resolve);
  return within(d.promise, "the listener to accept");
}

async function rawClient(): Promise<{ socket: Socket; conn: Connection }> {
  const next = nextAccepted();
  const socket = connect({ host: "127.0.0.1", port: listener.port! });
  raws.push(socket);
  socket.on("error", () => {});
  await once(socket, "connect");
  return { socket, conn: await next };
}

/** A well-behaved xppg connection that must keep working through the abuse. */
async function goodPair(): Promise<{ client: Connection; server: Connection }> {
  const next = nextAccepted();
  const client = await transport.dial(listener.address);
  dialed.push(client);
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

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

describe("tcp transport with hostile peers", () => {
  it("drops a peer that announces an oversized frame with XPPG_ERR_FRAME_TOO_LARGE, and only that peer", async () => {
    const good = await goodPair();
    const { socket, conn } = await rawClient();
    const at = new Collector(conn);
    // One valid frame first: it is delivered before the bad one is refused.
    socket.write(Buffer.concat([header(3), Buffer.from("abc"), header(0xffff_fff0)]));
    const info = await within(conn.closed, "the hostile connection to close");
    expect(info.initiator).toBe("remote");
    expect(isXppgError(info.error, "XPPG_ERR_FRAME_TOO_LARGE")).toBe(true);
    expect(info.error?.details).toMatchObject({ size: 0xffff_fff0, maxFrameSize: MAX });
    expect((await at.sinkClosed()).error).toBe(info.error);
    expect(at.frames.map((f) => Buffer.from(f).toString())).toEqual(["abc"]);
    // The raw peer sees its socket torn down.
    // (events.once would reject on the ECONNRESET 'error' that comes first.)
    if (!socket.destroyed) await within(new Promise((r) => socket.once("close", r)), "the raw socket to close");
    await expectStillWorks(good, 1);
    // And the listener still accepts.
    await expectStillWorks(await goodPair(), 10);
  });

  it("drops a peer that sends garbage whose first bytes read as a huge length", async () => {
    const good = await goodPair();
    const { socket, conn } = await rawClient();
    socket.write("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    const info = await within(conn.closed, "the garbage connection to close");
    expect(isXppgError(info.error, "XPPG_ERR_FRAME_TOO_LARGE")).toBe(true);
    await expectStillWorks(good, 2);
  });

  it("reports XPPG_ERR_TRANSPORT_PROTOCOL when a peer ends in the middle of a frame", async () => {
    const good = await goodPair();
    const { socket, conn } = await rawClient();
    const at = new Collector(conn);
    socket.write(Buffer.concat([header(1000), Buffer.alloc(10)]));
    socket.end();
    const info = await within(conn.closed, "the truncated connection to close");
    expect(info.initiator).toBe("remote");
    expect(isXppgError(info.error, "XPPG_ERR_TRANSPORT_PROTOCOL")).toBe(true);
    expect(at.frames.length).toBe(0);
    await expectStillWorks(good, 3);
  });

  it("reports XPPG_ERR_TRANSPORT_PROTOCOL when a peer stops in the middle of a length prefix", async () => {
    const { socket, conn } = await rawClient();
    socket.end(Buffer.from([0, 0]));
    const info = await within(conn.closed, "the connection to close");
    expect(isXppgError(info.error, "XPPG_ERR_TRANSPORT_PROTOCOL")).toBe(true);
  });

  it("reports XPPG_ERR_CONNECTION_RESET when a peer sends half a frame and resets", async () => {
    const good = await goodPair();
    const { socket, conn } = await rawClient();
    new Collector(conn);
    socket.write(Buffer.concat([header(1000), Buffer.alloc(500)]));
    await new Promise((r) => setTimeout(r, 20));
    socket.resetAndDestroy();
    const info = await within(conn.closed, "the reset connection to close");
    expect(info.initiator).toBe("remote");
    // Depending on whether the data was read before the reset arrived, the
    // reset (or the truncation it implies) is what gets reported.
    expect(["XPPG_ERR_CONNECTION_RESET", "XPPG_ERR_TRANSPORT_PROTOCOL"]).toContain(info.error?.code);
    await expectStillWorks(good, 4);
  });

  it("survives a client process killed in the middle of a frame", async () => {
    const good = await goodPair();
    const { spawn } = await import("node:child_process");
    const next = nextAccepted();
    // A child that connects, writes half a frame, then is killed.
    const script = `
      const s = require("node:net").connect(${listener.port!}, "127.0.0.1", () => {
        const h = Buffer.alloc(4); h.writeUInt32BE(5000);
        s.write(Buffer.concat([h, Buffer.alloc(2000, 1)]), () => process.stdout.write("sent\\n"));
      });
      setTimeout(() => process.exit(3), 15000);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const conn = await next;
      new Collector(conn);
      await within(once(child.stdout, "data"), "the child to write half a frame");
      child.kill("SIGKILL");
      const info = await within(conn.closed, "the killed peer's connection to close");
      expect(info.initiator).toBe("remote");
      expect(["XPPG_ERR_CONNECTION_RESET", "XPPG_ERR_TRANSPORT_PROTOCOL"]).toContain(info.error?.code);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    await expectStillWorks(good, 5);
    await expectStillWorks(await goodPair(), 20);
  });

  it("closes cleanly from our side even when the peer was in the middle of a frame", async () => {
    const { socket, conn } = await rawClient();
    new Collector(conn);
    socket.write(Buffer.concat([header(1000), Buffer.alloc(10)]));
    await new Promise((r) => setTimeout(r, 20));
    await within(conn.close(), "close");
    const info = await conn.closed;
    expect(info.initiator).toBe("local");
    expect(info.error).toBeUndefined();
  });

  it("keeps many good connections working while hostile ones come and go", async () => {
    const goods = await Promise.all(Array.from({ length: 4 }, () => goodPair()));
    for (let i = 0; i < 10; i++) {
      const { socket, conn } = await rawClient();
      if (i % 2 === 0) socket.write(header(MAX + 1));
      else socket.write(Buffer.concat([header(100), Buffer.alloc(10)]), () => socket.resetAndDestroy());
      await within(conn.closed, "a hostile connection to close");
    }
    for (const [i, g] of goods.entries()) await expectStillWorks(g, 100 + i * 2);
  });
});
