import { generateIdentity } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";
import { afterEach, describe, expect, it } from "vitest";
import { Playground } from "../src/index.js";
import { CircuitConnection } from "../src/circuit-connection.js";
import { FrameTap } from "../src/frame-tap.js";
import { RelayService } from "../src/relay-service.js";
import { relayTransport } from "../src/relay-transport.js";
import { directPair } from "./direct-pair.js";
import { encodeControl } from "../src/relay-wire.js";
import type { Connection } from "@xppg/transport";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
});

async function startRelay(options: ConstructorParameters<typeof RelayService>[0] = {}): Promise<{ relay: RelayService; address: string }> {
  const relay = new RelayService({ setupTimeoutMs: 1000, ...options });
  const tcp = await relay.start("tcp://127.0.0.1:0");
  cleanup.push(() => relay.close());
  return { relay, address: tcp.replace("tcp://", "relay://") };
}

/** A listener on the relay and a dialled circuit to it. */
async function circuitPair(address: string, punch: boolean) {
  // Each path reported, with the circuit's own path at that moment after a slash.
  const paths: string[] = [];
  const onPath = (c: CircuitConnection, p: string): void => void paths.push(`${p}/${c.path}`);
  const listenSide = relayTransport({ peerId: "listener", punch, punchTimeoutMs: 2000, onPath });
  let accepted!: Connection;
  const gotOne = new Promise<void>((resolve) => {
    void listenSide.listen(address, (c) => {
      accepted = c;
      resolve();
    }).then((l) => cleanup.push(() => l.close()));
  });
  await expect.poll(() => listenSide).toBeDefined();
  const dialSide = relayTransport({ punch, punchTimeoutMs: 2000, onPath });
  const dialer = await retryDial(() => dialSide.dial(`${address}/p/listener`));
  await gotOne;
  cleanup.push(() => dialer.close(), () => accepted.close());
  return { dialer: dialer as CircuitConnection, accepted: accepted as CircuitConnection, paths };
}

