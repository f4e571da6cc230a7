import { Socket } from "node:net";
import type { Connection } from "@xppg/transport";
import { Collector, deferred, numberOf, numbered, within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import { connectionClosedError } from "@xppg/transport/adapter";
import { returnBatch, takeBatch } from "../src/batch-pool.js";
import { formatTcpAddress, parseTcpAddress, tcpTransport } from "../src/index.js";
import { catchUncaught } from "../../../tools/test/tick-end.js";

describe("tcp addresses", () => {
  it("reads IPv4, bracketed IPv6 and host names", () => {
    expect(parseTcpAddress("tcp://127.0.0.1:7337")).toEqual({ host: "127.0.0.1", port: 7337 });
    expect(parseTcpAddress("tcp://[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseTcpAddress("tcp://localhost:0")).toEqual({ host: "localhost", port: 0 });
    expect(parseTcpAddress("tcp://peer-1.example.org:65535")).toEqual({ host: "peer-1.example.org", port: 65535 });
  });

  it("refuses malformed ones", () => {
    for (const bad of ["", "tcp://", "tcp://host", "tcp://host:", "tcp://host:65536", "tcp://::1:80", "tcp://[nope]:80", "tcp://a b:1", "tcp://host:1/path", "ws://host:1", "tcp://-host:1"]) {
      expect(parseTcpAddress(bad), bad).toBeNull();
    }
    expect(parseTcpAddress(42)).toBeNull();
  });

  it("writes IPv6 in brackets", () => {
    expect(formatTcpAddress("::1", 9)).toBe("tcp://[::1]:9");
    expect(formatTcpAddress("10.0.0.1", 9)).toBe("tcp://10.0.0.1:9");
  });

  it("canDial needs a real port", () => {
    const t = tcpTransport();
    expect(t.canDial("tcp://127.0.0.1:1")).toBe(true);
    expect(t.canDial("tcp://127.0.0.1:0")).toBe(false);
    expect(t.canDial("memory://x")).toBe(false);
  });
});

describe("tcpTransport", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const f of cleanup.splice(0)) await f();
  });

  async function pair(options = {}): Promise<{ client: Connection; server: Connection }> {
    const t = tcpTransport(options);
    const accepted = deferred<Connection>();
    const listener = await t.listen("tcp://127.0.0.1:0", (c) => accepted.resolve(c));
    const client = await t.dial(listener.address);
    const server = await within(accepted.promise, "accept");
    cleanup.push(async () => {
      await Promise.allSettled([client.close(), server.close()]);
      await listener.close();
    });
    return { client, server };
  }

  it("reports an IPv4 peer of a dual-stack listener as plain IPv4 in remoteHost", async () => {
    const t = tcpTransport();
    const accepted = deferred<Connection>();
    const listener = await t.listen("tcp://[::]:0", (c) => accepted.resolve(c));
    const client = await t.dial(`tcp://127.0.0.1:${listener.port}`);
    const server = await within(accepted.promise, "accept");
    cleanup.push(async () => {
      await Promise.allSettled([client.close(), server.close()]);
      await listener.close();
    });
    // The socket says ::ffff:127.0.0.1; one machine must have one host.
    expect(server.remoteAddress).toContain("127.0.0.1");
    expect(server.remoteHost).toBe("127.0.0.1");
    expect(client.remoteHost).toBe("127.0.0.1");
  });

  it("checks its options", () => {
    expect(() => tcpTransport({ maxFrameSize: -1 })).toThrow(RangeError);
    expect(() => tcpTransport({ highWaterMark: 0 })).toThrow(RangeError);
    expect(() => tcpTransport({ dialTimeoutMs: 1.5 })).toThrow(RangeError);
    expect(tcpTransport().maxFrameSize).toBe(1024 * 1024);
  });

  it("writes the first frame of a tick at once, and the rest of the tick's frames with one socket write", async () => {
    const { client, server } = await pair();
    const at = new Collector(server);
    const write = vi.spyOn(Socket.prototype, "write");
    const sends: Promise<void>[] = [];
    sends.push(client.send(numbered(0, 20)));
    // A reply must not wait for a turn of the event loop.
    expect(write).toHaveBeenCalledTimes(1);
    for (let i = 1; i < 100; i++) sends.push(client.send(numbered(i, 20)));
    expect(write).toHaveBeenCalledTimes(1);
    await Promise.all(sends);
    await at.waitFor(100);
    expect(write).toHaveBeenCalledTimes(2);
    expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("ends a tick whose one frame the kernel took whole with that write's callback, not a callback of its own", async () => {
    const { client, server } = await pair();
    const at = new Collector(server);
    // Every tick-queue callback made during the send: Node's for the write (the kernel takes 20 bytes whole on
    // loopback), and before, the connection's own flush as well: two callbacks a message in a ping-pong.
    const tick = vi.spyOn(process, "nextTick");
    const first = client.send(numbered(0, 20));
    const during = tick.mock.calls.length;
    tick.mockRestore();
    expect(during).toBe(1);
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    // The tick is over: the next frame is written at once again, and frames sent after it in its tick follow in one write.
    const write = vi.spyOn(Socket.prototype, "write");
    const sends = [client.send(numbered(1, 20))];
    expect(write).toHaveBeenCalledTimes(1);
    for (let i = 2; i < 10; i++) sends.push(client.send(numbered(i, 20)));
    expect(write).toHaveBeenCalledTimes(1);
    await Promise.all(sends);
    await at.waitFor(10);
    expect(write).toHaveBeenCalledTimes(2);
    expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it("ends a tick whose first frame the kernel could not take whole with a flush of its own: the tick's later frames still leave, in order", async () => {
    const { client, server } = await pair({ maxFrameSize: 1024 * 1024 });
    server.pause();
    const at = new Collector(server);
    // Fill the kernel's buffers while the receiver does not read, until the socket itself holds bytes.
    const big = 256 * 1024;
    const filling: Promise<void>[] = [];
    let sent = 0;
    const writable = vi.spyOn(Socket.prototype, "write");
    client.send(numbered(sent++, big)).catch(() => {});
    const socket = writable.mock.contexts[0] as Socket;
    writable.mockRestore();
    while (socket.writableLength === 0 && sent < 200) {
      filling.push(client.send(numbered(sent++, big)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(socket.writableLength).toBeGreaterThan(0);
    // A new tick: its first frame queues behind what the socket holds (not taken whole), and more frames follow in the tick.
    const first = sent;
    const write = vi.spyOn(Socket.prototype, "write");
    const tail: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) tail.push(client.send(numbered(sent++, 20)));
    expect(write).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setImmediate(resolve));
    // The tick's own flush wrote the other four, in one write, though no write's callback came.
    expect(write).toHaveBeenCalledTimes(2);
    write.mockRestore();
    server.resume();
    await Promise.all([...filling, ...tail]);
    await at.waitFor(sent);
    expect(at.frames.map(numberOf)).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(at.frames.slice(first).map((frame) => frame.byteLength)).toEqual(at.frames.slice(first).map(() => numbered(0, 20).byteLength));
  });

  it("runs a layer's end of tick (atTickEnd) at its own, before the tick's frames are written: no callback of its own, and what it sends joins them", async () => {
    const { client, server } = await pair();
    const at = new Collector(server);
    // No tick is open: nothing is taken, the caller keeps its own end of tick.
    expect(client.atTickEnd?.(() => {})).toBe(false);
    const tick = vi.spyOn(process, "nextTick");
    const write = vi.spyOn(Socket.prototype, "write");
    const sends = [client.send(numbered(0, 20))];
    expect(write).toHaveBeenCalledTimes(1);
    const order: string[] = [];
    expect(
      client.atTickEnd?.(() => {
        order.push("hook");
        // Sent from the hook: joins the tick's later frames, in order.
        sends.push(client.send(numbered(3, 20)));
        // A hook added by a hook runs in the same end of tick.
        client.atTickEnd?.(() => {
          order.push("nested");
          sends.push(client.send(numbered(4, 20)));
        });
      }),
    ).toBe(true);
    sends.push(client.send(numbered(1, 20)), client.send(numbered(2, 20)));
    // One tick-queue callback in all: Node's for the first write, which ends the tick.
    expect(tick.mock.calls.length).toBe(1);
    tick.mockRestore();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(["hook", "nested"]);
    await Promise.all(sends);
    await at.waitFor(5);
    expect(write).toHaveBeenCalledTimes(2);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2, 3, 4]);
  });

  it("keeps frames in order sent from a tick callback, a microtask, a write's callback and a layer's end of tick", async () => {
    const { client, server } = await pair();
    const at = new Collector(server);
    const sent: number[] = [];
    const send = (n: number): void => {
      sent.push(n);
      void client.send(numbered(n, 20));
    };
    let n = 0;
    for (let round = 0; round < 50; round++) {
      send(n++);
      client.atTickEnd?.(() => send(n++));
      process.nextTick(() => {
        send(n++);
        client.atTickEnd?.(() => send(n++));
      });
      queueMicrotask(() => send(n++));
      send(n++);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await at.waitFor(sent.length);
    expect(at.frames.map(numberOf)).toEqual(sent);
  });

  it("runs a layer's end of tick even when the connection is reset in that tick", async () => {
    const { client } = await pair();
    void client.send(numbered(0, 20));
    let ran = false;
    expect(client.atTickEnd?.(() => (ran = true))).toBe(true);
    await client.close(connectionClosedError(client.remoteAddress)).catch(() => {});
    await client.closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toBe(true);
  });

  it("runs a layer's end of tick when the connection is reset in a tick whose write the kernel could not take whole (its own tick callback ends it, not a write's)", async () => {
    const { client, server } = await pair({ maxFrameSize: 32 * 1024 * 1024, highWaterMark: 64 * 1024 * 1024 });
    // The peer does not read: a large frame stays in the socket's buffer, no write's callback comes before the reset.
    server.pause();
    void client.send(numbered(0, 16 * 1024 * 1024)).catch(() => {});
    const ran: string[] = [];
    expect(client.atTickEnd?.(() => ran.push("first"))).toBe(true);
    expect(client.atTickEnd?.(() => ran.push("second"))).toBe(true);
    await client.close(connectionClosedError(client.remoteAddress)).catch(() => {});
    await client.closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(["first", "second"]);
  });

  it("a layer's end of tick that throws: the others run, its error is thrown on its own, and the connection goes on (sends after back-pressure, a clean close)", async () => {
    const { client, server } = await pair({ highWaterMark: 64 * 1024, closeTimeoutMs: 60_000 });
    const at = new Collector(server);
    // The hook's error is an uncaught exception of its own: caught here for the test.
    const { thrown, restore } = catchUncaught();
    cleanup.unshift(restore);
    const boom = new Error("a hook's bug");
    const ran: string[] = [];
    const write = vi.spyOn(Socket.prototype, "write");
    const sends = [client.send(numbered(0, 20))];
    const batchMemory = (write.mock.calls[0]![0] as Buffer).buffer;
    write.mockRestore();
    client.atTickEnd?.(() => {
      ran.push("throws");
      throw boom;
    });
    client.atTickEnd?.(() => {
      ran.push("next");
      sends.push(client.send(numbered(2, 20)));
    });
    sends.push(client.send(numbered(1, 20)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toEqual(["throws", "next"]);
    await vi.waitFor(() => expect(thrown).toEqual([boom]));
    await within(Promise.all(sends), "the tick's sends");
    await at.waitFor(3);
    // Idle again: the batch the tick's frames were copied into is back in the pool (the write's callback did its bookkeeping).
    const pooled = takeBatch(1);
    returnBatch(pooled);
    expect(pooled.bytes.buffer).toBe(batchMemory);
    // Past the high-water mark: the send waits for the socket, and is released.
    const large = client.send(numbered(3, 512 * 1024));
    await within(Promise.all([...sends, large]), "the sends after a hook threw");
    // A hook that throws in the tick of a close: the close still ends the stream cleanly (Node's write callback ran whole).
    void client.send(numbered(4, 20));
    client.atTickEnd?.(() => {
      throw boom;
    });
    await within(client.close(), "a clean close after a hook threw");
    await at.waitFor(5);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2, 3, 4]);
    await within(server.closed, "the peer's end of the stream");
    expect(thrown).toEqual([boom, boom]);
  });

  it("with noDelay false, writes all of a tick's frames in one socket write (Nagle would hold a second)", async () => {
    const { client, server } = await pair({ noDelay: false });
    const at = new Collector(server);
    const write = vi.spyOn(Socket.prototype, "write");
    const sends = [client.send(numbered(0, 20)), client.send(numbered(1, 20))];
    expect(write).toHaveBeenCalledTimes(0);
    await Promise.all(sends);
    await at.waitFor(2);
    expect(write).toHaveBeenCalledTimes(1);
    expect(at.frames.map(numberOf)).toEqual([0, 1]);
  });

  it("returns one shared resolved promise while below the high-water mark", async () => {
    const { client } = await pair();
    const a = client.send(numbered(1));
    const b = client.send(numbered(2));
    expect(a).toBe(b);
    await a;
  });

  it("reports the connection's addresses", async () => {
    const { client, server } = await pair();
    expect(client.remoteAddress).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(client.localAddress).toBe(server.remoteAddress);
    expect(server.localAddress).toBe(client.remoteAddress);
  });

  it("fails listening on a taken port with XPPG_ERR_LISTEN_FAILED", async () => {
    const t = tcpTransport();
    const l = await t.listen("tcp://127.0.0.1:0", () => {});
    cleanup.push(() => l.close());
    await expect(t.listen(l.address, () => {})).rejects.toMatchObject({ code: "XPPG_ERR_LISTEN_FAILED" });
  });

  it("aborts a dial in progress with XPPG_ERR_ABORTED", async () => {
    const t = tcpTransport();
    const l = await t.listen("tcp://127.0.0.1:0", (c) => void c.close());
    cleanup.push(() => l.close());
    const ac = new AbortController();
    const dialing = t.dial(l.address, { signal: ac.signal });
    ac.abort();
    // The connect may win the race; then the dial resolved before the abort mattered.
    const result = await dialing.then(
      (c) => {
        void c.close();
        return "connected";
      },
      (e: { code?: string }) => e.code,
    );
    expect(["XPPG_ERR_ABORTED", "connected"]).toContain(result);
  });
});
