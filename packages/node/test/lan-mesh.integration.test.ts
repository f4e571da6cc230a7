// Playground's LAN discovery between network namespaces on one bridge (the
// project's lab: tools/netlab/netlab.sh lan-up). Each node is a process in
// its own host namespace, importing the BUILT package (beforeAll builds it),
// listening on its lab address. Needs root and iproute2; otherwise skipped,
// saying why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { buildPackage, labSkipReason, LanLab, type Agent, type AgentEvent } from "../../../tools/test/netns-lab.js";

const AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures/lan-node.mjs");
const SKIP = labSkipReason();
if (SKIP) console.log(`[@xppg/node] LAN mesh integration tests SKIPPED: ${SKIP}`);

const lab = new LanLab(4);
const onExit = (): void => lab.down();
const node = (i: number, appName = "mesh-test"): Agent => lab.start(i, [AGENT, JSON.stringify({ appName, host: lab.ip(i) })]);

describe.skipIf(SKIP !== undefined)("Playground LAN discovery in the namespace lab", () => {
  const nodes: Agent[] = [];
  const peerIds: string[] = [];

  beforeAll(() => {
    buildPackage("@xppg/node");
    process.once("exit", onExit);
    lab.up();
  }, 180_000);

  afterAll(() => {
    lab.down();
    process.removeListener("exit", onExit);
  });

  it("three nodes form a full mesh within 2 s of the last start; a node of another app is not dialled", async () => {
    nodes.push(node(1), node(2), node(3), node(4, "another-app"));
    const starts = await Promise.all(nodes.map((n) => n.next((e) => e.event === "started", 20_000)));
    for (const s of starts) peerIds.push(s.peerId as string);
    const lastStart = Math.max(...starts.slice(0, 3).map((s) => s.at as number));
    const joins: AgentEvent[] = [];
    for (const i of [0, 1, 2]) {
      for (const j of [0, 1, 2]) if (i !== j) joins.push(await nodes[i]!.next((e) => e.event === "joined" && e.peerId === peerIds[j], 2_000));
    }
    const firstPeer = [0, 1, 2].map((i) => Math.min(...joins.slice(i * 2, i * 2 + 2).map((e) => e.at as number)) - (starts[i]!.at as number));
    console.log(
      `[@xppg/node] LAN mesh: ms from start to first joined peer: ${firstPeer.join(", ")}; full mesh ${Math.max(...joins.map((e) => e.at as number)) - lastStart} ms after the last start`,
    );
    // The other app: seen on the wire, never offered, never joined.
    for (const n of nodes) {
      n.send("peers");
      const p = await n.next((e) => e.event === "peers");
      expect((p.peers as string[]).length).toBe(n === nodes[3] ? 0 : 2);
    }
    for (const n of nodes.slice(0, 3)) expect(n.events.filter((e) => e.event === "discovered" && e.peerId === peerIds[3])).toEqual([]);
    expect(nodes[3]!.events.filter((e) => e.event === "discovered" || e.event === "joined")).toEqual([]);
  });

  it("a stopped node leaves the others' peers and candidates", async () => {
    nodes[2]!.send("stop");
    await nodes[2]!.next((e) => e.event === "stopped");
    for (const n of nodes.slice(0, 2)) {
      await n.next((e) => e.event === "left" && e.peerId === peerIds[2], 2_000);
      await expect
        .poll(async () => {
          n.send("peers");
          const seen = n.events.length;
          const p = await n.next((e) => e.event === "peers" && n.events.indexOf(e) >= seen);
          return p.candidates;
        })
        .toBe(1);
    }
  });

  it("a connection lost with the link is joined again by discovery once the link is back", async () => {
    // Nodes 1 and 2 are connected; host 2's cable is pulled for longer than the heartbeat timeout (6 s).
    lab.exec(2, "ip", "link", "set", "eth0", "down");
    const cut = Date.now();
    try {
      await nodes[0]!.next((e) => e.event === "left" && e.peerId === peerIds[1] && (e.at as number) >= cut, 15_000);
    } finally {
      lab.exec(2, "ip", "link", "set", "eth0", "up");
    }
    const back = Date.now();
    const rejoined = await nodes[0]!.next((e) => e.event === "joined" && e.peerId === peerIds[1] && (e.at as number) >= back, 10_000);
    console.log(`[@xppg/node] LAN rejoin: ${(rejoined.at as number) - back} ms after the link came back`);
  }, 40_000);
});
