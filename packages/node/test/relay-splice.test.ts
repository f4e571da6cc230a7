// The relay's circuit tokens and the splice of a circuit's two sockets, on real
// sockets on loopback: a token is single use, from the reserved peer's address
// only, and short-lived; floods of bad tokens and of silent connections are
// dropped and counted; a spliced circuit keeps its time limit.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { encodeFrame, FrameDecoder } from "@xppg/framing";
import { afterEach, describe, expect, it } from "vitest";
import { RelayService, type RelayServiceOptions } from "../src/relay-service.js";
import { relayTransport } from "../src/relay-transport.js";
import { decodeRelayMessage, encodeControl, type ClientMessage, type RelayMessage } from "../src/relay-wire.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
});

async function startRelay(options: RelayServiceOptions = {}): Promise<{ relay: RelayService; port: number }> {
  const relay = new RelayService({ setupTimeoutMs: 1000, ...options });
  const address = await relay.start("tcp://127.0.0.1:0");
  cleanup.push(() => relay.close());
  return { relay, port: Number(address.split(":").at(-1)) };
}

/** A raw client of the relay protocol: frames out, decoded relay messages in. */
async function client(port: number, localAddress = "127.0.0.1") {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, localAddress }, () => resolve(s));
    s.once("error", reject);
  });
  socket.on("error", () => {});
  cleanup.push(() => socket.destroy());
  const messages: (RelayMessage | undefined)[] = [];
  const raw: Uint8Array[] = [];
  const decoder = new FrameDecoder();
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk, (f) => {
      raw.push(new Uint8Array(f));
      messages.push(decodeRelayMessage(f));
    });
  });
  socket.once("close", () => (closed = true));
  return {
    socket,
    messages,
    raw,
    isClosed: () => closed,
    send: (m: ClientMessage) => socket.write(encodeFrame(encodeControl(m))),
  };
}

describe("circuit tokens", () => {
  it("a token works once, only from the reserved peer's address; a wrong or reused one is refused and counted", async () => {
    const { relay, port } = await startRelay();
    const reserver = await client(port);
    reserver.send({ t: "reserve", id: "target" });
    await expect.poll(() => reserver.messages[0]?.t).toBe("reserved");
    const dialer = await client(port);
    dialer.send({ t: "connect", to: "target" });
    await expect.poll(() => reserver.messages[1]?.t).toBe("incoming");
    const circuit = (reserver.messages[1] as Extract<RelayMessage, { t: "incoming" }>).circuit;
    // Another address (127.0.0.2 is loopback too) presenting the right token: refused.
    const thief = await client(port, "127.0.0.2");
    thief.send({ t: "accept", circuit });
    await expect.poll(() => thief.isClosed()).toBe(true);
    expect(thief.messages[0]?.t).toBe("refused");
    expect(relay.stats.badTokens).toBe(1);
    // The reserved peer's address: the circuit is spliced, bytes pass both ways untouched.
    const accepter = await client(port);
    accepter.send({ t: "accept", circuit });
    await expect.poll(() => accepter.messages[0]?.t).toBe("ready");
    await expect.poll(() => dialer.messages[0]?.t).toBe("ready");
    dialer.socket.write(encodeFrame(new Uint8Array([0, 1, 2, 3])));
    accepter.socket.write(encodeFrame(new Uint8Array([0, 9])));
    await expect.poll(() => accepter.raw[1]).toEqual(new Uint8Array([0, 1, 2, 3]));
    await expect.poll(() => dialer.raw[1]).toEqual(new Uint8Array([0, 9]));
    expect(relay.stats.circuits).toBe(1);
    // The same token again: it was used up.
    const again = await client(port);
    again.send({ t: "accept", circuit });
    await expect.poll(() => again.isClosed()).toBe(true);
    expect(again.messages[0]?.t).toBe("refused");
    expect(relay.stats.badTokens).toBe(2);
    expect(relay.stats.circuits).toBe(1);
  });

  it("a token expires with the setup time: the dialer is refused, a late accept is a bad token", async () => {
    const { relay, port } = await startRelay({ setupTimeoutMs: 300 });
    const reserver = await client(port);
    reserver.send({ t: "reserve", id: "slow" });
    const dialer = await client(port);
    await expect.poll(() => reserver.messages[0]?.t).toBe("reserved");
    dialer.send({ t: "connect", to: "slow" });
    await expect.poll(() => reserver.messages[1]?.t).toBe("incoming");
    await expect.poll(() => dialer.isClosed()).toBe(true);
    expect(dialer.messages[0]).toMatchObject({ t: "refused", reason: "the peer did not accept the circuit in time" });
    const late = await client(port);
    late.send({ t: "accept", circuit: (reserver.messages[1] as Extract<RelayMessage, { t: "incoming" }>).circuit });
    await expect.poll(() => late.isClosed()).toBe(true);
    expect(relay.stats.badTokens).toBe(1);
    expect(relay.stats.circuitsOpened).toBe(0);
  });

  it("a flood of data connections with made-up tokens is refused and counted, and the relay still serves", async () => {
    const { relay, port } = await startRelay();
    const flood = await Promise.all(Array.from({ length: 200 }, () => client(port)));
    for (const c of flood) c.send({ t: "accept", circuit: randomBytes(16).toString("hex") });
    await expect.poll(() => flood.every((c) => c.isClosed()), { timeout: 10_000 }).toBe(true);
    expect(relay.stats.badTokens).toBe(200);
    expect(relay.stats.circuitsOpened).toBe(0);
    const l = await relayTransport({ peerId: "after", punch: false }).listen(`relay://127.0.0.1:${port}`, () => {});
    cleanup.push(() => l.close());
    const c = await relayTransport({ punch: false }).dial(`relay://127.0.0.1:${port}/p/after`);
    cleanup.push(() => c.close());
    expect(relay.stats.circuitsOpened).toBe(1);
  });

  it("connections that say nothing are bounded per address: the rest are dropped at once and counted; the silent ones go after the setup time", async () => {
    const { relay, port } = await startRelay({ maxPendingConnectionsPerIp: 5, setupTimeoutMs: 1500 });
    const silent = await Promise.all(Array.from({ length: 20 }, () => client(port)));
    await expect.poll(() => silent.filter((c) => c.isClosed()).length).toBe(15);
    expect(relay.stats.dropped).toBe(15);
    // Another address still gets in.
    const other = await client(port, "127.0.0.2");
    other.send({ t: "reserve", id: "other" });
    await expect.poll(() => other.messages[0]?.t).toBe("reserved");
    // The five that never spoke are closed without an answer, and their address has room again.
    await expect.poll(() => silent.every((c) => c.isClosed()), { timeout: 5000 }).toBe(true);
    expect(silent.every((c) => c.messages.length === 0)).toBe(true);
    const back = await client(port);
    back.send({ t: "reserve", id: "back" });
    await expect.poll(() => back.messages[0]?.t).toBe("reserved");
    expect(relay.stats.dropped).toBe(15);
  });
});

