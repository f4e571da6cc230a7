import { createHook } from "node:async_hooks";
import { connect, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { memoryTransport, type Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground, type NatResult } from "../src/index.js";
import { mappedResult, stopNodesAfterEach, track, until } from "./helpers.js";

// stop() called while start() still waits (for a listener, for the router's port mapping): the node stays stopped
// (start() rejects with XPPG_ERR_STOPPED), what opened after the stop is closed or removed, and the stop resolves only
// once the start has done so.

stopNodesAfterEach();

/** TCP whose `listen` waits for `open()` before it binds: start() is still waiting when the test calls stop(). */
function gatedTcp(): { transport: Transport; listening: () => boolean; open: () => void; port: () => number | undefined } {
  const inner = tcpTransport();
  let called = false;
  let port: number | undefined;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const transport = Object.assign(Object.create(inner) as Transport, {
    listen: async (...args: Parameters<Transport["listen"]>) => {
      called = true;
      await gate;
      const listener = await inner.listen(...args);
      port = listener.port;
      return listener;
    },
  });
  return { transport, listening: () => called, open, port: () => port };
}

/** The in-memory transport, counting its `listen` calls. */
function countedMemory(): { transport: Transport; listens: () => number } {
  const inner = memoryTransport();
  let n = 0;
  const transport = Object.assign(Object.create(inner) as Transport, {
    listen: (...args: Parameters<Transport["listen"]>) => (n++, inner.listen(...args)),
  });
  return { transport, listens: () => n };
}

/** Whether `port` on loopback can be bound again (nothing holds it). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Whether a TCP connection to `port` on loopback is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

describe("Playground: stop() during start()", () => {
  it("leaves the node stopped: start() rejects with XPPG_ERR_STOPPED, running is false, a send is refused, and the port refuses connections (before: running, the port open)", async () => {
    const gated = gatedTcp();
    const pg = track(new Playground("test-app", { host: "127.0.0.1", port: 0, transports: [gated.transport] }));
    const started = pg.start().then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    );
    await until(gated.listening, 5000, "start() listening");
    const stopped = pg.stop();
    gated.open();
    const [failed] = await Promise.all([started, stopped]);
    expect(failed?.code).toBe("XPPG_ERR_STOPPED");
    expect(failed?.message).toContain("stop() was called while this node was starting");
    expect(pg.running).toBe(false);
    const send = await pg.sendText("after the stop").then(
      () => "resolved",
      (error: Error & { code?: string }) => error.code,
    );
    expect(send).not.toBe("resolved");
    const port = gated.port();
    expect(port).toBeTypeOf("number");
    expect(await accepts(port!)).toBe(false);
  });
});

describe("Playground: stop() during start({ openPort })", () => {
  it("removes a mapping the router makes after the stop, and start() rejects with XPPG_ERR_STOPPED (before: start resolved mapped on a stopped node, the mapping kept)", async () => {
    let removed = 0;
    let mapping = false;
    let answer!: (r: NatResult) => void;
    const pg = track(
      new Playground("test-app", {
        listen: ["tcp://127.0.0.1:0"],
        portMapper: { map: () => ((mapping = true), new Promise<NatResult>((resolve) => (answer = resolve))) },
      }),
    );
    const started = pg.start({ openPort: true, openPortTimeoutMs: 60_000 }).then(
      (nat) => nat,
      (error: Error & { code?: string }) => error,
    );
    await until(() => mapping, 5000, "start() asking the mapper");
    const stopped = pg.stop();
    answer(mappedResult(pg.port ?? 1, "198.18.0.11", async () => void removed++));
    const [outcome] = await Promise.all([started, stopped]);
    expect((outcome as { code?: string }).code).toBe("XPPG_ERR_STOPPED");
    expect(pg.running).toBe(false);
    expect(removed).toBe(1);
  });
});

describe("Playground: stop() waits for a start() still opening its listeners", () => {
  it("resolves after start() closed the listener that opened after the stop, and the addresses left are not opened (before: stop resolved first, the port still to bind)", async () => {
    const first = countedMemory();
    const gated = gatedTcp();
    const pg = track(new Playground("test-app", { transports: [first.transport, gated.transport], listen: [`memory://start-stop-${process.pid}-a`, "tcp://127.0.0.1:0", `memory://start-stop-${process.pid}-b`] }));
    const order: string[] = [];
    const started = pg.start().then(
      () => (order.push("start"), undefined),
      (error: Error & { code?: string }) => (order.push("start"), error),
    );
    await until(gated.listening, 5000, "start() listening on its second address");
    const stopped = pg.stop().then(() => void order.push("stop"));
    // Opened when the stop resolves (before the fix it does so at once), else a little later: the order is the answer, not the wait.
    void stopped.then(gated.open);
    setTimeout(gated.open, 200);
    const [failed] = await Promise.all([started, stopped]);
    expect(order).toEqual(["start", "stop"]);
    expect(failed?.code).toBe("XPPG_ERR_STOPPED");
    const port = gated.port();
    expect(port).toBeTypeOf("number");
    expect(await accepts(port!)).toBe(false);
    expect(await bindable(port!)).toBe(true);
    expect(first.listens()).toBe(1);
  });
});

describe("Playground: stop() leaves no timer behind", () => {
  it("clears the bounds it waited within once what they waited for settled (before: two 2 s timers per stop were left to run out)", async () => {
    const a = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"] }));
    const b = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"] }));
    await a.start();
    await b.start();
    await b.join(a.addresses[0]!);
    await until(() => a.peers.length === 1, 5000, "a to see b");
    // The timers made during the two stops that are still pending after them (unref'd ones included, which
    // process.getActiveResourcesInfo() does not list): a cleared or fired timer is destroyed.
    const live = new Set<number>();
    const hook = createHook({
      init: (id, type) => void (type === "Timeout" && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    try {
      await Promise.all([a.stop(), b.stop()]);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      hook.disable();
    }
    expect(live.size).toBe(0);
  });
});

describe("Playground: a second stop() waits for the first", () => {
  it("resolves only once the first stop is done, the port closed, and gives the same promise (before: the second resolved at once, the stop still under way)", async () => {
    const a = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"] }));
    const b = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"] }));
    await a.start();
    await b.start();
    await b.join(a.addresses[0]!);
    await until(() => a.peers.length === 1, 5000, "a to see b");
    const port = Number(new URL(a.addresses[0]!).port);
    const order: string[] = [];
    const first = a.stop().then(() => void order.push("first"));
    const second = a.stop().then(() => void order.push("second"));
    await second;
    expect(order).toEqual(["first", "second"]);
    expect(a.running).toBe(false);
    expect(await accepts(port)).toBe(false);
    await first;
    // After the stop, a third call resolves too (the node stays stopped).
    await a.stop();
    expect(order).toEqual(["first", "second"]);
  });
});
