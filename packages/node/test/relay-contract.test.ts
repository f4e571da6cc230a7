import type { XppgError } from "@xppg/errors";
import type { Connection, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { afterEach, describe, expect, it } from "vitest";
import type { CircuitConnection } from "../src/circuit-connection.js";
import { RelayService } from "../src/relay-service.js";
import { relayTransport } from "../src/relay-transport.js";
import { directPair } from "./direct-pair.js";

// A transport below the relay, or a direct path under a circuit, whose `close` closes the
// connection and then throws or rejects (a broken contract): the relay and the circuit close
// it all the same and report XPPG_ERR_TRANSPORT_CONTRACT; nothing escapes as an uncaught
// exception or an unhandled rejection (vitest fails the run on either), and the rest goes on.

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((f) => f()));
});

type How = "throw" | "reject";

/** `c`, its `close` closing it and then throwing or rejecting (once `armed()` says so). */
function breakClose(c: Connection, how: How, armed: () => boolean = () => true): Connection {
  const close = c.close.bind(c);
  c.close = (error) => {
    const closing = close(error);
    if (!armed()) return closing;
    if (how === "throw") throw new Error("injected close failure");
    return closing.then(() => Promise.reject(new Error("injected close failure")));
  };
  return c;
}

/** Real TCP whose accepted connections break `close` (while `armed()`). */
function closeFailingListener(how: How, armed?: () => boolean): Transport {
  const inner = tcpTransport();
  return Object.assign(Object.create(inner) as Transport, {
    listen: (address: string, handler: Parameters<Transport["listen"]>[1], o?: Parameters<Transport["listen"]>[2]) => inner.listen(address, (c) => handler(breakClose(c, how, armed)), o),
  });
}

async function startRelay(options: ConstructorParameters<typeof RelayService>[0]): Promise<{ relay: RelayService; address: string }> {
  const relay = new RelayService({ setupTimeoutMs: 1000, ...options });
  const tcp = await relay.start("tcp://127.0.0.1:0");
  cleanup.push(() => relay.close());
  return { relay, address: tcp.replace("tcp://", "relay://") };
}

/** A reservation under `peerId` and a circuit dialled to it; the listener's reservation may not have landed at the first dial. */
async function circuit(address: string, peerId: string, onListenerError?: (error: unknown) => void): Promise<{ dialer: CircuitConnection; accepted: CircuitConnection }> {
  let accepted: Connection | undefined;
  const l = await relayTransport({ peerId, punch: false }).listen(address, (c) => (accepted = c));
  cleanup.push(() => l.close());
  const dialer = (await relayTransport({ punch: false, ...(onListenerError === undefined ? {} : { onListenerError }) }).dial(`${address}/p/${peerId}`)) as CircuitConnection;
  await expect.poll(() => accepted).toBeDefined();
  cleanup.push(() => dialer.close(), () => accepted!.close());
  return { dialer, accepted: accepted as CircuitConnection };
}

/** One message through a circuit, dialler to listener. */
async function carries(c: { dialer: Connection; accepted: Connection }): Promise<void> {
  const got: string[] = [];
  c.accepted.read({ frame: (f) => void got.push(new TextDecoder().decode(f)) });
  await c.dialer.send(new TextEncoder().encode("still here"));
  await expect.poll(() => got).toEqual(["still here"]);
}

function expectContract(errors: XppgError[]): void {
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) {
    expect(e.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
    expect((e.cause as Error).message).toBe("injected close failure");
  }
}

