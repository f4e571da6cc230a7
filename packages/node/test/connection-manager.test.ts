import { createServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateIdentity } from "@xppg/secure";
import { PROTOCOL_VERSION, type Playground } from "../src/index.js";
import { isWildcardAddress } from "../src/connection-manager.js";
import { Dialer } from "../src/dialer.js";
import { signRecord, toWire } from "../src/peer-record.js";
import { stopNodesAfterEach, until, type RawPeer } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** Checks often, so the tests run in a second or two. */
const FAST = { connections: { checkIntervalMs: 50, redialBaseMs: 100 } };

/** A raw neighbour of the target over real TCP that speaks `pex/1`, to hand it peer records. */
async function informant(target: Playground): Promise<RawPeer> {
  const raw = await tcpRawPeer(target, { hello: false });
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["mesh/1", "pex/1"], peerId: raw.peerId, listen: [], agent: "raw" });
  await raw.send("xppg/welcome", null);
  await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "the informant is admitted");
  return raw;
}

describe("the connection manager", () => {
  it("an address of a peer where another node listens costs only that address: the peer is joined at its next one", async () => {
    const identity = generateIdentity();
    // Q listens where P's record says P listens first (another node on the dialler's LAN at P's LAN address).
    const [target, p, q] = await Promise.all([tcpNode(FAST), tcpNode({ identity, connections: { lowWater: 0 } }), tcpNode({ connections: { lowWater: 0 } })]);
    const raw = await informant(target);
    const addresses = [`tcp://127.0.0.1:${q.port}`, `tcp://127.0.0.1:${p.port}`];
    await raw.send("xppg/pex", [toWire(signRecord(identity, addresses, Date.now()), false)]);
    await until(() => target.peers.some((x) => x.peerId === p.peerId), 10_000, "the target joins P at its second address");
    expect(target.peers.find((x) => x.peerId === p.peerId)!.address).toBe(addresses[1]);
    expect(target.peers.some((x) => x.peerId === q.peerId)).toBe(false);
  });

  it("an address that reaches the dialler itself costs only that address too", async () => {
    const identity = generateIdentity();
    const [target, p] = await Promise.all([tcpNode(FAST), tcpNode({ identity, connections: { lowWater: 0 } })]);
    const raw = await informant(target);
    // The target's own address (not a wildcard: a host name the dialler does not know as itself).
    const addresses = [`tcp://localhost:${target.port}`, `tcp://127.0.0.1:${p.port}`];
    await raw.send("xppg/pex", [toWire(signRecord(identity, addresses, Date.now()), false)]);
    await until(() => target.peers.some((x) => x.peerId === p.peerId), 10_000, "the target joins P at its second address");
    expect(target.peers.find((x) => x.peerId === p.peerId)!.address).toBe(addresses[1]);
  });

  it("never dials a peer's wildcard addresses, `[::]` and `[::ffff:0.0.0.0]` included (they reach the dialler itself)", async () => {
    const identity = generateIdentity();
    const [target, p] = await Promise.all([tcpNode(FAST), tcpNode({ identity, connections: { lowWater: 0 } })]);
    const raw = await informant(target);
    const addresses = [`tcp://[::]:${target.port}`, `tcp://[::ffff:0.0.0.0]:${target.port}`, `tcp://127.0.0.1:${p.port}`];
    await raw.send("xppg/pex", [toWire(signRecord(identity, addresses, Date.now()), false)]);
    await until(() => target.peers.some((x) => x.peerId === p.peerId), 10_000, "the target joins P at its real address");
    // One dial in all: the real address. A dial to a wildcard would have reached the target itself first.
    expect(target.connections.dials).toBe(1);
  });

  it("knows every spelling of a wildcard host, the IPv4-mapped one included", () => {
    for (const a of ["tcp://0.0.0.0:7337", "tcp://[::]:7337", "tcp://[::ffff:0.0.0.0]:7337", "tcp://[0:0:0:0:0:0:0:0]:7337", "ws://0.0.0.0:7338/xppg", "tcp://0:7337"]) expect(isWildcardAddress(a), a).toBe(true);
    for (const a of ["tcp://127.0.0.1:7337", "tcp://[::1]:7337", "tcp://[::ffff:127.0.0.1]:7337", "relay://198.18.0.1:4100/p/x", "not an address"]) expect(isWildcardAddress(a), a).toBe(false);
  });
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("an address of a peer that reached another node", () => {
  afterEach(() => void vi.restoreAllMocks());

  /** The target learns P's record listing Q's address (another node: a wrong address for P) and then a closed port. */
  async function wrongThenClosed(connections: { checkIntervalMs: number; redialBaseMs: number; redialMaxMs?: number }) {
    const identity = generateIdentity();
    const [target, p, q] = await Promise.all([tcpNode({ connections }), tcpNode({ identity, connections: { lowWater: 0 } }), tcpNode({ connections: { lowWater: 0 } })]);
    // Every dial of P the target's manager makes (the dialer is observed, not replaced).
    const join = vi.spyOn(Dialer.prototype, "join");
    const dialled = (): string[] => join.mock.calls.filter(([d]) => d.peerId === p.peerId).map(([d]) => d.address);
    const raw = await informant(target);
    const wrong = `tcp://127.0.0.1:${q.port}`;
    const closed = `tcp://127.0.0.1:${await closedPort()}`;
    await raw.send("xppg/pex", [toWire(signRecord(identity, [wrong, closed], Date.now()), false)]);
    return { dialled, wrong, closed };
  }

  it("is not dialled again for that peer when its next address fails too", async () => {
    const { dialled, wrong, closed } = await wrongThenClosed(FAST.connections);
    await until(() => dialled().filter((a) => a === closed).length >= 2, 10_000, "the closed port is dialled twice");
    // The round after the closed port's first failure starts from the first address again: the wrong one is skipped.
    expect(dialled().slice(0, 3)).toEqual([wrong, closed, closed]);
  });

  it("is dialled again once redialMaxMs has passed (the peer may have moved there)", async () => {
    const { dialled, wrong } = await wrongThenClosed({ ...FAST.connections, redialMaxMs: 1500 });
    await until(() => dialled().filter((a) => a === wrong).length >= 2, 10_000, "the wrong address is dialled again");
  });

  it("is dialled again, before redialMaxMs, once the peer was reached (it may have moved there)", async () => {
    const identity = generateIdentity();
    const [target, q] = await Promise.all([tcpNode({ connections: { ...FAST.connections, redialMaxMs: 600_000 } }), tcpNode({ connections: { lowWater: 0 } })]);
    const join = vi.spyOn(Dialer.prototype, "join");
    const dialled = (): string[] => join.mock.calls.filter(([d]) => d.peerId === identity.peerId).map(([d]) => d.address);
    const raw = await informant(target);
    const wrong = `tcp://127.0.0.1:${q.port}`;
    const closed = `tcp://127.0.0.1:${await closedPort()}`;
    await raw.send("xppg/pex", [toWire(signRecord(identity, [wrong, closed], Date.now()), false)]);
    await until(() => dialled().filter((a) => a === closed).length >= 2, 10_000, "the closed port is dialled twice");
    // Marked wrong: the round after the first skips it.
    expect(dialled().slice(0, 3)).toEqual([wrong, closed, closed]);
    // P reaches the target itself (listing the same addresses), then its link breaks without a goodbye:
    // the target dials it again soon, from its first address.
    const p = await tcpRawPeer(target, { hello: false, identity });
    await p.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["mesh/1"], peerId: p.peerId, listen: [wrong, closed], agent: "raw" });
    await p.send("xppg/welcome", null);
    // Greeted (the manager heard of the link): the target sends its state digest then.
    await until(() => p.received.some((m) => m.kind === "xppg/state-hello"), 5000, "P's link is greeted");
    const before = dialled().length;
    await p.conn.close();
    await until(() => dialled().slice(before).includes(wrong), 10_000, "the once-wrong address is dialled again");
  });
});
