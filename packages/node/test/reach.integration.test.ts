// Reachability, relays and hole punching through the Playground facade alone,
// between real processes in the internet lab (tools/netlab/internet.sh): every
// node is a Playground configured by its options (test/fixtures/reach-node.mjs,
// importing the BUILT @xppg/node; beforeAll builds it), relays are Playgrounds
// with reach.serveRelay on wan, h1/h2 sit behind nftables NATs. Needs root,
// iproute2 and nftables; otherwise skipped with the reason printed.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../../..");
const LAB = path.join(REPO, "tools/netlab/internet.sh");
const AGENT = path.join(HERE, "fixtures/reach-node.mjs");
const PREFIX = `xppg-r${process.pid}-`;

function skipReason(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)";
  const missing = ["ip", "nft"].filter((cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0);
  if (missing.length > 0) return `missing ${missing.join(", ")} (apt-get install -y iproute2 nftables)`;
  return undefined;
}
const SKIP = skipReason();
if (SKIP) console.log(`[@xppg/node] reachability lab tests SKIPPED: ${SKIP}`);

const lab = (...args: string[]): string => execFileSync(LAB, [`--prefix=${PREFIX}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

type Event = { event: string; [k: string]: unknown };
const children = new Set<ChildProcessWithoutNullStreams>();

interface Agent {
  readonly events: Event[];
  next(pred: (e: Event) => boolean, timeoutMs?: number): Promise<Event>;
  ask(command: string, answer: string, timeoutMs?: number): Promise<Event>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash or a power cut would end it. */
  kill(): Promise<void>;
}

function agent(ns: string, config: unknown): Agent {
  const child = spawn("ip", ["netns", "exec", `${PREFIX}${ns}`, process.execPath, AGENT, JSON.stringify(config)]);
  children.add(child);
  const events: Event[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as Event);
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<void>((resolve) => child.on("close", () => {
    children.delete(child);
    for (const w of waiters) w();
    resolve();
  }));
  const next = (pred: (e: Event) => boolean, timeoutMs = 15_000, from = 0): Promise<Event> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = events.slice(from).find(pred);
        if (hit !== undefined || child.exitCode !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          if (hit !== undefined) resolve(hit);
          else reject(new Error(`${ns} agent exited: ${stderr.slice(-800)}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${ns}: timed out; events ${JSON.stringify(events).slice(-1500)}; stderr ${stderr.slice(-800)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    events,
    next,
    ask(command, answer, timeoutMs) {
      const from = events.length;
      child.stdin.write(`${command}\n`);
      return next((e) => e.event === answer || e.event === "error", timeoutMs, from);
    },
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.stdin.write("exit\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}


const R1 = "tcp://198.18.0.1:7000";
const R2 = "tcp://198.18.0.2:7000";
const relayConfig = (ip: string, join: string[] = []) => ({ listen: [`tcp://${ip}:7000`], join, reach: { serveRelay: true, relayListen: `tcp://${ip}:4100` } });
const hostConfig = (join: string[], reach: Record<string, unknown> = {}) => ({ listen: ["tcp://0.0.0.0:7000"], join, reach: { punchTimeoutMs: 3000, ...reach } });
const relayed = (reach: Event, relayIp: string): string => (reach["advertised"] as string[]).find((a) => a.startsWith(`relay://${relayIp}:`))!;
const relayBytes = async (relay: Agent): Promise<number> => Number(((await relay.ask("reach", "reach"))["relay"] as { bytesRelayed: number }).bytesRelayed);

describe.skipIf(SKIP !== undefined)("NAT traversal through the facade in the internet lab", () => {
  let r1: Agent;
  let r2: Agent;
  const teardown = (): void => {
    for (const c of children) c.kill("SIGKILL");
    try {
      lab("down");
    } catch {
      // the next "up" with this prefix cleans up first
    }
  };

  beforeAll(async () => {
    // As the root `build` script: the Node version for the code caches (a build without it makes none).
    execFileSync("pnpm", ["--filter", "@xppg/node...", "build"], { cwd: REPO, stdio: "pipe", env: { ...process.env, XPPG_NODE_VERSION: process.version } });
    process.once("exit", teardown);
    lab("up");
    r1 = agent("wan", relayConfig("198.18.0.1"));
    await r1.next((e) => e.event === "ready");
    r2 = agent("wan", relayConfig("198.18.0.2", [R1]));
    await r2.next((e) => e.event === "ready");
  }, 180_000);

  afterAll(async () => {
    await Promise.all([r1?.stop(), r2?.stop()]);
    teardown();
    process.removeListener("exit", teardown);
  }, 30_000);

  it("cone <-> cone: both learn they are relayed only, exchange messages through a relay, then punch; the relay's byte counter stops", async () => {
    const h1 = agent("h1", hostConfig([R1, R2]));
    const h2 = agent("h2", hostConfig([R1, R2]));
    // What the relays carried before h1 and h2 could know of each other: the link the join answers with (dialled by
    // the join, or by h1's connection manager a moment before it) must add to the count of the relay it went through.
    const beforeJoin = new Map<Agent, number>();
    for (const r of [r1, r2]) beforeJoin.set(r, await relayBytes(r));
    try {
      for (const h of [h1, h2]) await h.next((e) => e.event === "reachability" && e["kind"] === "relayed-only", 20_000);
      const ready1 = await h1.next((e) => e.event === "ready");
      const id1 = String(ready1["peerId"]);
      const id2 = String((await h2.next((e) => e.event === "ready"))["peerId"]);
      await expect.poll(async () => relayed(await h1.ask("reach", "reach"), "198.18.0.1"), { timeout: 10_000 }).toBeDefined();
      const address = relayed(await h1.ask("reach", "reach"), "198.18.0.1");
      const joined = await h2.ask(`join ${address}`, "joined");
      // The handshakes went through a relay; the punch (1-3 ms here) may already be done when the join resolves.
      // h1 may have reached h2 through either relay first (its connection manager dials the peers it learns): the
      // join reads h1's id from the relayed address and answers with that connection instead of dialling another.
      // Either way each end lists one connection to the other, and the join answered with the one h2 lists.
      expect(joined).toMatchObject({ event: "joined", peerId: id1 });
      const via = /^relay:\/\/198\.18\.0\.([12]):/.exec(String(joined["address"]))?.[1];
      expect(via, String(joined["address"])).toBeDefined();
      const kept = via === "1" ? r1 : r2;
      const listed = async (h: Agent, id: string): Promise<string[]> => ((await h.ask("peers", "peers"))["peers"] as { peerId: string; address: string }[]).filter((p) => p.peerId === id).map((p) => p.address);
      expect(await listed(h2, id1)).toEqual([joined["address"]]);
      expect(await listed(h1, id2)).toHaveLength(1);
      expect(await relayBytes(kept)).toBeGreaterThan(beforeJoin.get(kept)!);
      const punched = await h2.next((e) => e.event === "path" && e["peerId"] === id1, 15_000);
      expect(punched["path"]).toBe("punched");
      await expect.poll(async () => ((await h1.ask("peers", "peers"))["peers"] as { path: string }[]).map((p) => p.path).includes("punched"), { timeout: 5000 }).toBe(true);
      await h2.ask(`send ${id1} 0 50`, "sent");
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(50);
      const before = await relayBytes(kept);
      await h2.ask(`send ${id1} 50 250`, "sent");
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(300);
      expect((await h1.ask("recv", "recv"))["inOrder"]).toBe(true);
      expect(await relayBytes(kept)).toBe(before);
      console.log(`[lab] facade cone<->cone: join through the relay ${String(joined["ms"])} ms, punched ${String(punched["ms"])} ms after the join began`);
    } finally {
      await Promise.all([h1.stop(), h2.stop()]);
    }
  }, 90_000);

  it("symmetric r2: the punch fails within its bound and messages keep flowing through the relay, none lost", async () => {
    lab("nat", "r2", "symmetric");
    const h1 = agent("h1", hostConfig([R1, R2]));
    const h2 = agent("h2", hostConfig([R1, R2]));
    try {
      const ready1 = await h1.next((e) => e.event === "ready");
      const id1 = String(ready1["peerId"]);
      await expect.poll(async () => relayed(await h1.ask("reach", "reach"), "198.18.0.1"), { timeout: 20_000 }).toBeDefined();
      await h2.next((e) => e.event === "ready");
      const before = await relayBytes(r1);
      const joined = await h2.ask(`join ${relayed(await h1.ask("reach", "reach"), "198.18.0.1")} 6000`, "joined");
      expect(joined).toMatchObject({ peerId: id1, path: "relayed" });
      const path = await h2.next((e) => e.event === "path" && e["peerId"] === id1, 15_000);
      expect(path["path"]).toBe("relayed");
      await h2.ask(`send ${id1} 0 300`, "sent", 30_000);
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 15_000 }).toBe(300);
      expect((await h1.ask("recv", "recv"))["inOrder"]).toBe(true);
      expect(await relayBytes(r1)).toBeGreaterThan(before + 300 * 200);
    } finally {
      await Promise.all([h1.stop(), h2.stop()]);
      lab("nat", "r2", "cone");
    }
  }, 90_000);

  it("a relay killed mid-circuit: the ends notice within seconds and join again through another relay by themselves", async () => {
    lab("nat", "r2", "symmetric");
    const r3 = agent("wan", relayConfig("198.18.0.3", [R1]));
    await r3.next((e) => e.event === "ready");
    const h1 = agent("h1", hostConfig(["tcp://198.18.0.3:7000", R2]));
    const h2 = agent("h2", hostConfig([R2]));
    try {
      const id1 = String((await h1.next((e) => e.event === "ready"))["peerId"]);
      await expect.poll(async () => relayed(await h1.ask("reach", "reach"), "198.18.0.2") !== undefined && relayed(await h1.ask("reach", "reach"), "198.18.0.3") !== undefined, { timeout: 20_000 }).toBe(true);
      await h2.next((e) => e.event === "ready");
      await h2.ask(`join ${relayed(await h1.ask("reach", "reach"), "198.18.0.3")}`, "joined");
      const from = h2.events.length;
      const killedAt = performance.now();
      await r3.kill();
      const left = await h2.next((e) => e.event === "left" && e["peerId"] === id1, 10_000);
      const noticedMs = Math.round(performance.now() - killedAt);
      const back = await h2.next((e) => e.event === "peer" && e["peerId"] === id1 && h2.events.indexOf(e) > from, 15_000);
      const backMs = Math.round(performance.now() - killedAt);
      expect(String(back["address"])).toMatch(/^relay:\/\/198\.18\.0\.2:4100\/p\//);
      console.log(`[lab] relay killed: h2 saw h1 leave (${String(left["code"])}) within ${noticedMs} ms and was joined again through another relay within ${backMs} ms`);
      await h2.ask(`send ${id1} 0 50`, "sent");
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(50);
    } finally {
      await Promise.all([h1.stop(), h2.stop(), r3.stop()]);
      lab("nat", "r2", "cone");
    }
  }, 90_000);

  it("two hosts behind one router connect over their LAN addresses, directly", async () => {
    const h1 = agent("h1", hostConfig([]));
    const h1b = agent("h1b", hostConfig([]));
    try {
      const id1 = String((await h1.next((e) => e.event === "ready"))["peerId"]);
      await h1b.next((e) => e.event === "ready");
      const advertised = (await h1.ask("reach", "reach"))["advertised"] as string[];
      expect(advertised).toContain("tcp://198.19.1.2:7000");
      const joined = await h1b.ask("join tcp://198.19.1.2:7000", "joined");
      expect(joined).toMatchObject({ peerId: id1, address: "tcp://198.19.1.2:7000", path: "direct" });
    } finally {
      await Promise.all([h1.stop(), h1b.stop()]);
    }
  }, 60_000);
});
