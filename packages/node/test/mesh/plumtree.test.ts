import { describe, expect, test } from "vitest";
import { Plumtree, type TreeMessage } from "../../src/mesh/index.js";
import { EventQueue } from "./event-queue.js";

/** One tree node with neighbours a, b, c, d; what it sends and delivers is recorded. */
function treeNode(options: { hopLimit?: number; seenCapacity?: number; cacheTtlMs?: number; maxMissing?: number } = {}) {
  const queue = new EventQueue();
  const sent: [string, TreeMessage<string>][] = [];
  const delivered: string[] = [];
  const tree = new Plumtree<string>({
    self: "me",
    timers: queue.timers(),
    send: (to, m) => sent.push([to, m]),
    deliver: (origin, id, payload, from, hops) => delivered.push(`${origin}#${id}:${payload} from ${from} in ${hops}`),
    ...options,
  });
  for (const peer of ["a", "b", "c", "d"]) tree.neighborUp(peer);
  const of = (type: TreeMessage<string>["type"]) => sent.filter(([, m]) => m.type === type);
  return { queue, sent, delivered, tree, of };
}

const gossip = (origin: string, id: number, round = 0): TreeMessage<string> => ({ type: "gossip", origin, id, round, payload: "x" });

describe("Plumtree", () => {
  test("a message from three neighbours is delivered once, pushed once to each other neighbour, and the two late senders are pruned", () => {
    const { tree, delivered, of } = treeNode();
    tree.receive("a", gossip("o", 1));
    tree.receive("b", gossip("o", 1));
    tree.receive("c", gossip("o", 1));
    expect(delivered).toEqual(["o#1:x from a in 1"]);
    expect(of("gossip").map(([to]) => to)).toEqual(["b", "c", "d"]);
    expect(of("prune").map(([to]) => to)).toEqual(["b", "c"]);
    expect([...tree.eagerPeers]).toEqual(["a", "d"]);
    expect(tree.stats.duplicates).toBe(2);
    // The next message goes only down the tree, and is announced on the pruned links.
    tree.receive("a", gossip("o", 2));
    expect(of("gossip").slice(3).map(([to]) => to)).toEqual(["d"]);
  });

  test("the hop limit: the last allowed hop is delivered and not forwarded; a message past it is dropped", () => {
    const { tree, delivered, sent, queue } = treeNode({ hopLimit: 3 });
    tree.receive("a", gossip("o", 1, 2));
    tree.receive("a", gossip("o", 2, 3));
    tree.receive("a", { type: "ihave", announcements: [{ origin: "o", id: 3, round: 3 }] });
    queue.runUntil(10_000);
    expect(delivered).toEqual(["o#1:x from a in 3"]);
    expect(sent).toEqual([]);
    expect(tree.stats.hopLimited).toBe(1);
  });

  test("an announced message that does not come is grafted from the announcer, then from the next one", () => {
    const { tree, queue, of } = treeNode();
    tree.receive("a", { type: "prune" });
    tree.receive("b", { type: "prune" });
    tree.receive("a", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 2 }] });
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 2 }] });
    queue.runUntil(399);
    expect(of("graft")).toEqual([]);
    queue.runUntil(400);
    expect(of("graft")).toEqual([["a", { type: "graft", want: { origin: "o", id: 1 } }]]);
    expect(tree.eagerPeers.has("a")).toBe(true);
    queue.runUntil(600);
    expect(of("graft").map(([to]) => to)).toEqual(["a", "b"]);
    tree.receive("b", gossip("o", 1, 2));
    queue.runUntil(5_000);
    expect(of("graft")).toHaveLength(2);
  });

  test("a graft is answered from the cache while it is fresh, and makes the link eager", () => {
    const { tree, queue, of } = treeNode({ cacheTtlMs: 1_000 });
    tree.receive("b", { type: "prune" });
    tree.receive("a", gossip("o", 1));
    expect(of("gossip").filter(([to]) => to === "b")).toHaveLength(0);
    tree.receive("b", { type: "graft", want: { origin: "o", id: 1 } });
    expect(of("gossip").filter(([to]) => to === "b")).toHaveLength(1);
    expect(tree.eagerPeers.has("b")).toBe(true);
    queue.runUntil(2_000);
    tree.receive("b", { type: "graft", want: { origin: "o", id: 1 } });
    expect(of("gossip").filter(([to]) => to === "b")).toHaveLength(1);
  });

  test("a new neighbour hears of the recent messages, in one announcement", () => {
    const { tree, queue, of } = treeNode();
    tree.receive("a", gossip("o", 1));
    tree.publish(1, "mine");
    tree.neighborUp("e");
    queue.runUntil(100);
    expect(of("ihave").filter(([to]) => to === "e")).toEqual([
      ["e", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 1 }, { origin: "me", id: 1, round: 0 }] }],
    ]);
  });

  test("bounded: the seen-cache forgets its oldest, announcements of fresh ids track at most maxMissing, strangers are ignored", () => {
    const { tree, queue, delivered, of } = treeNode({ seenCapacity: 4, maxMissing: 100 });
    for (let id = 1; id <= 5; id++) tree.receive("a", gossip("o", id));
    expect(tree.hasSeen("o", 1)).toBe(false);
    expect(tree.hasSeen("o", 5)).toBe(true);
    const flood = Array.from({ length: 10_000 }, (_, i) => ({ origin: "o", id: 1000 + i, round: 1 }));
    tree.receive("b", { type: "ihave", announcements: flood });
    queue.runUntil(60_000);
    expect(of("graft").length).toBeLessThanOrEqual(100);
    tree.receive("stranger", gossip("o", 99));
    expect(delivered.some((d) => d.startsWith("o#99"))).toBe(false);
    // This node's own message coming back is neither delivered nor forwarded.
    tree.publish(7, "mine");
    const before = of("gossip").length;
    tree.receive("c", gossip("me", 7, 3));
    expect(of("gossip").length).toBe(before);
    expect(delivered.some((d) => d.startsWith("me#"))).toBe(false);
  });

  test("an id published twice is refused", () => {
    const { tree } = treeNode();
    expect(tree.publish(1, "a")).toBe(true);
    expect(tree.publish(1, "b")).toBe(false);
  });
  test("a tree copy that comes after the graft's answer undoes the graft: the graftee is pruned, the slow tree link stays, and the wait learns the lag", () => {
    const { tree, queue, of, delivered } = treeNode();
    tree.receive("b", { type: "prune" });
    // a is the tree parent for o: its last message came from a first.
    tree.receive("a", gossip("o", 0));
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 0 }] });
    queue.runUntil(400);
    expect(of("graft")).toEqual([["b", { type: "graft", want: { origin: "o", id: 1 } }]]);
    tree.receive("b", gossip("o", 1));
    queue.runUntil(450);
    // a's copy was only slow.
    tree.receive("a", gossip("o", 1));
    expect(delivered).toEqual(["o#0:x from a in 1", "o#1:x from b in 1"]);
    expect(of("prune").map(([to]) => to)).toEqual(["b"]);
    expect(tree.eagerPeers.has("a")).toBe(true);
    expect(tree.lazyPeers.has("b")).toBe(true);
    expect(tree.stats.late).toBe(1);
    expect(tree.repairTimeoutFor("a")).toBeGreaterThan(450);
  });

  test("a tree parent late three times in a row has its link cut, instead of holding every broadcast back", () => {
    const { tree, queue, of } = treeNode();
    tree.receive("b", { type: "prune" });
    tree.receive("a", gossip("o", 0)); // a: the tree parent for o
    for (let id = 1; id <= 3; id++) {
      tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id, round: 0 }] });
      // Up to the graft and no further (b answers at once).
      for (let step = 0; step < 2000 && of("graft").length < id; step++) queue.runUntil(queue.now + 5);
      expect(of("graft").filter(([to]) => to === "b")).toHaveLength(id);
      tree.receive("b", gossip("o", id));
      tree.receive("a", gossip("o", id)); // a's copy, late again
    }
    // The first two late copies undid the graft (b pruned); the third cut a's link instead.
    expect(of("prune").map(([to]) => to)).toEqual(["b", "b", "a"]);
    expect(tree.lazyPeers.has("a")).toBe(true);
    expect(tree.eagerPeers.has("b")).toBe(true);
  });

  test("while the origin's tree parent is a tree link, an announcement waits the learnt lag before grafting; once the parent goes, the least wait", () => {
    const { tree, queue, of } = treeNode();
    tree.receive("b", { type: "prune" });
    tree.receive("a", gossip("o", 0));
    // One slow tree copy teaches the wait (as in the test above).
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 0 }] });
    queue.runUntil(300);
    tree.receive("a", gossip("o", 1));
    const wait = tree.repairTimeoutFor("a");
    expect(wait).toBeGreaterThan(400);
    // Next: announced by b, a (the parent) still a tree link: no graft at 400 ms.
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 2, round: 0 }] });
    queue.runUntil(queue.now + 400);
    expect(of("graft")).toEqual([]);
    // The parent's link breaks: the graft goes at once (the least wait has passed).
    tree.neighborDown("a");
    queue.runUntil(queue.now + 1);
    expect(of("graft")).toEqual([["b", { type: "graft", want: { origin: "o", id: 2 } }]]);
  });

  test("with no tree parent known for the origin, an announcement is grafted after the least wait whatever the tree's lag", () => {
    const { tree, queue, of } = treeNode();
    tree.receive("b", { type: "prune" });
    tree.receive("a", gossip("o", 0));
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 0 }] });
    queue.runUntil(300);
    tree.receive("a", gossip("o", 1));
    expect(tree.repairTimeoutFor("a")).toBeGreaterThan(400);
    tree.receive("b", { type: "ihave", announcements: [{ origin: "p", id: 1, round: 0 }] });
    const at = queue.now;
    queue.runUntil(at + 399);
    expect(of("graft")).toEqual([]);
    queue.runUntil(at + 400);
    expect(of("graft")).toEqual([["b", { type: "graft", want: { origin: "p", id: 1 } }]]);
  });

  test("the wait is learnt per parent: one slow parent does not hold back the graft for an origin whose parent is another neighbour", () => {
    const { tree, queue, of } = treeNode();
    const graftsFor = (origin: string) => of("graft").filter(([, m]) => m.type === "graft" && m.want?.origin === origin);
    tree.receive("b", { type: "prune" });
    tree.receive("a", gossip("o", 0)); // a: the tree parent for o
    tree.receive("c", gossip("p", 0)); // c: the tree parent for p
    // a is slow, and slower each time: its copies of o come just before the wait for them runs out.
    for (let id = 1; id <= 6; id++) {
      tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id, round: 0 }] });
      queue.runUntil(queue.now + tree.repairTimeoutFor("a") - 100);
      tree.receive("a", gossip("o", id));
      queue.runUntil(queue.now + 3_000);
    }
    expect(tree.repairTimeoutFor("a")).toBeGreaterThan(1_000);
    // p's next message, announced by b, does not come from c: grafted after the least wait, not a's.
    tree.receive("b", { type: "ihave", announcements: [{ origin: "p", id: 1, round: 0 }] });
    const at = queue.now;
    queue.runUntil(at + 399);
    expect(graftsFor("p")).toEqual([]);
    queue.runUntil(at + 400);
    expect(graftsFor("p")).toEqual([["b", { type: "graft", want: { origin: "p", id: 1 } }]]);
    expect(tree.repairTimeoutFor("c")).toBe(400);
    // An o message still waits a's learnt lag.
    const before = graftsFor("o").length;
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 7, round: 0 }] });
    queue.runUntil(queue.now + 400);
    expect(graftsFor("o")).toHaveLength(before);
    // The slow parent's link closes: its estimate goes with it.
    tree.neighborDown("a");
    expect(tree.repairTimeoutFor("a")).toBe(400);
  });

  test("announcements leave together after the flush wait, and one a lazy neighbour showed it has (by announcing it or sending a copy) is taken back", () => {
    const { tree, queue, of } = treeNode();
    for (const peer of ["b", "c", "d"]) tree.receive(peer, { type: "prune" });
    tree.receive("a", gossip("o", 1));
    tree.receive("a", gossip("o", 2));
    tree.receive("a", gossip("o", 3));
    // b announces 1, c sends a copy of 2: neither needs to hear of them from this node.
    tree.receive("b", { type: "ihave", announcements: [{ origin: "o", id: 1, round: 3 }] });
    tree.receive("c", gossip("o", 2, 3));
    queue.runUntil(99);
    expect(of("ihave")).toEqual([]);
    queue.runUntil(100);
    const ids = (to: string) => of("ihave").filter(([peer]) => peer === to).flatMap(([, m]) => (m.type === "ihave" ? m.announcements.map((a) => a.id) : []));
    expect(of("ihave")).toHaveLength(3);
    expect(ids("b")).toEqual([2, 3]);
    expect(ids("c")).toEqual([1, 3]);
    expect(ids("d")).toEqual([1, 2, 3]);
    expect(tree.stats.announced).toBe(7);
  });
});
