import { describe, expect, it, vi } from "vitest";
import type { Playground, PlaygroundStats } from "../src/index.js";
import { resolveOptions } from "../src/resolved-options.js";
import { nodeEvents, stopRooms, wireRooms } from "../src/rooms.js";
import { PlaygroundError } from "../src/errors.js";
import { node, stopNodesAfterEach, until } from "./helpers.js";

stopNodesAfterEach();

/** The nodes (by peer id) that made their routing room: the real room, counted, since when it is made is what is checked. */
const routingMadeBy = vi.hoisted(() => new Set<string>());
vi.mock("../src/routing-room.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/routing-room.js")>();
  class CountedRoutingRoom extends real.RoutingRoom {
    constructor(options: ConstructorParameters<typeof real.RoutingRoom>[0]) {
      super(options);
      routingMadeBy.add(options.identity.peerId);
    }
  }
  return { ...real, RoutingRoom: CountedRoutingRoom };
});

/** The rooms of one node, wired as the Playground wires them. */
function rooms(): ReturnType<typeof wireRooms> {
  const o = resolveOptions("lazy-app", {});
  let id = 0;
  return wireRooms(o, {
    events: nodeEvents(),
    stats: {} as PlaygroundStats,
    running: () => true,
    hello: () => ({ app: o.appName, protocol: o.offer.min, versions: [o.offer.min, o.offer.max], caps: [...o.offer.capabilities], peerId: o.identity.peerId, listen: [], agent: "test", time: Date.now() }),
    nextMessageId: () => ++id,
    announcePort: () => undefined,
  });
}

describe("rooms made at their first use", () => {
  it("a new node has made neither routing, nor requests, nor topics; each is made when first used, and stop closes only those made", async () => {
    const r = rooms();
    expect(Object.fromEntries(Object.entries(r.lazy).map(([name, room]) => [name, room.made]))).toEqual({ routing: false, requests: false, topics: false });
    const remove = r.requests.handle("ping", () => "pong", undefined);
    expect(typeof remove).toBe("function");
    expect(r.lazy.requests!.made).toBe(true);
    expect(r.topics.view.joined).toEqual([]);
    expect(r.lazy.topics!.made).toBe(true);
    expect(r.lazy.routing!.made).toBe(false);
    await stopRooms(r, r.table, new PlaygroundError("XPPG_ERR_PEER_SHUTDOWN", "stopping"), undefined);
    expect(r.lazy.routing!.made).toBe(false);
    // A room first used after stop is closed, as it would have been at stop.
    const elsewhere = resolveOptions("lazy-app", {}).identity.peerId;
    await expect(r.routing.send(elsewhere, "k", null)).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
    expect(r.lazy.routing!.made).toBe(true);
    r.closeState();
  });

  it("a request or a routed packet that reaches a node before its first own call is acted on", async () => {
    const nodes: Playground[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await node());
    const [a, b, c] = nodes as [Playground, Playground, Playground];
    await b.join(a.addresses[0]!);
    await c.join(b.addresses[0]!);
    // B has never made its request room: the request is still answered (no handler).
    await expect(a.request("nothing-here", {}, { to: b.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_NO_HANDLER" });
    // A request and its answer between neighbours make no routing room on either side.
    expect([routingMadeBy.has(a.peerId), routingMadeBy.has(b.peerId), routingMadeBy.has(c.peerId)]).toEqual([false, false, false]);
    // Neither B nor C has made its routing room: A's packets are forwarded by B and answered by C.
    await until(() => a.meshPeers.some((m) => m.peerId === c.peerId), 5000, "A hears of C");
    await expect(a.request("nothing-here", {}, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_NO_HANDLER" });
    c.handle("add-one", (_src, n: number) => n + 1);
    await expect(a.request("add-one", 41, { to: c.peerId })).resolves.toBe(42);
    // Routed, it made the room at each node on its way.
    expect([routingMadeBy.has(a.peerId), routingMadeBy.has(b.peerId), routingMadeBy.has(c.peerId)]).toEqual([true, true, true]);
  });

  it("a request and its response between two direct neighbours make the routing room on neither side", async () => {
    const [a, b] = [await node(), await node()];
    await b.join(a.addresses[0]!);
    b.handle("add-one", (_src, n: number) => n + 1);
    await expect(a.request("add-one", 41, { to: b.peerId })).resolves.toBe(42);
    expect([routingMadeBy.has(a.peerId), routingMadeBy.has(b.peerId)]).toEqual([false, false]);
  });

  it("a topic first asked for after stop is refused, as before", async () => {
    const pg = await node();
    await pg.stop();
    await expect(pg.joinTopic("band")).rejects.toMatchObject({ code: "XPPG_ERR_NOT_STARTED" });
    expect(pg.topics.joined).toEqual([]);
  });
});
