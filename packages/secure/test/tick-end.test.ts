import { Socket } from "node:net";
import type { Connection } from "@xppg/transport";
import { Collector, numberOf, numbered, within } from "@xppg/transport/compliance";
import { tcpTransport } from "@xppg/transport-tcp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cryptoProvider, generateIdentity } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { catchUncaught, withoutTickEnd } from "../../../tools/test/tick-end.js";

/** A secure pair over TCP on loopback. */
async function securePairOverTcp(cleanup: Array<() => Promise<void>>): Promise<{ client: Connection; server: Connection }> {
  const t = tcpTransport();
  let accepted!: Promise<Connection>;
  const listener = await t.listen("tcp://127.0.0.1:0", (c) => {
    accepted = secureConnectionWith(cryptoProvider, c, { identity: generateIdentity() });
  });
  const client = await secureConnectionWith(cryptoProvider, await t.dial(listener.address), { identity: generateIdentity() });
  const server = await within(accepted, "the server's handshake");
  cleanup.push(async () => {
    await Promise.allSettled([client.close(), server.close()]);
    await listener.close();
  });
  return { client, server };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("the record layer's end of tick over TCP", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const f of cleanup.splice(0)) await f();
  });

  it("ends with the connection's below: a tick's first frame makes one tick-queue callback in all (Node's for the write)", async () => {
    const { client, server } = await securePairOverTcp(cleanup);
    const at = new Collector(server);
    for (let round = 0; round < 3; round++) {
      const tick = vi.spyOn(process, "nextTick");
      const sends = [client.send(numbered(3 * round, 20))];
      const calls = tick.mock.calls.length;
      // Later frames of the tick queue no callback either: they wait for that one.
      sends.push(client.send(numbered(3 * round + 1, 20)), client.send(numbered(3 * round + 2, 20)));
      const after = tick.mock.calls.length;
      tick.mockRestore();
      expect(calls).toBe(1);
      expect(after).toBe(1);
      await Promise.all(sends);
      await turn();
    }
    await at.waitFor(9);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("runs a layer's end of tick (atTickEnd) before the tick's later frames are sealed: what it sends shares their record, in order", async () => {
    const { client, server } = await securePairOverTcp(cleanup);
    const at = new Collector(server);
    expect(client.atTickEnd?.(() => {})).toBe(false);
    const sends = [client.send(numbered(0, 20))];
    const order: string[] = [];
    expect(
      client.atTickEnd?.(() => {
        order.push("hook");
        sends.push(client.send(numbered(2, 20)));
      }),
    ).toBe(true);
    sends.push(client.send(numbered(1, 20)));
    await turn();
    expect(order).toEqual(["hook"]);
    await Promise.all(sends);
    await at.waitFor(3);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2]);
  });

  it("keeps frames in order sent from a tick callback, a microtask, a write's callback and a layer's end of tick", async () => {
    const { client, server } = await securePairOverTcp(cleanup);
    const at = new Collector(server);
    const sent: number[] = [];
    let n = 0;
    const send = (): void => {
      sent.push(n);
      void client.send(numbered(n++, 20 + (n % 7) * 300));
    };
    for (let round = 0; round < 50; round++) {
      send();
      client.atTickEnd?.(send);
      process.nextTick(() => {
        send();
        client.atTickEnd?.(send);
      });
      queueMicrotask(send);
      void client.send(numbered(n, 10)).then(() => {
        // Resolved in a microtask after the send that took it: sends from there open a new tick.
        send();
        client.atTickEnd?.(send);
      });
      sent.push(n++);
      send();
      await turn();
    }
    await at.waitFor(sent.length);
    expect(at.frames.map(numberOf)).toEqual(sent);
  });

  it("runs a layer's end of tick even when the connection is closed in that tick", async () => {
    const { client } = await securePairOverTcp(cleanup);
    void client.send(numbered(0, 20));
    let ran = false;
    expect(client.atTickEnd?.(() => (ran = true))).toBe(true);
    await client.close();
    await turn();
    expect(ran).toBe(true);
  });
});

describe("the record layer over a connection without an end of tick of its own", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const f of cleanup.splice(0)) await f();
  });

  it("queues its end of tick before the first record reaches that connection: the tick's records leave in one write, as before", async () => {
    // Without Nagle off, the TCP connection writes nothing at once: its own flush, queued by the first record, writes the tick.
    const t = tcpTransport({ noDelay: false });
    let accepted!: Promise<Connection>;
    const listener = await t.listen("tcp://127.0.0.1:0", (c) => {
      accepted = secureConnectionWith(cryptoProvider, c, { identity: generateIdentity() });
    });
    const client = await secureConnectionWith(cryptoProvider, withoutTickEnd(await t.dial(listener.address)), { identity: generateIdentity() });
    const server = await within(accepted, "the server's handshake");
    cleanup.push(async () => {
      await Promise.allSettled([client.close(), server.close()]);
      await listener.close();
    });
    const at = new Collector(server);
    await turn();
    for (let round = 0; round < 3; round++) {
      const write = vi.spyOn(Socket.prototype, "write");
      const sends = [0, 1, 2].map((i) => client.send(numbered(3 * round + i, 20)));
      await turn();
      // Both records (the first, sealed at once, and the tick's later frames) in the connection's one flush.
      expect(write).toHaveBeenCalledTimes(1);
      write.mockRestore();
      await Promise.all(sends);
    }
    await at.waitFor(9);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("hooks that throw: each error is thrown once on its own, the other hooks and the tick's frames go on", async () => {
    const { client, server } = await securePairOverTcp(cleanup);
    const at = new Collector(server);
    // Each hook's error is an uncaught exception of its own: caught here for the test.
    const { thrown, restore } = catchUncaught();
    cleanup.unshift(restore);
    const first = new Error("the first hook's bug");
    const second = new Error("the second hook's bug");
    const ran: string[] = [];
    const sends = [client.send(numbered(0, 20))];
    expect(
      client.atTickEnd?.(() => {
        ran.push("first");
        throw first;
      }),
    ).toBe(true);
    client.atTickEnd?.(() => {
      ran.push("second");
      throw second;
    });
    client.atTickEnd?.(() => {
      ran.push("third");
      sends.push(client.send(numbered(2, 20)));
    });
    sends.push(client.send(numbered(1, 20)));
    await Promise.all(sends);
    await at.waitFor(3);
    await turn();
    expect(ran).toEqual(["first", "second", "third"]);
    expect(thrown).toEqual([first, second]);
    expect(at.frames.map(numberOf)).toEqual([0, 1, 2]);
  });
});
