// When a relayed circuit's onPath says "punched" (and when "relayed" after a punch that
// connected). The punch itself is not under test here: each end's punchTcp is handed one side
// of a loopback TCP connection when the test says so (a simultaneous open needs NATs that drop
// unsolicited SYNs; the namespace lab punches for real). The relay, the circuits, the switch
// marks and the direct path are the real ones.
import { createServer, connect, type Socket } from "node:net";
import { tcpConnectionFromSocket, tcpTransport } from "@xppg/transport-tcp";
import type { Connection, Transport } from "@xppg/transport";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CircuitConnection } from "../src/circuit-connection.js";
import type { PunchOptions, PunchResult } from "../src/hole-punch.js";
import { RelayService } from "../src/relay-service.js";
import { relayTransport } from "../src/relay-transport.js";

/** The punches asked for, each waiting for the test to settle it. */
const punches: { localPort: number; settle: (r: PunchResult) => void }[] = [];
vi.mock("../src/hole-punch.js", () => ({
  punchTcp: (options: PunchOptions) => new Promise<PunchResult>((settle) => void punches.push({ localPort: options.localPort, settle })),
}));

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
  punches.splice(0);
});

/** A loopback TCP connection: [dialler's side, accepting side]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<Socket>((r) => server.once("connection", r));
  const near = connect((server.address() as { port: number }).port, "127.0.0.1");
  const far = await accepted;
  server.close();
  cleanup.push(() => near.destroy(), () => far.destroy());
  return [near, far];
}

/**
 * A tcp transport whose connections the relay uses; while `hold` is on, what the relay sends
 * or closes waits (in order) until `release()`: a relay slow to pass the switch marks on.
 */
function holdingTransport() {
  const tcp = tcpTransport();
  const held: (() => void)[] = [];
  const state = { hold: false };
  const later = <T>(run: () => Promise<T>): Promise<T> => new Promise<T>((resolve, reject) => void held.push(() => void run().then(resolve, reject)));
  const transport = Object.assign(Object.create(tcp) as Transport, {
    listen: (address: string, onConnection: (c: Connection) => void) =>
      tcp.listen(address, (c) => onConnection(new Proxy(c, {
        get(target, name) {
          // Every frame goes through the held `send`: this connection lends no room of its send buffer.
          if (name === "lendRoom" || name === "sendLent" || name === "endLoan") return undefined;
          const value: unknown = Reflect.get(target, name, target);
          if (typeof value !== "function") return value;
          const fn = (value as (...a: unknown[]) => unknown).bind(target);
          if (name === "send" || name === "sendParts" || name === "close") {
            return (...args: unknown[]) => (state.hold ? later(() => fn(...args) as Promise<unknown>) : fn(...args));
          }
          return fn;
        },
      }))),
  });
  const release = (): void => {
    state.hold = false;
    for (const run of held.splice(0)) run();
  };
  return { transport, state, release };
}

/** A relay, a listener on it and a dialled circuit, punching with the test's sockets; each end's onPath events. */
async function punchingPair(relayTransportOption?: Transport, onListenerError?: (error: unknown) => void) {
  const relay = new RelayService({ setupTimeoutMs: 1000, ...(relayTransportOption === undefined ? {} : { transport: relayTransportOption }) });
  const address = (await relay.start("tcp://127.0.0.1:0")).replace("tcp://", "relay://");
  cleanup.push(() => relay.close());
  const events = { dialer: [] as string[], accepted: [] as string[] };
  const reasons = { dialer: [] as (string | undefined)[], accepted: [] as (string | undefined)[] };
  const listeners = { throws: false };
  const record = (side: "dialer" | "accepted") => (c: CircuitConnection, path: string, reason?: string) => {
    events[side].push(`${path}/${c.path}`);
    reasons[side].push(reason);
    if (listeners.throws) throw new Error(`listener of ${side} threw on ${path}`);
  };
  const extra = onListenerError === undefined ? {} : { onListenerError };
  const listenSide = relayTransport({ peerId: "listener", onPath: record("accepted"), ...extra });
  let accepted!: CircuitConnection;
  const l = await listenSide.listen(address, (c) => (accepted = c as CircuitConnection));
  cleanup.push(() => l.close());
  const dialer = (await relayTransport({ onPath: record("dialer"), ...extra }).dial(`${address}/p/listener`)) as CircuitConnection;
  await expect.poll(() => accepted).toBeDefined();
  cleanup.push(() => dialer.close(), () => accepted.close());
  await expect.poll(() => punches.length).toBe(2);
  const [near, far] = await socketPair();
  const punchOf = (c: CircuitConnection) => punches.find((p) => p.localPort === Number(c.localAddress.split(":").at(-1)))!;
  return {
    relay, dialer, accepted, events, reasons, near, far, listeners,
    /** Settles an end's punch with its side of the loopback connection (or a failure), and lets its upgrade run. */
    punch: async (side: "dialer" | "accepted", failed?: string) => {
      const conn = side === "dialer" ? dialer : accepted;
      const socket = side === "dialer" ? near : far;
      punchOf(conn).settle(failed === undefined ? { socket, attempts: 1 } : { socket: undefined, attempts: 1, reason: failed });
      await new Promise((r) => setImmediate(r));
    },
  };
}

