import { isXppgError } from "@xppg/errors";
import { Collector, within } from "../src/compliance/index.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TRANSPORT_ERROR_CODES, TransportError, memoryTransport, type Connection, type Listener } from "../src/index.js";

const listeners: Listener[] = [];
const connections: Connection[] = [];
afterEach(async () => {
  await Promise.allSettled(connections.splice(0).map((c) => c.close()));
  await Promise.allSettled(listeners.splice(0).map((l) => l.close()));
});

async function pair(transport = memoryTransport()): Promise<{ dialer: Connection; accepted: Connection; listener: Listener }> {
  let accepted: Connection | undefined;
  const listener = await transport.listen("memory://", (c) => {
    accepted = c;
    connections.push(c);
  });
  listeners.push(listener);
  const dialer = await transport.dial(listener.address);
  connections.push(dialer);
  await within(
    (async () => {
      while (accepted === undefined) await new Promise((r) => setTimeout(r, 1));
    })(),
    "accept",
  );
  return { dialer, accepted: accepted!, listener };
}

describe("memoryTransport", () => {
  it("never delivers inside send()", async () => {
    const { dialer, accepted } = await pair();
    let delivered = 0;
    accepted.read({ frame: () => delivered++ });
    await new Promise((r) => setTimeout(r, 1));
    void dialer.send(new Uint8Array([1]));
    expect(delivered).toBe(0);
    await within(
      (async () => {
        while (delivered === 0) await new Promise((r) => setTimeout(r, 1));
      })(),
      "delivery",
    );
    expect(delivered).toBe(1);
  });

  it("names listeners: a fixed name, and LISTEN_FAILED when it is taken", async () => {
    const t = memoryTransport();
    const a = await t.listen("memory://alice-test", () => {});
    listeners.push(a);
    expect(a.address).toBe("memory://alice-test");
    expect(a.port).toBeUndefined();
    await expect(t.listen("memory://alice-test", () => {})).rejects.toMatchObject({ code: TRANSPORT_ERROR_CODES.LISTEN_FAILED });
    await a.close();
    // The name is free again once its listener closed.
    const again = await t.listen("memory://alice-test", () => {});
    listeners.push(again);
  });

  it("reaches a listener made by another memoryTransport() in the same process", async () => {
    const server = memoryTransport();
    const client = memoryTransport();
    const listener = await server.listen("memory://", (c) => connections.push(c));
    listeners.push(listener);
    const c = await client.dial(listener.address);
    connections.push(c);
    expect(c.remoteAddress).toBe(listener.address);
    expect(client.canDial(listener.address)).toBe(true);
  });

  it("reports XPPG_ERR_CONNECTION_RESET to the peer of close(error), with the error as cause", async () => {
    const { dialer, accepted } = await pair();
    const error = new TransportError(TRANSPORT_ERROR_CODES.PROTOCOL, "test");
    const at = new Collector(accepted);
    await dialer.close(error);
    const info = await within(accepted.closed, "peer closed");
    expect(info.initiator).toBe("remote");
    expect(isXppgError(info.error, TRANSPORT_ERROR_CODES.CONNECTION_RESET)).toBe(true);
    expect(info.error?.cause).toBe(error);
    expect((await at.sinkClosed()).error).toBe(info.error);
  });

  it("rejects a pending send with XPPG_ERR_CONNECTION_CLOSED when the peer closes", async () => {
    const { dialer, accepted } = await pair(memoryTransport({ highWaterMark: 10 }));
    accepted.pause();
    const sent = dialer.send(new Uint8Array(20));
    // Let the frame reach the paused receiver's buffer, then close there.
    await new Promise((r) => setTimeout(r, 5));
    await accepted.close();
    await expect(sent).rejects.toMatchObject({ code: TRANSPORT_ERROR_CODES.CONNECTION_CLOSED });
  });

  it("resolves a pending send when its own side closes cleanly (the frame was flushed)", async () => {
    const { dialer, accepted } = await pair(memoryTransport({ highWaterMark: 10 }));
    accepted.pause();
    const at = new Collector(accepted);
    const sent = dialer.send(new Uint8Array(20));
    await dialer.close();
    await sent;
    accepted.resume();
    await at.waitFor(1);
    expect((await at.sinkClosed()).initiator).toBe("remote");
  });

  it("discards frames not yet read when this side closes", async () => {
    const { dialer, accepted } = await pair();
    await dialer.send(new Uint8Array([1]));
    await new Promise((r) => setTimeout(r, 5));
    await accepted.close();
    const at = new Collector(accepted);
    expect((await at.sinkClosed()).initiator).toBe("local");
    expect(at.frames.length).toBe(0);
  });

  it("shows each end the other transport's host as remoteHost", async () => {
    const server = memoryTransport({ host: "192.0.2.1" });
    const client = memoryTransport({ host: "192.0.2.2" });
    let accepted: Connection | undefined;
    const listener = await server.listen("memory://", (c) => {
      accepted = c;
      connections.push(c);
    });
    listeners.push(listener);
    const dialer = await client.dial(listener.address);
    connections.push(dialer);
    await vi.waitFor(() => expect(accepted).toBeDefined());
    expect(dialer.remoteHost).toBe("192.0.2.1");
    expect(accepted!.remoteHost).toBe("192.0.2.2");
  });

  it("gives each transport a host of its own by default, the same on all its dials", async () => {
    const hosts: string[] = [];
    const listener = await memoryTransport().listen("memory://", (c) => {
      hosts.push(c.remoteHost);
      connections.push(c);
    });
    listeners.push(listener);
    const a = memoryTransport();
    const b = memoryTransport();
    for (const t of [a, a, b]) connections.push(await t.dial(listener.address));
    await vi.waitFor(() => expect(hosts.length).toBe(3));
    expect(hosts[1]).toBe(hosts[0]);
    expect(hosts[2]).not.toBe(hosts[0]);
  });

  it("checks its options", () => {
    expect(() => memoryTransport({ host: "" })).toThrow(RangeError);
    expect(() => memoryTransport({ maxFrameSize: -1 })).toThrow(RangeError);
    expect(() => memoryTransport({ highWaterMark: 0 })).toThrow(RangeError);
    expect(memoryTransport({ maxFrameSize: 10 }).maxFrameSize).toBe(10);
  });
});
