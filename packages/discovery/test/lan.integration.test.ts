// LAN discovery between network namespaces on one bridge (the project's lab:
// tools/netlab/netlab.sh lan-up). Each node runs in its own host namespace,
// importing the BUILT package (beforeAll builds it). Discovery traffic stays
// on the lab's bridge. Needs root and iproute2; otherwise skipped, saying why.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { appHash } from "../src/app-hash.js";
import { buildPackage, labSkipReason, LanLab, type Agent, type AgentEvent } from "../../../tools/test/netns-lab.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AGENT = path.join(HERE, "fixtures/lan-agent.mjs");
const FLOOD = path.join(HERE, "fixtures/flood.mjs");
const SKIP = labSkipReason();
if (SKIP) console.log(`[@xppg/discovery] LAN integration tests SKIPPED: ${SKIP}`);

const id = (i: number): string => `xp1${String(i).padStart(52, "l")}`;
const lab = new LanLab(5);
const onExit = (): void => lab.down();

function agent(i: number, extra: Record<string, unknown> = {}): Agent {
  return lab.start(i, [AGENT, JSON.stringify({ appName: "lan-test", peerId: id(i), port: 7000 + i, interface: lab.ip(i), ...extra })]);
}
const peerEvent = (peerId: string) => (e: AgentEvent) => e.event === "peer" && e.peerId === peerId;

describe.skipIf(SKIP !== undefined)("LAN discovery in the namespace lab", () => {
  const agents: Agent[] = [];

  beforeAll(() => {
    buildPackage("@xppg/discovery");
    process.once("exit", onExit);
    lab.up();
  }, 120_000);

  afterAll(() => {
    lab.down();
    process.removeListener("exit", onExit);
  });

  it("three nodes find each other within 2 s; a node of another app is not offered", async () => {
    agents.push(agent(1), agent(2), agent(3), agent(4, { appName: "another-app" }));
    // Process start-up on a loaded machine takes its time: the 2 s count from the last discovery started.
    const starts = await Promise.all(agents.slice(0, 3).map((a) => a.next((e) => e.event === "started", 15_000)));
    const waits: Promise<AgentEvent>[] = [];
    for (const i of [1, 2, 3]) for (const j of [1, 2, 3]) if (i !== j) waits.push(agents[i - 1]!.next(peerEvent(id(j)), 2_000));
    const found = await Promise.all(waits);
    const lastStart = Math.max(...starts.map((e) => e.at as number));
    const times = [0, 1, 2].map((k) => Math.max(...found.slice(k * 2, k * 2 + 2).map((e) => e.at as number)) - (starts[k]!.at as number));
    console.log(`[@xppg/discovery] three nodes: ms from each start to both peers found: ${times.join(", ")}; full mesh of candidates ${Math.max(...found.map((e) => e.at as number)) - lastStart} ms after the last start`);
    for (const f of found) expect(f.host).toBe(`198.18.5.${Number(String(f.peerId).slice(-1))}`);
    // The other app's node: announced and queried the whole time, yet never offered, and it found nobody.
    await agents[3]!.next((e) => e.event === "started");
    agents[0]!.send("stats");
    await agents[0]!.next((e) => e.event === "stats");
    for (const a of agents) expect(a.events.filter((e) => e.event === "peer" && e.peerId === id(4))).toEqual([]);
    expect(agents[3]!.events.filter((e) => e.event === "peer")).toEqual([]);
  });

  it("a stopped node says goodbye and leaves the others' candidates", async () => {
    agents[2]!.send("stop");
    await agents[2]!.next((e) => e.event === "stopped");
    await agents[0]!.next((e) => e.event === "gone" && e.peerId === id(3), 2_000);
    await agents[1]!.next((e) => e.event === "gone" && e.peerId === id(3), 2_000);
  });

  it("2,000 forged announcements in 2 s leave the candidate list bounded and the honest nodes finding each other", async () => {
    const floodStart = Date.now();
    const flood = lab.start(5, [FLOOD, lab.ip(5), appHash("lan-test"), "2000", "2000", "victim"]);
    const done = await flood.next((e) => e.event === "flooded", 15_000);
    expect(done.count).toBe(2000);
    for (const a of agents.slice(0, 2)) {
      a.send("stats");
      const s = await a.next((e) => e.event === "stats" && (e.packetsReceived as number) > 1000, 5_000);
      // 8 per host by default: the flooding host holds at most 8 slots.
      expect(s.candidates).toBeLessThanOrEqual(1 + 8);
      console.log(`[@xppg/discovery] after the flood: ${JSON.stringify(s)}`);
      const forged = a.events.filter((e) => e.event === "peer" && e.host === lab.ip(5)).length;
      // Not one offer per forged packet: bounded by the offer budget (20 a second, bursts of 20).
      expect(forged).toBeLessThanOrEqual(20 + 20 * Math.ceil(((s.at as number) - floodStart) / 1000));
    }
    // A node started after the flood is found by both honest nodes as fast as before.
    agents[2] = agent(3);
    const restarted = await agents[2].next((e) => e.event === "started", 15_000);
    await agents[0]!.next((e) => e.event === "peer" && e.peerId === id(3) && (e.at as number) >= (restarted.at as number), 2_000);
    await agents[1]!.next((e) => e.event === "peer" && e.peerId === id(3) && (e.at as number) >= (restarted.at as number), 2_000);
    await agents[2].next(peerEvent(id(1)), 2_000);
    await agents[2].next(peerEvent(id(2)), 2_000);
  });
});
