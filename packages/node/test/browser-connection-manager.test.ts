// The page's connection manager (the `#connection-manager` import under the
// browser condition): Node's manager, loaded only when it has work. Until
// then the page shows the same status; once a peer the page can dial is known
// and not connected, Node's manager is loaded, told what the page saw, and
// dials as in Node, including the longest backoff for a peer that left on purpose.
import { generateIdentity } from "@xppg/secure";
import { describe, expect, it } from "vitest";
import type { XppgError } from "@xppg/errors";
import { ConnectionManager, type LoadConnectionManager } from "../src/browser/connection-manager.js";
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

/** Peers whose link the manager closed (trimmed). */
const closed: string[] = [];

function session(peerId: string, outbound = true): PeerSession {
  return { peerId, everOpened: true, connection: { outbound, remoteHost: "127.0.0.1" }, close: () => closed.push(peerId) } as unknown as PeerSession;
}

/**
 * Node's manager as a page loads it, counting loads; `fail` makes the next loads reject, `hold` keeps them pending until `release()`,
 * `broken` makes the loaded manager's constructor throw (a bug in the code downloaded).
 */
function loader() {
  const l = {
    loads: 0,
    fail: 0,
    broken: false,
    held: undefined as (() => void) | undefined,
    hold: false,
    /** The latest load, settled or not. */
    last: undefined as Promise<unknown> | undefined,
    load: (() => {
      l.loads++;
      const loading = (async () => {
        if (l.fail > 0) {
          l.fail--;
          throw new Error("the site is unreachable");
        }
        if (l.hold) await new Promise<void>((resolve) => (l.held = resolve));
        const code = await import("../src/connection-manager.js");
        if (!l.broken) return code;
        class Broken {
          constructor() {
            throw new Error("a bug in the manager's constructor");
          }
        }
        return { ...code, ConnectionManager: Broken as unknown as typeof code.ConnectionManager };
      })();
      l.last = loading;
      return loading;
    }) as LoadConnectionManager,
    release: () => l.held?.(),
  };
  return l;
}

function setup(settings = CONNECTION_DEFAULTS) {
  const open = new Map<string, PeerSession>();
  const table = { open, peers: open } as unknown as PeerTable;
  const book = new AddressBook();
  const timers = manualTimers();
  const dials: [string, string][] = [];
  const reported: XppgError[] = [];
  const load = loader();
  const manager = new ConnectionManager({
    localPeerId: generateIdentity().peerId,
    settings,
    table,
    book,
    // Never answers: the test looks at what was dialled.
    dial: (address, peerId) => (dials.push([address, peerId]), new Promise(() => {})),
    canDial: (address) => address.startsWith("ws://"),
    running: () => true,
    timers,
    random: () => 0.5,
    report: (error) => reported.push(error),
  }, load.load);
  const learn = (peerId: string, addresses: string[]) => {
    book.add({ peerId, addresses, learnt: "presence", informant: "", record: undefined, time: Date.now() });
    manager.learnt(peerId);
  };
  return { open, book, timers, dials, manager, learn, load, reported };
}

