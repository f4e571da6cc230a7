import { describe, expect, test } from "vitest";
import { MessageCache } from "../../src/mesh/message-cache.js";
import { Plumtree, type TreeMessage } from "../../src/mesh/index.js";
import { EventQueue } from "./event-queue.js";

function cache(maxBytes: number, capacity = 1024) {
  const queue = new EventQueue();
  const c = new MessageCache<Uint8Array>({ timers: queue.timers(), capacity, maxBytes, ttlMs: 1_000, sizeOf: (b) => b.byteLength });
  const keep = (n: number, size: number) => c.keep(`o#${n}`, { origin: "o", id: n, payload: new Uint8Array(size), hops: 0, at: queue.now });
  return { queue, c, keep };
}

describe("MessageCache (issue 16: a burst of large broadcasts does not stay pinned)", () => {
  test("the total of payload bytes stays within maxBytes: the oldest messages go first", () => {
    const { c, keep } = cache(4 * 64 * 1024);
    for (let n = 0; n < 100; n++) keep(n, 64 * 1024);
    expect(c.bytes).toBe(4 * 64 * 1024);
    expect([...c.fresh()]).toHaveLength(4);
    expect(c.get("o#95")).toBeUndefined();
    expect([...c.fresh()].map((k) => k.id)).toEqual([96, 97, 98, 99]);
  });

  test("a message larger than maxBytes alone is not kept, and pushes nothing out", () => {
    const { c, keep } = cache(1000);
    keep(1, 400);
    keep(2, 1001);
    expect([...c.fresh()].map((k) => k.id)).toEqual([1]);
    expect(c.bytes).toBe(400);
  });

  test("the count bound still holds for small messages", () => {
    const { c, keep } = cache(Infinity, 3);
    for (let n = 0; n < 10; n++) keep(n, 10);
    expect([...c.fresh()].map((k) => k.id)).toEqual([7, 8, 9]);
  });

  test("messages past the age bound are dropped by the cache's own timer, with no new message to push them out", () => {
    const { c, keep, queue } = cache(Infinity);
    keep(1, 1000);
    queue.runUntil(500);
    keep(2, 1000);
    queue.runUntil(1_200);
    expect([...c.fresh()]).toHaveLength(1);
    expect(c.bytes).toBe(1000);
    queue.runUntil(1_600);
    expect(c.bytes).toBe(0);
  });

  test("keeping a key again replaces it and counts its bytes once", () => {
    const { c, keep } = cache(Infinity);
    keep(1, 1000);
    keep(1, 300);
    expect([...c.fresh()]).toHaveLength(1);
    expect(c.bytes).toBe(300);
  });
});

describe("Plumtree with a byte bound on its cache", () => {
  test("a graft for a broadcast pushed out by newer bytes gets nothing; one for a recent broadcast is answered", () => {
    const queue = new EventQueue();
    const sent: [string, TreeMessage<Uint8Array>][] = [];
    const tree = new Plumtree<Uint8Array>({
      self: "me",
      timers: queue.timers(),
      send: (to, m) => sent.push([to, m]),
      deliver: () => {},
      cacheMaxBytes: 2 * 1024,
      sizeOf: (b) => b.byteLength,
    });
    tree.neighborUp("a");
    tree.neighborUp("b");
    for (let id = 1; id <= 5; id++) tree.publish(id, new Uint8Array(1024));
    const gossipTo = (peer: string) => sent.filter(([to, m]) => to === peer && m.type === "gossip").map(([, m]) => (m as { id: number }).id);
    const before = gossipTo("b").length;
    tree.receive("b", { type: "graft", want: { origin: "me", id: 1 } });
    tree.receive("b", { type: "graft", want: { origin: "me", id: 5 } });
    expect(gossipTo("b").slice(before)).toEqual([5]);
  });
});
