import type { Connection, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it, vi } from "vitest";
import { Playground } from "../src/index.js";
import { collect, stopNodesAfterEach, track } from "./helpers.js";
import { errorsOf, leftOf, tcpNode, throwingTransport } from "./tcp-helpers.js";

stopNodesAfterEach();

const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };

describe("a message whose at-once write fails (real TCP, encrypted)", () => {
  it("pg.send rejects with a typed code, and the failure is reported once", async () => {
    const p = await tcpNode({ heartbeat: quietHeartbeat });
    const { transport, fail } = throwingTransport();
    const a = track(new Playground("test-app", { transports: [transport], listen: [], heartbeat: quietHeartbeat }));
    await a.start();
    await a.join(`tcp://127.0.0.1:${p.port}`);
    // Idle towards P (what was sent has arrived, in earlier turns): the next message is sealed and written at once.
    const warm = collect(p, "warm-up");
    await a.send("warm-up", 1, { to: p.peerId });
    await vi.waitFor(() => expect(warm).toHaveLength(1));
    const errors = errorsOf(a);
    const left = leftOf(a);
    fail();
    const outcome = await a.send("lost", { n: 1 }, { to: p.peerId }).then(
      () => "resolved",
      (error: { code?: string }) => error.code,
    );
    // The message never left: the caller is told so, with the connection's code.
    expect(outcome).toBe("XPPG_ERR_CONNECTION_RESET");
    await vi.waitFor(() => expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_CONNECTION_RESET" }]));
    // A few turns after the session ended: nothing reports it again.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_CONNECTION_RESET"]);
    // Its text says it was this side's failure, not the peer's.
    expect(errors[0]!.details?.local).toBe(true);
    expect(errors[0]!.message).toContain("failed on this side");
  });
});

describe("a custom connection that throws a plain error from send once it has closed", () => {
  it("the error is reported exactly once, and the peer leaves", async () => {
    const p = await tcpNode({ heartbeat: quietHeartbeat, dangerouslyDisableEncryption: true });
    const inner = tcpTransport();
    let conn: Connection | undefined;
    let closedAlready = false;
    // Its contract broken: once closed (its close event still to come) it throws from send instead of rejecting.
    const transport = Object.assign(Object.create(inner) as Transport, {
      dial: async (address: string, options?: Parameters<Transport["dial"]>[1]) => {
        const c = await inner.dial(address, options);
        const isClosed = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(c) as object, "isClosed")?.get;
        Object.defineProperty(c, "isClosed", { get: () => closedAlready || (isClosed?.call(c) as boolean) });
        const send = c.send.bind(c);
        const sendParts = c.sendParts.bind(c);
        const trip = (): void => {
          if (closedAlready) throw new Error("x");
        };
        c.send = (frame) => (trip(), send(frame));
        c.sendParts = (parts) => (trip(), sendParts(parts));
        return (conn = c);
      },
    });
    const a = track(new Playground("test-app", { transports: [transport], listen: [], heartbeat: quietHeartbeat, dangerouslyDisableEncryption: true }));
    await a.start();
    await a.join(`tcp://127.0.0.1:${p.port}`);
    const warm = collect(p, "warm-up");
    await a.send("warm-up", 1, { to: p.peerId });
    await vi.waitFor(() => expect(warm).toHaveLength(1));
    const errors = errorsOf(a);
    const left = leftOf(a);
    closedAlready = true;
    setImmediate(() => void conn!.close());
    await expect(a.send("lost", { n: 1 }, { to: p.peerId })).rejects.toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_/) as unknown });
    await vi.waitFor(() => expect(left.map((l) => l.peerId)).toEqual([p.peerId]));
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    const x = errors.filter((e) => (e.cause as Error | undefined)?.message === "x");
    expect(x).toHaveLength(1);
    expect(x[0]!.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
  });
});
