import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import type { Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground } from "../src/index.js";
import { stopNodesAfterEach, track, until } from "./helpers.js";

// stop() called while start() still waits for its listeners: the node stays stopped (start() rejects with
// XPPG_ERR_STOPPED), and the listener that opened after the stop is closed.

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
