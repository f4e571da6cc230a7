// pg.joinTopic across two home routers with NAT, in the project's internet
// lab (tools/netlab/internet.sh): a private DHT of 20 plain DHT nodes runs on
// the lab's wan (198.18.0.1-3, ports 6881+), never the public DHT; h1 sits
// behind r1, whose miniupnpd maps its port, and h2 behind r2 with no mapping.
// The two nodes join one topic and chat. Each process imports the BUILT
// packages (test/fixtures/topic-node.mjs). Needs root, iproute2, nftables,
// miniupnpd and stun-server; otherwise skipped with the reason printed.
import { execFileSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPackage, labSkipReason, startAgent, type Agent, type AgentEvent } from "../../../tools/test/netns-lab.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LAB = path.resolve(HERE, "../../../tools/netlab/internet.sh");
const AGENT = path.join(HERE, "fixtures/topic-node.mjs");
const PREFIX = `xppg-t${process.pid}-`;
const SKIP = labSkipReason(["ip", "nft", "miniupnpd", "stund"], "iproute2 nftables miniupnpd miniupnpd-nftables stun-server");
if (SKIP) console.log(`[@xppg/node] topics across NATs lab test SKIPPED: ${SKIP}`);

const lab = (...args: string[]): string => execFileSync(LAB, [`--prefix=${PREFIX}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const children = new Set<ChildProcessWithoutNullStreams>();
const agent = (ns: string, config: unknown): Agent => startAgent(`${PREFIX}${ns}`, [AGENT, JSON.stringify(config)], { children, timeoutMs: 30_000 });

/** Sends `command` and waits for the answer of the same name given after it. */
async function ask(a: Agent, command: string): Promise<AgentEvent> {
  const from = a.events.length;
  a.send(command);
  return a.next((e) => e.event === command && a.events.indexOf(e) >= from);
}

describe.skipIf(SKIP !== undefined)("topics on a private DHT across two NATs (internet lab)", () => {
  let dht: Agent;
  let bootstrap: string[];
  const teardown = (): void => {
    for (const c of children) c.kill("SIGKILL");
    try {
      lab("down");
    } catch {
      // the next "up" with this prefix cleans up first
    }
  };

  beforeAll(async () => {
    buildPackage("@xppg/node");
    buildPackage("@xppg/dht");
    process.once("exit", teardown);
    lab("up");
    lab("upnp-start", "r1");
    dht = agent("wan", { role: "dht", count: 20, hosts: ["198.18.0.1", "198.18.0.2", "198.18.0.3"] });
    bootstrap = (await dht.next((e) => e.event === "ready"))["bootstrap"] as string[];
  }, 60_000);

  afterAll(() => {
    teardown();
    process.off("exit", teardown);
  });

  it("two nodes behind different NATs find each other by topic and chat", async () => {
    const h1 = agent("h1", { role: "node", app: "lab-topics", topic: "across the lab", bootstrap, openPort: true });
    const ready1 = await h1.next((e) => e.event === "ready");
    expect(ready1["nat"]).toMatchObject({ mapped: true, externalIp: "198.18.0.11" });
    await h1.next((e) => e.event === "topic");
    const h2 = agent("h2", { role: "node", app: "lab-topics", topic: "across the lab", bootstrap });
    const ready2 = await h2.next((e) => e.event === "ready");
    // h2 dials h1 at the address the DHT gave: r1's public address and the mapped port.
    const joined = await h2.next((e) => e.event === "joined");
    expect(joined).toMatchObject({ peerId: ready1["peerId"], outbound: true });
    expect(String(joined["address"])).toContain("198.18.0.11:");
    await h1.next((e) => e.event === "joined" && e["peerId"] === ready2["peerId"]);
    h2.send("send hello through two NATs");
    expect(await h1.next((e) => e.event === "chat")).toMatchObject({ from: ready2["peerId"], text: "hello through two NATs" });
    h1.send("send hello back");
    expect(await h2.next((e) => e.event === "chat")).toMatchObject({ from: ready1["peerId"], text: "hello back" });
    h2.send("peers");
    expect(await h2.next((e) => e.event === "peers")).toMatchObject({ peers: [{ peerId: ready1["peerId"], foundByTopic: true }] });
    h1.send("exit");
    h2.send("exit");
    await Promise.all([h1.exited, h2.exited]);
  }, 90_000);

  it("neither node reachable (no port mapping, r2 symmetric): both find a relay in the topic, reserve on it, and chat through it", async () => {
    // r2's symmetric NAT gives each destination a new port: a punch cannot meet it, and nothing dials in to either host.
    lab("nat", "r2", "symmetric");
    const nodes: Agent[] = [];
    try {
      const app = "lab-topics-relayed";
      const topic = "behind two NATs";
      // A public node of the app on the wan serves a relay and is in the topic like any other node.
      const relay = agent("wan", { role: "node", app, topic, bootstrap, listen: ["tcp://198.18.0.1:7000"], reach: { serveRelay: true, relayListen: "tcp://198.18.0.1:4100" } });
      nodes.push(relay);
      await relay.next((e) => e.event === "topic");
      const h1 = agent("h1", { role: "node", app, topic, bootstrap });
      const h2 = agent("h2", { role: "node", app, topic, bootstrap });
      nodes.push(h1, h2);
      const [ready1, ready2] = await Promise.all([h1.next((e) => e.event === "ready"), h2.next((e) => e.event === "ready")]);
      expect([ready1["nat"], ready2["nat"]]).toEqual([null, null]);
      const id1 = String(ready1["peerId"]);
      const id2 = String(ready2["peerId"]);
      // Each finds the relay by topic (its address is the only one that answers) and reserves a slot on it.
      const relayed = async (h: Agent): Promise<string | undefined> => ((await ask(h, "reach"))["addresses"] as string[]).find((a) => a.startsWith("relay://198.18.0.1:4100/p/"));
      for (const h of [h1, h2]) await expect.poll(() => relayed(h), { timeout: 30_000, interval: 500 }).toBeDefined();
      // The DHT gives each the other's router address, which never answers; the relayed address travels in the
      // signed peer record, from the relay's peer exchange, and one side joins the other through the relay.
      const viaRelay = async (from: Agent, to: string): Promise<Record<string, unknown>> => {
        const peers = (await ask(from, "peers"))["peers"] as Record<string, unknown>[];
        return peers.find((p) => p["peerId"] === to) ?? {};
      };
      const reservedAt = performance.now();
      // h1's relayed address reaches h2 by its presence or by peer exchange (h1 pushes its record when the reservation
      // changes it, the relay passes it on), and h2's connection manager dials it: 0.5 to 4 s in 20 runs. It took one
      // 30 s exchange cycle in one run of five while the relay held back a record whose addresses a presence had
      // brought first, and a dial of the wildcard tcp://0.0.0.0:7000 that each record lists reached the dialling
      // node itself, which then forgot the peer and its relayed address. Those defects are held by the loopback tests
      // (peer-exchange.test.ts, connection-manager.test.ts); the wait here is generous, for a loaded runner.
      await expect.poll(() => viaRelay(h2, id1), { timeout: 60_000, interval: 500 }).toMatchObject({ path: "relayed" });
      console.log(`[lab] topic through a relay: both reserved, then joined through the relay ${Math.round(performance.now() - reservedAt)} ms later`);
      expect(String((await viaRelay(h1, id2))["address"] ?? "")).not.toContain("198.18.0.12");
      h2.send("send hello through a relay");
      expect(await h1.next((e) => e.event === "chat" && e["from"] === id2)).toMatchObject({ text: "hello through a relay" });
      h1.send("send and back");
      expect(await h2.next((e) => e.event === "chat" && e["from"] === id1)).toMatchObject({ text: "and back" });
      // A room message may reach the other node through the relay node's own mesh links instead of the circuit (the
      // broadcast tree picks whichever link delivered first), so direct messages prove the circuit carries them.
      const before = Number(((await ask(relay, "reach"))["relay"] as { bytesRelayed: number }).bytesRelayed);
      h2.send(`sendto ${id1} direct through the relay`);
      expect(await h1.next((e) => e.event === "chat" && e["from"] === id2 && e["text"] === "direct through the relay")).toBeDefined();
      h1.send(`sendto ${id2} direct and back`);
      expect(await h2.next((e) => e.event === "chat" && e["from"] === id1 && e["text"] === "direct and back")).toBeDefined();
      expect(Number(((await ask(relay, "reach"))["relay"] as { bytesRelayed: number }).bytesRelayed)).toBeGreaterThan(before);
      expect(await viaRelay(h2, id1)).toMatchObject({ path: "relayed" });
      for (const n of nodes) n.send("exit");
      await Promise.all(nodes.map((n) => n.exited));
    } catch (e) {
      for (const n of nodes) console.log(`[lab] a node's events: ${JSON.stringify(n.events).slice(-4000)}\n${n.stderr()}`);
      throw e;
    } finally {
      for (const n of nodes) n.kill();
      lab("nat", "r2", "cone");
    }
  }, 150_000);
});
