import { afterEach, describe, expect, it } from "vitest";
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

/** TCP on loopback, counting its dials. */
function countingDials(): Transport & { dials: number } {
  const inner = tcpTransport();
  const t = Object.assign(Object.create(inner) as Transport, {
    dials: 0,
    dial: (address: string, options?: Parameters<Transport["dial"]>[1]) => {
      t.dials++;
      return inner.dial(address, options);
    },
  });
  return t;
}

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
});
