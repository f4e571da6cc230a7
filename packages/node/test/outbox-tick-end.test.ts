import { Socket } from "node:net";
import { EnvelopeCodec } from "@xppg/framing";
import type { Connection } from "@xppg/transport";
import { connectionClosedError } from "@xppg/transport/adapter";
import { Collector, deferred, within } from "@xppg/transport/compliance";
import { tcpTransport } from "@xppg/transport-tcp";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Outbox, type OutboxOwner } from "../src/outbox.js";
import { collect, stopNodesAfterEach } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";
import { withoutTickEnd } from "../../../tools/test/tick-end.js";

stopNodesAfterEach();
afterEach(() => void vi.restoreAllMocks());

/** No heartbeat during these tests: its pings would be messages of their own. */
const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

async function connectedPair(encrypted: boolean) {
  const options = { heartbeat: quietHeartbeat, ...(encrypted ? {} : { dangerouslyDisableEncryption: true }) };
  const a = await tcpNode(options);
  const b = await tcpNode(options);
  await b.join(`tcp://127.0.0.1:${a.port}`);
  await vi.waitFor(() => {
    expect(a.peers.map((p) => p.peerId)).toEqual([b.peerId]);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);
  });
  return { a, b };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe.each([
  ["encrypted", true],
  ["plaintext", false],
])("the outbox's end of tick over TCP (%s)", (_name, encrypted) => {
  it("is the connection's: a tick's first message makes one tick-queue callback in all (Node's for the write), its later ones none", async () => {
    const { a, b } = await connectedPair(encrypted);
    const got = collect<number>(b, "n");
    await turn();
    for (let round = 0; round < 3; round++) {
      const tick = vi.spyOn(process, "nextTick");
      const sends = [a.send("n", 3 * round, { to: b.peerId })];
      const first = tick.mock.calls.length;
      sends.push(a.send("n", 3 * round + 1, { to: b.peerId }), a.send("n", 3 * round + 2, { to: b.peerId }));
      const all = tick.mock.calls.length;
      tick.mockRestore();
      expect([first, all]).toEqual([1, 1]);
      await Promise.all(sends);
      await turn();
    }
    await vi.waitFor(() => expect(got.map((m) => m.payload)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]));
  });

  it("keeps messages in order sent from code, a tick callback, a microtask, a send's promise and a new turn", async () => {
    const { a, b } = await connectedPair(encrypted);
    const got = collect<number>(b, "n");
    const sent: number[] = [];
    let n = 0;
    const send = (): Promise<void> => {
      sent.push(n);
      return a.send("n", n++, { to: b.peerId });
    };
    for (let round = 0; round < 30; round++) {
      void send().then(() => void send());
      process.nextTick(() => {
        void send();
        queueMicrotask(() => void send());
      });
      queueMicrotask(() => void send());
      void send();
      setImmediate(() => void send());
      await turn();
      await turn();
    }
    await vi.waitFor(() => expect(got.length).toBe(sent.length));
    expect(got.map((m) => m.payload)).toEqual(sent);
  });
});

describe("the outbox over a connection without an end of tick of its own", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0)) await f();
  });

  it("queues its end of tick before the tick's first bundle reaches that connection: the tick's bundles leave in one write, as before", async () => {
    // Nagle on: the TCP connection writes nothing at once; its own flush, queued by the first bundle, writes the tick.
    const t = tcpTransport({ noDelay: false });
    const accepted = deferred<Connection>();
    const listener = await t.listen("tcp://127.0.0.1:0", (c) => accepted.resolve(c));
    const conn = withoutTickEnd(await t.dial(listener.address));
    const server = await within(accepted.promise, "accept");
    cleanup.push(async () => {
      await Promise.allSettled([conn.close(), server.close()]);
      await listener.close();
    });
    const at = new Collector(server);
    const owner: OutboxOwner = {
      connection: conn,
      codec: new EnvelopeCodec(),
      slow: () => {},
      report: (error) => {
        throw error;
      },
      closedError: () => connectionClosedError(conn.remoteAddress),
      closeConnection: (error) => void conn.close(error),
    };
    const outbox = new Outbox(owner, { maxQueuedBytes: 64 * 1024 * 1024, writeStallTimeoutMs: 0 });
    for (let round = 0; round < 3; round++) {
      const write = vi.spyOn(Socket.prototype, "write");
      const sends = [0, 1, 2].map(() => outbox.sendBytes(new Uint8Array(20).fill(round)));
      await turn();
      // The first bundle and the tick's later one, in the connection's one flush.
      expect(write).toHaveBeenCalledTimes(1);
      write.mockRestore();
      await Promise.all(sends);
    }
    // Each tick: a bundle of one message, then one of two.
    await at.waitFor(6);
    expect(at.frames.map((frame) => frame.byteLength)).toEqual([24, 48, 24, 48, 24, 48]);
    outbox.close(owner.closedError());
  });
});
