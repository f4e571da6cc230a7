import { afterEach, describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { generateIdentity } from "@xppg/secure";
import type { Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { Playground } from "../src/index.js";
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