describe("a relay over a transport whose connections' close throws or rejects", () => {
  it.each(["throw", "reject"] as const)("turning a client away (a circuit to an unknown peer) closes it, reports the broken close to onError, and the relay serves the next ones (%s)", async (how) => {
    let armed = true;
    const errors: XppgError[] = [];
    const { relay, address } = await startRelay({ transport: closeFailingListener(how, () => armed), onError: (e) => void errors.push(e) });
    await expect(relayTransport({ punch: false }).dial(`${address}/p/nobody`)).rejects.toMatchObject({ code: "XPPG_ERR_DIAL_FAILED" });
    await expect.poll(() => errors.length).toBe(1);
    expectContract(errors);
    expect(relay.stats.refused).toBe(1);
    armed = false;
    await carries(await circuit(address, "next"));
  });

  it.each(["throw", "reject"] as const)("turning a client away past the pending connections closes it, reported, and the relay goes on (%s)", async (how) => {
    const errors: XppgError[] = [];
    let armed = true;
    const { relay, address } = await startRelay({ transport: closeFailingListener(how, () => armed), maxPendingConnectionsPerIp: 1, onError: (e) => void errors.push(e) });
    // One silent connection holds this address's only pending slot: the next is dropped unread.
    const tcp = tcpTransport();
    const silent = await tcp.dial(address.replace("relay://", "tcp://"));
    cleanup.push(() => silent.close());
    const dropped = await tcp.dial(address.replace("relay://", "tcp://"));
    await dropped.closed;
    await expect.poll(() => errors.length).toBe(1);
    expectContract(errors);
    expect(relay.stats.dropped).toBe(1);
    armed = false;
    await silent.close();
    await carries(await circuit(address, "next"));
  });

  it.each(["throw", "reject"] as const)("ending a circuit closes both ends, each broken close reported, and the relay's next circuit carries (%s)", async (how) => {
    const errors: XppgError[] = [];
    let armed = false;
    const { relay, address } = await startRelay({ transport: closeFailingListener(how, () => armed), onError: (e) => void errors.push(e) });
    const first = await circuit(address, "first");
    await carries(first);
    armed = true;
    // The dialler leaves: the relay ends the circuit and closes both of its ends.
    await first.dialer.close();
    await first.accepted.closed;
    await expect.poll(() => relay.stats.circuits).toBe(0);
    await expect.poll(() => errors.length).toBe(2);
    expectContract(errors);
    armed = false;
    await carries(await circuit(address, "second"));
  });
});

describe("the relay's timed closes over a transport whose connections' close throws or rejects", () => {
  it.each(["throw", "reject"] as const)("a client that says nothing before the setup timeout is closed, the broken close reported (%s)", async (how) => {
    const errors: XppgError[] = [];
    const { relay, address } = await startRelay({ transport: closeFailingListener(how), setupTimeoutMs: 100, onError: (e) => void errors.push(e) });
    const silent = await tcpTransport().dial(address.replace("relay://", "tcp://"));
    cleanup.push(() => silent.close());
    await silent.closed;
    await expect.poll(() => errors.length).toBe(1);
    expectContract(errors);
    expect(relay.stats.refused + relay.stats.dropped).toBe(0);
  });

  it.each(["throw", "reject"] as const)("a circuit that reaches the time limit is ended, both ends' broken closes reported, and the next circuit carries (%s)", async (how) => {
    const errors: XppgError[] = [];
    let armed = true;
    // Broken from the start: the limit may run out before the circuit's set-up returns on a loaded machine.
    const { relay, address } = await startRelay({ transport: closeFailingListener(how, () => armed), maxCircuitDurationMs: 300, onError: (e) => void errors.push(e) });
    const first = await circuit(address, "timed");
    await first.accepted.closed;
    await expect.poll(() => relay.stats.circuits).toBe(0);
    await expect.poll(() => errors.length).toBe(2);
    expectContract(errors);
    armed = false;
    await carries(await circuit(address, "after"));
  });
});