/** The listener's reservation may not have landed yet when the dial starts. */
async function retryDial(dial: () => Promise<Connection>): Promise<Connection> {
  for (let i = 0; ; i++) {
    try {
      return await dial();
    } catch (err) {
      if (i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}


function collect(c: Connection): string[] {
  const got: string[] = [];
  c.read({ frame: (f) => got.push(new TextDecoder().decode(f)) });
  return got;
}

describe("relayed circuits", () => {
  it("move to a direct path: order kept across the switch, and the relay carries nothing more", async () => {
    const { relay, address } = await startRelay();
    const { dialer, accepted, paths } = await circuitPair(address, false);
    const a = collect(accepted);
    const b = collect(dialer);
    const { near, far } = await directPair(cleanup);
    // Frames sent while the switch happens arrive whole and in order.
    for (let i = 0; i < 200; i++) {
      void dialer.send(new TextEncoder().encode(`d${i}`));
      void accepted.send(new TextEncoder().encode(`a${i}`));
      if (i === 50) dialer.upgrade(near);
      if (i === 120) accepted.upgrade(far);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => [dialer.path, accepted.path], { timeout: 5000 }).toEqual(["punched", "punched"]);
    // Each end reported "punched" once, when its circuit's path was punched (both directions moved).
    expect(paths).toEqual(["punched/punched", "punched/punched"]);
    await expect.poll(() => a.length, { timeout: 5000 }).toBe(200);
    await expect.poll(() => b.length, { timeout: 5000 }).toBe(200);
    expect(a).toEqual(Array.from({ length: 200 }, (_, i) => `d${i}`));
    expect(b).toEqual(Array.from({ length: 200 }, (_, i) => `a${i}`));
    // The relay's slot is freed and its counter stays put while traffic goes on directly.
    await expect.poll(() => relay.stats.circuits, { timeout: 5000 }).toBe(0);
    const relayed = relay.stats.bytesRelayed;
    for (let i = 0; i < 100; i++) await dialer.send(new Uint8Array(1000));
    await expect.poll(() => a.length, { timeout: 5000 }).toBe(300);
    expect(relay.stats.bytesRelayed).toBe(relayed);
  });

  it("a manual upgrade reports like a punch: a circuit closed before both directions moved is reported \"relayed\" with the reason", async () => {
    const { address } = await startRelay();
    const { dialer, accepted, paths } = await circuitPair(address, false);
    const { near, far } = await directPair(cleanup);
    cleanup.push(() => far.close());
    dialer.upgrade(near);
    await dialer.close();
    await accepted.closed;
    await expect.poll(() => paths).toEqual(["relayed/relayed"]);
  });

  it("an upgrade while the circuit is closing is reported \"relayed\" once it closed", async () => {
    const { address } = await startRelay();
    const { dialer, accepted, paths } = await circuitPair(address, false);
    const { near, far } = await directPair(cleanup);
    cleanup.push(() => far.close());
    const closing = dialer.close();
    dialer.upgrade(near);
    await closing;
    await accepted.closed;
    await expect.poll(() => paths).toEqual(["relayed/relayed"]);
    expect(near.isClosed).toBe(true);
  });

  it("until both directions moved, losing the relay ends the circuit at both ends (its onPath events: relay-path.test.ts)", async () => {
    const { relay, address } = await startRelay();
    const { dialer, accepted, paths } = await circuitPair(address, false);
    const a = collect(accepted);
    const { near } = await directPair(cleanup);
    await dialer.send(new TextEncoder().encode("relayed"));
    await expect.poll(() => a).toEqual(["relayed"]);
    // The dialler moves (its mark goes through the relay); the accepting end has not: neither is punched.
    dialer.upgrade(near);
    expect([dialer.path, accepted.path, paths]).toEqual(["relayed", "relayed", []]);
    // The relay goes now: the dialler never read the other's mark (frames of the other end
    // may have been lost with the relay), so the circuit ends at both ends, never reported
    // punched; the dialler, which had moved, reports "relayed".
    await relay.close();
    await Promise.all([dialer.closed, accepted.closed]);
    await expect.poll(() => paths).toEqual(["relayed/relayed"]);
  });

  it("stays relayed without punching, and the relay counts the bytes", async () => {
    const { relay, address } = await startRelay();
    const { dialer, accepted } = await circuitPair(address, false);
    const got = collect(accepted);
    await dialer.send(new Uint8Array(5000));
    await expect.poll(() => got.length).toBe(1);
    expect(dialer.path).toBe("relayed");
    expect(relay.stats.bytesRelayed).toBeGreaterThanOrEqual(5001);
  });

  it("a relay whose far side keeps up never stops reading (no pause and resume per frame)", async () => {
    let pauses = 0;
    const tcp = tcpTransport();
    // The relay's accepted connections, with their pause() counted.
    const counting = Object.assign(Object.create(tcp) as typeof tcp, {
      listen: (address: string, onConnection: (c: Connection) => void) =>
        tcp.listen(address, (c) => onConnection(new Proxy(c, {
          get(target, name) {
            if (name === "pause") return () => (pauses++, target.pause());
            const value: unknown = Reflect.get(target, name, target);
            return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }))),
    });
    const { address } = await startRelay({ transport: counting });
    const { dialer, accepted } = await circuitPair(address, false);
    const got = collect(accepted);
    for (let i = 0; i < 200; i++) await dialer.send(new Uint8Array(1000));
    await expect.poll(() => got.length).toBe(200);
    // 200 KB never fills the far side's 1 MiB buffer: no send waited, so reading never paused.
    expect(pauses).toBe(0);
  });

  it("a circuit over its bytes a second is slowed, not cut: everything arrives, in order", async () => {
    const { relay, address } = await startRelay({ maxCircuitBytesPerSecond: 100_000 });
    const { dialer, accepted } = await circuitPair(address, false);
    const got: Uint8Array[] = [];
    accepted.read({ frame: (f) => got.push(f.slice()) });
    for (let i = 0; i < 300; i++) {
      const frame = new Uint8Array(1000);
      new DataView(frame.buffer).setUint32(0, i);
      await dialer.send(frame);
    }
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(300);
    expect(got.map((f) => new DataView(f.buffer, f.byteOffset).getUint32(0))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(relay.stats.throttled).toBeGreaterThan(0);
    expect(dialer.isClosed).toBe(false);
  });

  it("a circuit over its byte limit is closed at both ends", async () => {
    const { relay, address } = await startRelay({ maxCircuitBytes: 10_000 });
    const { dialer, accepted } = await circuitPair(address, false);
    collect(accepted);
    for (let i = 0; i < 20; i++) dialer.send(new Uint8Array(1000)).catch(() => {});
    await Promise.all([dialer.closed, accepted.closed]);
    expect(relay.stats.circuits).toBe(0);
  });

  it("a direct path that does not open with the circuit's token is refused", async () => {
    const { address } = await startRelay();
    const { dialer, accepted } = await circuitPair(address, false);
    const { near, far } = await directPair(cleanup);
    dialer.upgrade(near);
    far.read({ frame: () => {} });
    await far.send(new Uint8Array(16).fill(9)); // not the token
    const info = await dialer.closed;
    expect(info.error?.code).toBe("XPPG_ERR_TRANSPORT_PROTOCOL");
    await accepted.closed;
  });

  it("the end detects a relay that corrupts a frame's tag", async () => {
    const { near: raw, far: server } = await directPair(cleanup);
    const circuit = new CircuitConnection(new FrameTap(raw), {
      outbound: true, remoteAddress: "relay://test", localAddress: raw.localAddress, remoteHost: "127.0.0.1",
      maxFrameSize: 1000, highWaterMark: 65536, token: new Uint8Array(16),
    });
    const got = collect(circuit);
    await server.send(new Uint8Array([0, 65]));
    await server.send(new Uint8Array([7, 66]));
    const info = await circuit.closed;
    expect(got).toEqual(["A"]);
    expect(info.error?.code).toBe("XPPG_ERR_TRANSPORT_PROTOCOL");
  });
});

describe("relay limits (hostile clients)", () => {
  it("one address cannot take every reservation slot", async () => {
    const { relay, address } = await startRelay({ maxReservationsPerIp: 3 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => relayTransport({ peerId: `squatter${i}` }).listen(address, () => {})));
    const held = results.filter((r) => r.status === "fulfilled");
    cleanup.push(...held.map((r) => () => r.value.close()));
    expect(held).toHaveLength(3);
    expect(relay.stats.reservations).toBe(3);
  });

  it("refuses reservations past the limit, and one peer id held twice", async () => {
    const { relay, address } = await startRelay({ maxReservations: 2, maxReservationsPerIp: 10 });
    const l1 = await relayTransport({ peerId: "p1" }).listen(address, () => {});
    const l2 = await relayTransport({ peerId: "p2" }).listen(address, () => {});
    cleanup.push(() => l1.close(), () => l2.close());
    await expect(relayTransport({ peerId: "p3" }).listen(address, () => {})).rejects.toMatchObject({ code: "XPPG_ERR_RELAY_REFUSED" });
    expect(relay.stats.reservations).toBe(2);
    await l2.close();
    await expect.poll(() => relay.stats.reservations).toBe(1);
    await expect(relayTransport({ peerId: "p1" }).listen(address, () => {})).rejects.toMatchObject({ code: "XPPG_ERR_RELAY_REFUSED" });
  });

  it("a reservation lasts while it is renewed, and ends when it is not", async () => {
    const { relay, address } = await startRelay({ reservationTtlMs: 1000 });
    const renewed = await relayTransport({ peerId: "renewing" }).listen(address, () => {});
    cleanup.push(() => renewed.close());
    // a client that reserves and never renews (a raw connection speaking the relay's messages)
    const raw = await tcpTransport().dial(address.replace("relay://", "tcp://"));
    const seen: string[] = [];
    raw.read({ frame: (f) => void seen.push(new TextDecoder().decode(f)) });
    await raw.send(encodeControl({ t: "reserve", id: "silent" }));
    await raw.closed; // expired after 1 s
    expect(seen.at(-1)).toContain("the reservation expired");
    // after three renewals (three half-lifetimes) the renewing one still holds its slot
    await expect.poll(() => relay.stats.renewals, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    expect(relay.stats.reservations).toBe(1);
    const dialed = await relayTransport({ punch: false }).dial(`${address}/p/renewing`);
    await dialed.close();
  });

  it("a circuit to an unknown peer fails, and thousands of requests leave nothing behind", async () => {
    const { relay, address } = await startRelay();
    const dialer = relayTransport();
    const error = await dialer.dial(`${address}/p/nobody`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "XPPG_ERR_DIAL_FAILED" });
    const results = await Promise.allSettled(Array.from({ length: 300 }, () => dialer.dial(`${address}/p/nobody`)));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(relay.stats.circuits).toBe(0);
    expect(relay.stats.reservations).toBe(0);
  });

  it("circuits per address are bounded", async () => {
    const { address } = await startRelay({ maxCircuitsPerIp: 2 });
    const l = await relayTransport({ peerId: "busy", punch: false }).listen(address, () => {});
    cleanup.push(() => l.close());
    const dialer = relayTransport({ punch: false });
    const ok = await Promise.all([dialer.dial(`${address}/p/busy`), dialer.dial(`${address}/p/busy`)]);
    cleanup.push(...ok.map((c) => () => c.close()));
    await expect(dialer.dial(`${address}/p/busy`)).rejects.toMatchObject({ code: "XPPG_ERR_DIAL_FAILED" });
  });

  it("malformed or oversized first messages are refused; dial-backs go only to the asker and are rate limited", async () => {
    const { relay, address } = await startRelay({ dialbacksPerIpPerMinute: 2 });
    const tcp = tcpTransport();
    const tcpAddress = address.replace("relay://", "tcp://");
    for (const bad of [new Uint8Array([1, 2, 3]), new TextEncoder().encode(JSON.stringify({ t: "connect", to: "x".repeat(2000) }))]) {
      const c = await tcp.dial(tcpAddress);
      c.read({ frame: () => {} });
      await c.send(bad);
      await c.closed;
    }
    expect(relay.stats.refused).toBe(2);
    const target = await tcp.listen("tcp://127.0.0.1:0", (c) => void c.close());
    cleanup.push(() => target.close());
    const port = Number(target.address.split(":").at(-1));
    const l = await relayTransport({ peerId: "asker" }).listen(address, () => {});
    cleanup.push(() => l.close());
    expect(await l.dialback(port)).toBe(true);
    await target.close();
    expect(await l.dialback(port)).toBe(false);
    // the third within a minute is refused, and the reservation stays
    expect(await l.dialback(port)).toBeUndefined();
    expect(relay.stats.dialbacks).toBe(2);
    expect(relay.stats.reservations).toBe(1);
  });

  it("a relay request names no address: a dial-back message naming another host is malformed", async () => {
    const { relay, address } = await startRelay();
    const c = await tcpTransport().dial(address.replace("relay://", "tcp://"));
    c.read({ frame: () => {} });
    await c.send(encodeControl({ t: "dialback", port: 9 }));
    await c.send(new TextEncoder().encode(JSON.stringify({ t: "dialback", port: 9, host: "203.0.113.1" })));
    await c.closed;
    expect(relay.stats.dialbacks).toBe(1);
  });
});

describe("Playground over a relay", () => {
  it("two nodes join through a relay and exchange messages over the end-to-end secure channel", async () => {
    const { relay, address } = await startRelay();
    const idA = generateIdentity();
    const a = new Playground("relay-test", { identity: idA, transports: [relayTransport({ peerId: idA.peerId, punch: false })], listen: [address] });
    const b = new Playground("relay-test", { transports: [relayTransport({ punch: false })], listen: [] });
    await a.start();
    await b.start();
    cleanup.push(() => a.stop(), () => b.stop());
    expect(a.addresses).toEqual([`${address}/p/${idA.peerId}`]);
    const got: unknown[] = [];
    a.on("hello", (_src, _kind, payload) => void got.push(payload));
    const peer = await b.join(a.addresses[0]!);
    expect(peer.peerId).toBe(idA.peerId);
    await b.send("hello", { text: "secret words" }, idA.peerId);
    await expect.poll(() => got).toEqual([{ text: "secret words" }]);
    expect(relay.stats.bytesRelayed).toBeGreaterThan(0);
  });
});