describe("the connection manager in a browser page", () => {
  it("shows Node's status before it loads, and dials a member listening on WebSocket once it has loaded", async () => {
    const { open, timers, dials, manager, learn, load } = setup();
    const neighbour = generateIdentity().peerId;
    open.set(neighbour, session(neighbour));
    // The neighbour it joined (connected) and a member on TCP (a page cannot dial it): nothing to do.
    learn(neighbour, ["ws://127.0.0.1:7338"]);
    learn(generateIdentity().peerId, ["tcp://127.0.0.1:7337"]);
    expect(manager.status).toEqual({ lowWater: 4, highWater: 32, connected: 1, known: 2, dials: 0, dialsRefused: 0, trimmed: 0 });
    expect(load.loads).toBe(0);
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
    const { open, book, timers, dials, manager, learn, load } = setup();
    const banned = generateIdentity().peerId;
    open.set(banned, session(banned));
    learn(banned, ["tcp://127.0.0.1:7500"]);
    open.delete(banned);
    manager.ended(session(banned), new PlaygroundError(NODE_ERROR_CODES.BANNED, "banned"));
    // Forgotten at once, as Node's manager would, though a page cannot dial it and so loads nothing.
    expect(book.get(banned)).toBeUndefined();
    expect(load.loads).toBe(0);
    const bridge = generateIdentity().peerId;
    open.set(bridge, session(bridge));
    learn(bridge, ["ws://127.0.0.1:7338"]);
    open.delete(bridge);
    manager.ended(session(bridge), new PlaygroundError(NODE_ERROR_CODES.PEER_SHUTDOWN, "shutting down"));
    // Node's manager is loaded now, and told of the loss it did not see.
    await expect.poll(() => timers.due.length).toBeGreaterThan(0);
    expect(load.loads).toBe(1);
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

  it("forgets a banned peer with automatic dials off (lowWater 0), and a replay does not learn it again", async () => {
    const { open, book, timers, dials, manager, learn, load } = setup({ ...CONNECTION_DEFAULTS, lowWater: 0, highWater: 1 });
    const banned = generateIdentity().peerId;
    open.set(banned, session(banned));
    learn(banned, ["ws://127.0.0.1:7500"]);
    open.delete(banned);
    manager.ended(session(banned), new PlaygroundError(NODE_ERROR_CODES.NOT_ALLOWED, "not allowed"));
    expect(book.get(banned)).toBeUndefined();
    expect(load.loads).toBe(0);
    // Two links, over the high mark of 1: the manager loads (the high mark trigger) and hands over what it saw.
    const a = generateIdentity().peerId;
    const b = generateIdentity().peerId;
    for (const peerId of [a, b]) {
      open.set(peerId, session(peerId, false));
      manager.opened(open.get(peerId)!);
    }
    await expect.poll(() => timers.due.length).toBeGreaterThan(0);
    expect(load.loads).toBe(1);
    timers.runDue();
    expect(book.get(banned)).toBeUndefined();
    expect(dials).toEqual([]);
    manager.stop();
  });

  it("hands over when each link opened, so the youngest is trimmed above the high mark", async () => {
    const { open, timers, manager, load } = setup({ ...CONNECTION_DEFAULTS, lowWater: 1, highWater: 1 });
    closed.length = 0;
    const older = generateIdentity().peerId;
    const younger = generateIdentity().peerId;
    for (const [peerId, at] of [[older, 10], [younger, 20]] as const) {
      timers.clock = at;
      open.set(peerId, session(peerId, false));
      manager.opened(open.get(peerId)!);
    }
    // The hand-over runs later, at one instant: the planner must still know which link is the younger.
    timers.clock = 30;
    await expect.poll(() => timers.due.length).toBeGreaterThan(0);
    expect(load.loads).toBe(1);
    timers.runDue();
    expect(closed).toEqual([younger]);
    expect(manager.status).toMatchObject({ trimmed: 1 });
    manager.stop();
  });

  it("reports a failed load once, tries again at the check interval, then dials", async () => {
    const { timers, dials, manager, learn, load, reported } = setup();
    load.fail = 2;
    const member = generateIdentity().peerId;
    learn(member, ["ws://127.0.0.1:7401"]);
    await expect.poll(() => timers.due.length).toBe(1);
    expect(reported.map((e) => [e.name, e.code])).toEqual([["PlaygroundError", NODE_ERROR_CODES.CODE_NOT_LOADED]]);
    // A second failure: tried again, not reported again.
    timers.runDue();
    await expect.poll(() => load.loads).toBe(2);
    await expect.poll(() => timers.due.length).toBe(1);
    expect(reported).toHaveLength(1);
    timers.runDue();
    // Loaded at the third try: its first check dials the member.
    await expect.poll(() => load.loads).toBe(3);
    await expect.poll(() => timers.due.length).toBe(1);
    timers.runDue();
    expect(dials).toEqual([["ws://127.0.0.1:7401", member]]);
    manager.stop();
  });

  it("a manager that fails to start once loaded is reported once as internal, and neither retried nor loaded again", async () => {
    const { timers, dials, manager, learn, load, reported } = setup();
    load.broken = true;
    learn(generateIdentity().peerId, ["ws://127.0.0.1:7401"]);
    await expect.poll(() => reported.length).toBe(1);
    expect(reported.map((e) => [e.name, e.code])).toEqual([["PlaygroundError", NODE_ERROR_CODES.INTERNAL]]);
    // No retry timer: a bug does not go away by downloading the same code again.
    expect(timers.due).toEqual([]);
    // Another peer it could dial loads nothing more and reports nothing more.
    learn(generateIdentity().peerId, ["ws://127.0.0.1:7402"]);
    await load.last;
    expect(load.loads).toBe(1);
    expect(reported).toHaveLength(1);
    expect(dials).toEqual([]);
    manager.stop();
  });

  it("stop() ends the retries of a failed load, and a load that ends after stop() runs nothing", async () => {
    const failed = setup();
    failed.load.fail = 1;
    failed.learn(generateIdentity().peerId, ["ws://127.0.0.1:7401"]);
    await expect.poll(() => failed.timers.due.length).toBe(1);
    failed.manager.stop();
    expect(failed.timers.due).toEqual([]);

    const { timers, dials, manager, learn, load } = setup();
    load.hold = true;
    learn(generateIdentity().peerId, ["ws://127.0.0.1:7402"]);
    await expect.poll(() => load.held).toBeDefined();
    manager.stop();
    load.release();
    // The stand-in's handler of that load ran before this await resumes.
    await load.last;
    expect(load.loads).toBe(1);
    expect(timers.due).toEqual([]);
    expect(dials).toEqual([]);
    expect(manager.status).toMatchObject({ dials: 0 });
  });

  it("a connected member that leaves the mesh during the load, then drops, is dialled again", async () => {
    const { open, timers, dials, manager, learn, load } = setup();
    load.hold = true;
    const member = generateIdentity().peerId;
    open.set(member, session(member));
    learn(member, ["ws://127.0.0.1:7600"]);
    manager.opened(open.get(member)!);
    learn(generateIdentity().peerId, ["ws://127.0.0.1:7601"]);
    await expect.poll(() => load.held).toBeDefined();
    // The mesh says it left, but its link is still open: Node's manager would keep it.
    manager.forget(member);
    open.delete(member);
    manager.ended(session(member), undefined);
    load.release();
    await expect.poll(() => timers.due.length).toBeGreaterThan(0);
    // After its backoff (at most 1.5 s at the first loss), a check dials it again.
    for (let i = 0; i < 3 && !dials.some(([, p]) => p === member); i++) {
      timers.clock += 2_000;
      timers.runDue();
    }
    expect(dials.map(([, p]) => p)).toContain(member);
    manager.stop();
  });
});
