import { afterEach, describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { generateIdentity } from "@xppg/secure";
import type { FrameSink, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground, type PlaygroundStats } from "../src/index.js";
import { PlaygroundError } from "../src/errors.js";
import { resolveOptions } from "../src/resolved-options.js";
import { nodeEvents, stopRooms, wireRooms } from "../src/rooms.js";
import { until } from "../../../tools/test/until.js";
import { RelayService } from "../src/relay-service.js";
import { relayTransport } from "../src/relay-transport.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
});

async function started(pg: Playground): Promise<Playground> {
  await pg.start();
  cleanup.push(() => pg.stop());
  return pg;
}

/** TCP on loopback, counting its dials; the first one does `first` instead when given. */
function countingDials(first?: () => ReturnType<Transport["dial"]>): Transport & { dials: number } {
  const inner = tcpTransport();
  const t = Object.assign(Object.create(inner) as Transport, {
    dials: 0,
    dial: (address: string, options?: Parameters<Transport["dial"]>[1]) => {
      t.dials++;
      return t.dials === 1 && first !== undefined ? first() : inner.dial(address, options);
    },
  });
  return t;
}

const codeOf = (r: PromiseSettledResult<unknown>): string => (r.status === "fulfilled" ? "fulfilled" : isXppgError(r.reason) ? r.reason.code : String(r.reason));