describe("a circuit whose direct path's close throws or rejects", () => {
  it.each(["throw", "reject"] as const)("closing the circuit still closes it, with XPPG_ERR_TRANSPORT_CONTRACT, and the relay's next circuit carries (%s)", async (how) => {
    const { address } = await startRelay({});
    const { dialer, accepted } = await circuit(address, "upgraded");
    const { near } = await directPair(cleanup);
    dialer.upgrade(breakClose(near, how));
    await dialer.close();
    const info = await dialer.closed;
    expect(info.error?.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
    expect((info.error?.cause as Error).message).toBe("injected close failure");
    expect(near.isClosed).toBe(true);
    await accepted.closed;
    await carries(await circuit(address, "next"));
  });

  it.each(["throw", "reject"] as const)("a second upgrade's connection is closed, its broken close goes to onListenerError, and the circuit carries on (%s)", async (how) => {
    const { address } = await startRelay({});
    const reported: unknown[] = [];
    const c = await circuit(address, "twice", (e) => void reported.push(e));
    const first = await directPair(cleanup);
    const second = await directPair(cleanup);
    c.dialer.upgrade(first.near);
    c.dialer.upgrade(breakClose(second.near, how));
    await expect.poll(() => second.near.isClosed).toBe(true);
    // Still open: the other end, which has not moved, reaches it through the relay.
    expect(c.dialer.isClosed).toBe(false);
    await carries({ dialer: c.accepted, accepted: c.dialer });
    expect(reported).toHaveLength(1);
    expectContract(reported as XppgError[]);
  });
});

describe("the relay's other closes", () => {
  it("an onError that throws is ignored: nothing escapes, and the relay serves the next client", async () => {
    let armed = true;
    let calls = 0;
    const { address } = await startRelay({
      transport: closeFailingListener("reject", () => armed),
      onError: () => {
        calls++;
        throw new Error("a handler that throws");
      },
    });
    await expect(relayTransport({ punch: false }).dial(`${address}/p/nobody`)).rejects.toMatchObject({ code: "XPPG_ERR_DIAL_FAILED" });
    await expect.poll(() => calls).toBe(1);
    armed = false;
    await carries(await circuit(address, "next"));
  });

  it.each(["throw", "reject"] as const)("a dial-back's probe whose close breaks: answered reachable, the broken close reported (%s)", async (how) => {
    const errors: XppgError[] = [];
    const inner = tcpTransport();
    const transport = Object.assign(Object.create(inner) as Transport, {
      dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => breakClose(await inner.dial(address, o), how),
    });
    const { address } = await startRelay({ transport, onError: (e) => void errors.push(e) });
    const target = await inner.listen("tcp://127.0.0.1:0", () => {});
    cleanup.push(() => target.close());
    const l = await relayTransport({ peerId: "asker" }).listen(address, () => {});
    cleanup.push(() => l.close());
    expect(await l.dialback(Number(target.address.split(":").at(-1)))).toBe(true);
    await expect.poll(() => errors.length).toBe(1);
    expectContract(errors);
  });

  it("a dial-back is answered once its dial succeeded, not after its probe's close (which here never settles)", async () => {
    const inner = tcpTransport();
    const transport = Object.assign(Object.create(inner) as Transport, {
      dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => {
        const c = await inner.dial(address, o);
        const close = c.close.bind(c);
        c.close = (error) => {
          void close(error);
          return new Promise<void>(() => {});
        };
        return c;
      },
    });
    const { address } = await startRelay({ transport });
    const target = await inner.listen("tcp://127.0.0.1:0", () => {});
    cleanup.push(() => target.close());
    const l = await relayTransport({ peerId: "asker" }).listen(address, () => {});
    cleanup.push(() => l.close());
    expect(await l.dialback(Number(target.address.split(":").at(-1)))).toBe(true);
  });

  it("close() whose listener's close rejects still closes every connection, then rejects with that", async () => {
    const inner = tcpTransport();
    const transport = Object.assign(Object.create(inner) as Transport, {
      listen: async (...args: Parameters<Transport["listen"]>) => {
        const l = await inner.listen(...args);
        return Object.assign(Object.create(l) as typeof l, {
          close: async () => {
            await l.close();
            throw new Error("injected listener close failure");
          },
        });
      },
    });
    const relay = new RelayService({ setupTimeoutMs: 60_000, transport });
    const address = (await relay.start("tcp://127.0.0.1:0")).replace("relay://", "tcp://");
    // A client that has not spoken yet: an accepted connection the relay holds.
    const silent = await inner.dial(address);
    cleanup.push(() => silent.close());
    await expect(relay.close()).rejects.toThrow("injected listener close failure");
    const info = await silent.closed;
    expect(info.initiator).toBe("remote");
  });

  it("a connection given to a closed circuit's upgrade is closed; its broken close goes to onListenerError", async () => {
    const { address } = await startRelay({});
    const reported: unknown[] = [];
    const c = await circuit(address, "closed-first", (e) => void reported.push(e));
    await c.dialer.close();
    const tcp = tcpTransport();
    const listener = await tcp.listen("tcp://127.0.0.1:0", () => {});
    cleanup.push(() => listener.close());
    const late = breakClose(await tcp.dial(listener.address), "reject");
    c.dialer.upgrade(late);
    await expect.poll(() => late.isClosed).toBe(true);
    await expect.poll(() => reported.length).toBe(1);
    expectContract(reported as XppgError[]);
  });
});
