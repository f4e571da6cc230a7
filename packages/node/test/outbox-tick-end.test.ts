import { afterEach, describe, expect, it, vi } from "vitest";
import { collect, stopNodesAfterEach } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

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
