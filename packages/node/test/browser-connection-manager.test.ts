// The page's connection manager (the `#connection-manager` import under the
// browser condition): Node's manager, loaded only when it has work. Until
// then the page shows the same status; once a peer the page can dial is known
// and not connected, Node's manager is loaded, told what the page saw, and
// dials as in Node, including the longest backoff for a peer that left on purpose.
import { generateIdentity } from "@xppg/secure";
import { describe, expect, it } from "vitest";
import { ConnectionManager } from "../src/browser/connection-manager.js";
import { CONNECTION_DEFAULTS } from "../src/connection-options.js";
import { NODE_ERROR_CODES, PlaygroundError } from "../src/errors.js";
import { AddressBook } from "../src/mesh/address-book.js";
import type { MeshTimers } from "../src/mesh/timers.js";
import type { PeerSession } from "../src/peer-session.js";
import type { PeerTable } from "../src/peer-table.js";

/** Timers the test runs by hand: the manager's checks run when the test says so. */
function manualTimers(): MeshTimers & { clock: number; due: (() => void)[]; runDue(): void } {
  const t = {
    clock: 0,
    due: [] as (() => void)[],
    now: () => t.clock,
    setTimer: (_ms: number, fn: () => void) => (t.due.push(fn), fn),
    clearTimer: (fn: unknown) => void (t.due = t.due.filter((f) => f !== fn)),
    runDue: () => {
      const due = t.due;
      t.due = [];
      for (const fn of due) fn();
    },
  };
  return t;
}

function session(peerId: string): PeerSession {
  return { peerId, everOpened: true, connection: { outbound: true, remoteHost: "127.0.0.1" }, close: () => {} } as unknown as PeerSession;
}

function setup() {
  const open = new Map<string, PeerSession>();
  const table = { open, peers: open } as unknown as PeerTable;
  const book = new AddressBook();
  const timers = manualTimers();
  const dials: [string, string][] = [];
  const manager = new ConnectionManager({
    localPeerId: generateIdentity().peerId,
    settings: CONNECTION_DEFAULTS,
    table,
    book,
    // Never answers: the test looks at what was dialled.
    dial: (address, peerId) => (dials.push([address, peerId]), new Promise(() => {})),
    canDial: (address) => address.startsWith("ws://"),
    running: () => true,
    timers,
    random: () => 0.5,
  });
  const learn = (peerId: string, addresses: string[]) => {
    book.add({ peerId, addresses, learnt: "presence", informant: "", record: undefined, time: Date.now() });
    manager.learnt(peerId);
  };
  return { open, book, timers, dials, manager, learn };
}

describe("the connection manager in a browser page", () => {
  it("shows Node's status before it loads, and dials a member listening on WebSocket once it has loaded", async () => {
    const { open, timers, dials, manager, learn } = setup();
    const neighbour = generateIdentity().peerId;
    open.set(neighbour, session(neighbour));
    // The neighbour it joined (connected) and a member on TCP (a page cannot dial it): nothing to do.
    learn(neighbour, ["ws://127.0.0.1:7338"]);
    learn(generateIdentity().peerId, ["tcp://127.0.0.1:7337"]);
    expect(manager.status).toEqual({ lowWater: 4, highWater: 32, connected: 1, known: 2, dials: 0, dialsRefused: 0, trimmed: 0 });
    const member = generateIdentity().peerId;
    learn(member, ["tcp://127.0.0.1:7400", "ws://127.0.0.1:7401"]);
    // Loaded: its first check is scheduled, and dials the member at the address the page can dial.
    await expect.poll(() => timers.due.length).toBeGreaterThan(0);
    timers.runDue();
    expect(dials).toEqual([["ws://127.0.0.1:7401", member]]);
    expect(manager.status).toMatchObject({ connected: 1, known: 3, dials: 1 });
    manager.stop();
  });

  it("a neighbour that left on purpose waits out the longest backoff; a banned one is forgotten", async () => {
    const { open, book, timers, dials, manager, learn } = setup();
    const banned = generateIdentity().peerId;
    open.set(banned, session(banned));
    learn(banned, ["ws://127.0.0.1:7500"]);
    open.delete(banned);
    manager.ended(session(banned), new PlaygroundError(NODE_ERROR_CODES.BANNED, "banned"));
    // Node's manager is loaded and told of the loss: it forgets the peer.
    await expect.poll(() => book.get(banned)).toBeUndefined();
    const bridge = generateIdentity().peerId;
    open.set(bridge, session(bridge));
    learn(bridge, ["ws://127.0.0.1:7338"]);
    open.delete(bridge);
    manager.ended(session(bridge), new PlaygroundError(NODE_ERROR_CODES.PEER_SHUTDOWN, "shutting down"));
    await expect.poll(() => timers.due.length).toBeGreaterThan(0);
    timers.runDue();
    // Not yet: it shut down on purpose.
    expect(dials).toEqual([]);
    timers.clock = 59_999;
    timers.runDue();
    expect(dials).toEqual([]);
    // After the longest backoff (60 s, jitter 1x here), a check dials it again.
    timers.clock = 60_000;
    timers.runDue();
    expect(dials).toEqual([["ws://127.0.0.1:7338", bridge]]);
    manager.stop();
  });
});