describe("spliced circuits", () => {
  it("hundreds of circuits to one relay all open: a random local port that clashes with one in use is replaced", async () => {
    // 300 circuits are 601 sockets to one relay address from random local ports: some pair
    // all but surely draws the same port (birthday bound), which the OS refuses.
    const { relay, port } = await startRelay({ maxCircuits: 1000, maxCircuitsPerIp: 1000 });
    const l = await relayTransport({ peerId: "many", punch: false }).listen(`relay://127.0.0.1:${port}`, (c) => void cleanup.push(() => c.close()));
    cleanup.push(() => l.close());
    const dialer = relayTransport({ punch: false });
    for (let i = 0; i < 300; i++) {
      const c = await dialer.dial(`relay://127.0.0.1:${port}/p/many`);
      cleanup.push(() => c.close());
    }
    expect(relay.stats.circuits).toBe(300);
  });

  it("closing the relay closes its spliced circuits at both ends, and close() returns", async () => {
    const { relay, port } = await startRelay();
    let accepted: { closed: Promise<unknown> } | undefined;
    const l = await relayTransport({ peerId: "ending", punch: false }).listen(`relay://127.0.0.1:${port}`, (c) => (accepted = c));
    cleanup.push(() => l.close());
    const c = await relayTransport({ punch: false }).dial(`relay://127.0.0.1:${port}/p/ending`);
    await expect.poll(() => accepted).toBeDefined();
    await relay.close();
    await Promise.all([c.closed, accepted!.closed]);
    expect(c.isClosed).toBe(true);
  });

  it("a circuit past its duration is closed at both ends", async () => {
    const { relay, port } = await startRelay({ maxCircuitDurationMs: 300 });
    const l = await relayTransport({ peerId: "brief", punch: false }).listen(`relay://127.0.0.1:${port}`, () => {});
    cleanup.push(() => l.close());
    const c = await relayTransport({ punch: false }).dial(`relay://127.0.0.1:${port}/p/brief`);
    await c.closed;
    await expect.poll(() => relay.stats.circuits).toBe(0);
    expect(relay.stats.circuitsOpened).toBe(1);
  });
});