function collect(c: Connection): string[] {
  const got: string[] = [];
  c.read({ frame: (f) => got.push(new TextDecoder().decode(f)) });
  return got;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("a relayed circuit's onPath", () => {
  it.each([["dialer", "accepted"], ["accepted", "dialer"]] as const)(
    "%s's punch connecting reports nothing at either end (its mark reaches the other before that one's punch); %s's then makes exactly one \"punched\" at each",
    async (first, second) => {
      const pair = await punchingPair();
      const got = { dialer: collect(pair.dialer), accepted: collect(pair.accepted) };
      const relayed = pair.relay.stats.bytesRelayed;
      await pair.punch(first);
      // The first end's switch mark goes through the relay (the other end reads it before its
      // own punch connects); what the first end sends goes directly. Nothing is reported yet.
      await pair[first].send(text("direct"));
      await expect.poll(() => pair.relay.stats.bytesRelayed).toBeGreaterThan(relayed);
      await turn();
      expect(pair.events).toEqual({ dialer: [], accepted: [] });
      expect([pair.dialer.path, pair.accepted.path]).toEqual(["relayed", "relayed"]);
      await pair.punch(second);
      await expect.poll(() => [...pair.events.dialer, ...pair.events.accepted]).toHaveLength(2);
      // Traffic both ways afterwards; still one event each.
      await pair.dialer.send(text("d"));
      await pair.accepted.send(text("a"));
      const other = first === "dialer" ? "accepted" : "dialer";
      await expect.poll(() => got[other]).toContain("direct");
      await expect.poll(() => [got.accepted.at(-1), got.dialer.at(-1)]).toEqual(["d", "a"]);
      await turn();
      expect(pair.events).toEqual({ dialer: ["punched/punched"], accepted: ["punched/punched"] });
      await expect.poll(() => pair.relay.stats.circuits).toBe(0);
    },
  );

  it("a circuit closed after this end's punch connected, before both directions moved, is reported \"relayed\" with the reason", async () => {
    const pair = await punchingPair();
    await pair.punch("dialer");
    // The accepting end never reads its side of the direct connection until it punches: read
    // it away so the dialler's direct path closes at once (not after its close timeout).
    pair.far.resume();
    await pair.dialer.close();
    await pair.accepted.closed;
    await pair.punch("accepted");
    await turn();
    expect(pair.events).toEqual({ dialer: ["relayed/relayed"], accepted: ["relayed/relayed"] });
    expect(pair.reasons.dialer[0]).toBe("the circuit was closed on this end before both directions moved to the direct path");
  });

  it("the other end's punch failed and the direct connection closed: the reason says so, not that a switch mark was late", async () => {
    const pair = await punchingPair();
    await pair.punch("dialer");
    await pair.punch("accepted", "no answer from the peer");
    pair.far.destroy();
    await pair.dialer.closed;
    await turn();
    expect(pair.events.dialer).toEqual(["relayed/relayed"]);
    expect(pair.reasons.dialer[0]).toMatch(/direct connection closed.*before both directions moved/);
    expect(pair.reasons.dialer[0]).not.toMatch(/switch mark/);
    expect(pair.reasons.accepted).toEqual(["no answer from the peer"]);
  });

  it("an app that closes the circuit on data that came directly before the other end's mark still gets one event (\"relayed\")", async () => {
    const holding = holdingTransport();
    const pair = await punchingPair(holding.transport);
    collect(pair.accepted);
    // The dialler closes its circuit on the first frame it is handed.
    pair.dialer.read({ frame: () => void pair.dialer.close() });
    await pair.punch("dialer");
    const relayed = pair.relay.stats.bytesRelayed;
    await pair.dialer.send(text("direct"));
    await expect.poll(() => pair.relay.stats.bytesRelayed).toBeGreaterThan(relayed); // the dialler's mark is passed on
    // The relay now holds what it passes on: the accepting end's mark waits there, while
    // what that end sends goes directly and the dialler keeps it until the mark comes.
    holding.state.hold = true;
    await pair.punch("accepted");
    await pair.accepted.send(text("early"));
    await expect.poll(() => pair.near.bytesRead).toBe(pair.far.bytesWritten);
    holding.release();
    await pair.dialer.closed;
    await pair.accepted.closed;
    await turn();
    expect(pair.events.dialer).toHaveLength(1);
    expect(pair.events.dialer[0]).toMatch(/^relayed\//);
    expect(pair.reasons.dialer[0]).toMatch(/before both directions moved/);
    expect(pair.events.accepted).toEqual(["punched/punched"]);
  });

  it.each([["upgraded by hand, then the transport's punches fail", true], ["the transport's punches fail, then upgraded by hand", false]] as const)(
    "one event per circuit when a manual upgrade() and the transport's punch mix: %s",
    async (_name, handFirst) => {
      const pair = await punchingPair();
      const [a, b] = await socketPair();
      const byHand = async (): Promise<void> => {
        pair.dialer.upgrade(tcpConnectionFromSocket(a, { outbound: true, maxFrameSize: 1024 * 1024 }));
        pair.accepted.upgrade(tcpConnectionFromSocket(b, { outbound: false, maxFrameSize: 1024 * 1024 }));
        await expect.poll(() => [pair.dialer.path, pair.accepted.path]).toEqual(["punched", "punched"]);
      };
      const fail = async (): Promise<void> => {
        await pair.punch("dialer", "no answer");
        await pair.punch("accepted", "no answer");
      };
      if (handFirst) await byHand();
      await fail();
      if (!handFirst) await byHand();
      await turn();
      const got = { dialer: collect(pair.dialer), accepted: collect(pair.accepted) };
      await pair.dialer.send(text("d"));
      await expect.poll(() => got.accepted).toEqual(["d"]);
      await pair.dialer.close();
      await pair.accepted.closed;
      await turn();
      expect(pair.events).toEqual(handFirst ? { dialer: ["punched/punched"], accepted: ["punched/punched"] } : { dialer: ["relayed/relayed"], accepted: ["relayed/relayed"] });
      if (!handFirst) expect(pair.reasons).toEqual({ dialer: ["no answer"], accepted: ["no answer"] });
    },
  );

  it("an onPath listener that throws on \"punched\" goes to onListenerError; the circuit carries on", async () => {
    const thrown: string[] = [];
    const pair = await punchingPair(undefined, (error) => thrown.push((error as Error).message));
    pair.listeners.throws = true;
    const got = collect(pair.accepted);
    await pair.punch("dialer");
    await pair.punch("accepted");
    await expect.poll(() => thrown.length).toBe(2);
    await pair.dialer.send(text("after"));
    await expect.poll(() => got).toEqual(["after"]);
    expect(thrown.sort()).toEqual(["listener of accepted threw on punched", "listener of dialer threw on punched"]);
  });

  it("an onPath listener that throws on \"relayed\" goes to onListenerError; the circuit carries on", async () => {
    const thrown: string[] = [];
    const other = await punchingPair(undefined, (error) => thrown.push((error as Error).message));
    other.listeners.throws = true;
    await other.punch("dialer", "no answer");
    await expect.poll(() => thrown).toContain("listener of dialer threw on relayed");
    expect(other.dialer.isClosed).toBe(false);
  });

  it("a direct path that does not open with the circuit's token is reported as the other end's doing, not this end's", async () => {
    const pair = await punchingPair();
    const [a, b] = await socketPair();
    pair.dialer.upgrade(tcpConnectionFromSocket(a, { outbound: true, maxFrameSize: 1024 * 1024 }));
    const wrong = tcpConnectionFromSocket(b, { outbound: false, maxFrameSize: 1024 * 1024 });
    wrong.read({ frame: () => {} });
    await wrong.send(text("not the circuit's token"));
    const info = await pair.dialer.closed;
    await turn();
    expect(info.initiator).toBe("remote");
    expect(pair.events.dialer).toEqual(["relayed/relayed"]);
    expect(pair.reasons.dialer[0]).toMatch(/^the other end broke the circuit's protocol \(XPPG_ERR_TRANSPORT_PROTOCOL\) before both directions moved/);
  });
});