describe("join to a peer whose id it knows", () => {
  it("waits for a join to that peer already under way instead of dialling it a second time", async () => {
    const transport = countingDials();
    const a = await started(new Playground("dialer-test", { listen: ["tcp://127.0.0.1:0"] }));
    const b = await started(new Playground("dialer-test", { transports: [transport], listen: [] }));
    const address = a.addresses[0]!;
    const peers = await Promise.all([b.join(address, { peerId: a.peerId }), b.join(address, { peerId: a.peerId })]);
    expect(peers.map((p) => p.peerId)).toEqual([a.peerId, a.peerId]);
    expect(transport.dials).toBe(1);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);
  });

  it("reads the peer id from a relayed address: joins at once through one circuit, and a later join by that address dials nothing", async () => {
    const relay = new RelayService({ setupTimeoutMs: 1000 });
    const relayAddress = (await relay.start("tcp://127.0.0.1:0")).replace("tcp://", "relay://");
    cleanup.push(() => relay.close());
    const idA = generateIdentity();
    const a = await started(new Playground("dialer-test", { identity: idA, transports: [relayTransport({ peerId: idA.peerId, punch: false })], listen: [relayAddress] }));
    const b = await started(new Playground("dialer-test", { transports: [relayTransport({ punch: false })], listen: [] }));
    const address = a.addresses[0]!;
    expect(address).toBe(`${relayAddress}/p/${idA.peerId}`);
    const peers = await Promise.all([b.join(address), b.join(address)]);
    expect(peers.map((p) => p.peerId)).toEqual([idA.peerId, idA.peerId]);
    expect((await b.join(address)).peerId).toBe(idA.peerId);
    expect(relay.stats.circuitsOpened).toBe(1);
    expect(b.peers.map((p) => p.peerId)).toEqual([idA.peerId]);
  });

  it("checks the id a relayed address names: another node behind that reservation fails the join, and a join by that id waiting on it", async () => {
    const relay = new RelayService({ setupTimeoutMs: 1000 });
    const relayAddress = (await relay.start("tcp://127.0.0.1:0")).replace("tcp://", "relay://");
    cleanup.push(() => relay.close());
    // y reserves on the relay under x's id (a relay takes reservations first come, first served).
    const x = generateIdentity();
    await started(new Playground("dialer-test", { transports: [relayTransport({ peerId: x.peerId, punch: false })], listen: [relayAddress] }));
    const b = await started(new Playground("dialer-test", { transports: [relayTransport({ punch: false })], listen: [] }));
    const address = `${relayAddress}/p/${x.peerId}`;
    const joins = await Promise.allSettled([b.join(address), b.join(address, { peerId: x.peerId })]);
    expect(joins.map(codeOf)).toEqual(["XPPG_ERR_PEER_ID_MISMATCH", "XPPG_ERR_PEER_ID_MISMATCH"]);
    expect(b.peers).toEqual([]);
  });

  it("when the join it waited for fails, one waiting join dials and the others wait for it", async () => {
    const transport = countingDials(() => Promise.reject(new Error("the first dial fails")));
    const a = await started(new Playground("dialer-test", { listen: ["tcp://127.0.0.1:0"] }));
    const b = await started(new Playground("dialer-test", { transports: [transport], listen: [] }));
    const address = a.addresses[0]!;
    const joins = await Promise.allSettled([0, 1, 2].map(() => b.join(address, { peerId: a.peerId })));
    expect(joins.map((j) => j.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    expect(transport.dials).toBe(2);
  });

  it("a join that waits for another keeps its own deadline", async () => {
    // The first dial hangs for 10 s; the second join, waiting for it, has 500 ms.
    let firstDone = false;
    const transport = countingDials(() => new Promise((_, reject) => setTimeout(() => reject(new Error("hung")), 10_000).unref()));
    const a = await started(new Playground("dialer-test", { listen: ["tcp://127.0.0.1:0"] }));
    const b = await started(new Playground("dialer-test", { transports: [transport], listen: [] }));
    const address = a.addresses[0]!;
    const first = b.join(address, { peerId: a.peerId, timeoutMs: 30_000 }).finally(() => (firstDone = true));
    first.catch(() => {});
    const second = await Promise.allSettled([b.join(address, { peerId: a.peerId, timeoutMs: 500 })]);
    expect(second.map(codeOf)).toEqual(["XPPG_ERR_HANDSHAKE_TIMEOUT"]);
    expect(firstDone).toBe(false);
  });
});

/** TCP on loopback whose dialled connections hand up the first two frames they receive (Noise's reply, the peer's hello) and no more: the peer's welcome never arrives. */
function welcomeNeverArrives(): Transport {
  const inner = tcpTransport();
  return Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, options?: Parameters<Transport["dial"]>[1]) => {
      const conn = await inner.dial(address, options);
      let frames = 0;
      return new Proxy(conn, {
        get(target, name) {
          if (name === "read") return (sink: FrameSink) => target.read({ ...sink, frame: (data) => (++frames <= 2 ? sink.frame(data) : undefined) });
          const value: unknown = Reflect.get(target, name, target);
          return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  });
}

describe("joins aborted by their caller after the handshake", () => {
  it("leave no mark behind once no join is under way, however many peers they were to", async () => {
    // The node's own rooms, driven without the facade: the dialer is what is looked at.
    const o = resolveOptions("dialer-test", { transports: [welcomeNeverArrives()], listen: [] });
    let id = 0;
    const rooms = wireRooms(o, {
      events: nodeEvents(),
      stats: {} as PlaygroundStats,
      running: () => true,
      hello: () => ({ app: o.appName, protocol: o.offer.min, versions: [o.offer.min, o.offer.max], caps: [...o.offer.capabilities], peerId: o.identity.peerId, listen: [], agent: "test", time: Date.now() }),
      nextMessageId: () => ++id,
      announcePort: () => undefined,
    });
    cleanup.push(() => stopRooms(rooms, rooms.table, new PlaygroundError("XPPG_ERR_STOPPED", "test over"), undefined));
    await rooms.transports.listen(o.transports!, [], () => {}, undefined);
    for (let i = 0; i < 3; i++) {
      const peer = await started(new Playground("dialer-test", { listen: ["tcp://127.0.0.1:0"] }));
      for (let round = 0; round < 2; round++) {
        const abort = new AbortController();
        const join = rooms.dialer.join({ address: peer.addresses[0]!, timeoutMs: 10_000, signal: abort.signal });
        join.catch(() => {});
        // Admitted here (the peer's hello read), waiting for the peer's welcome: the caller gives up.
        await until(() => rooms.table.peers.has(peer.peerId), 5000, "the peer admitted");
        abort.abort();
        await expect(join).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
        await until(() => !rooms.table.peers.has(peer.peerId), 5000, "the aborted connection gone");
      }
    }
    expect(rooms.dialer.abortMarks).toBe(0);
  });

  it("mark the other dials under way, and a waiting join's mark is spent by its one dial more", async () => {
    // The first dial never hands up the peer's welcome; the second reads everything; a third waits until let through.
    const inner = tcpTransport();
    let dials = 0;
    let secondClosed = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const transport = Object.assign(Object.create(inner) as Transport, {
      dial: async (address: string, options?: Parameters<Transport["dial"]>[1]) => {
        const n = dials++;
        if (n === 2) await released;
        const conn = await inner.dial(address, options);
        if (n === 1) void conn.closed.then(() => (secondClosed = true));
        if (n !== 0) return conn;
        let frames = 0;
        return new Proxy(conn, {
          get(target, name) {
            if (name === "read") return (sink: FrameSink) => target.read({ ...sink, frame: (data) => (++frames <= 2 ? sink.frame(data) : undefined) });
            const value: unknown = Reflect.get(target, name, target);
            return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
    });
    const o = resolveOptions("dialer-test", { transports: [transport], listen: [] });
    let id = 0;
    const rooms = wireRooms(o, {
      events: nodeEvents(),
      stats: {} as PlaygroundStats,
      running: () => true,
      hello: () => ({ app: o.appName, protocol: o.offer.min, versions: [o.offer.min, o.offer.max], caps: [...o.offer.capabilities], peerId: o.identity.peerId, listen: [], agent: "test", time: Date.now() }),
      nextMessageId: () => ++id,
      announcePort: () => undefined,
    });
    cleanup.push(() => stopRooms(rooms, rooms.table, new PlaygroundError("XPPG_ERR_STOPPED", "test over"), undefined));
    await rooms.transports.listen(o.transports!, [], () => {}, undefined);
    const peer = await started(new Playground("dialer-test", { listen: ["tcp://127.0.0.1:0"] }));
    const abort = new AbortController();
    const first = rooms.dialer.join({ address: peer.addresses[0]!, timeoutMs: 10_000, signal: abort.signal });
    first.catch(() => {});
    await until(() => rooms.table.peers.has(peer.peerId), 5000, "the first connection admitted");
    // The peer keeps the first (its welcome is never read here) and refuses the second: that join waits for the first to open.
    const second = rooms.dialer.join({ address: peer.addresses[0]!, timeoutMs: 10_000 });
    await until(() => secondClosed && rooms.table.sessions.size === 1, 5000, "the second connection refused");
    expect(rooms.dialer.abortMarks).toBe(0);
    abort.abort();
    // One mark for each dial under way: the aborted join's own, and the waiting join's.
    expect(rooms.dialer.abortMarks).toBe(2);
    await expect(first).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    await until(() => dials === 3, 5000, "the waiting join dials once more");
    // Spent by that dial: none is left while it is under way.
    expect(rooms.dialer.abortMarks).toBe(0);
    release();
    expect((await second).peerId).toBe(peer.peerId);
    expect(dials).toBe(3);
    expect(rooms.dialer.abortMarks).toBe(0);
  });
});
