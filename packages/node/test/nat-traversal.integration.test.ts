// Reachability, relays and hole punching between real processes in the
// project's internet lab (tools/netlab/internet.sh): two home routers with
// nftables NAT (port-restricted cone, or symmetric), relays and a public node
// on wan. Each node is a process (test/fixtures/lab-node.mjs) importing the
// BUILT @xppg/node; beforeAll builds it. Needs root, iproute2 and nftables
// (miniupnpd and stun-server for the port-mapping case); otherwise skipped
// with the reason printed.
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../../..");
const LAB = path.join(REPO, "tools/netlab/internet.sh");
const AGENT = path.join(HERE, "fixtures/lab-node.mjs");
const PREFIX = `xppg-${process.pid}-`;
const RELAYS = ["relay://198.18.0.1:4100", "relay://198.18.0.2:4100"];

function skipReason(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces need CAP_NET_ADMIN)";
  const missing = ["ip", "nft"].filter((cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0);
  if (missing.length > 0) return `missing ${missing.join(", ")} (apt-get install -y iproute2 nftables)`;
  return undefined;
}
const SKIP = skipReason();
if (SKIP) console.log(`[@xppg/node] NAT traversal lab tests SKIPPED: ${SKIP}`);
const HAS_UPNP = SKIP === undefined && ["miniupnpd", "stund"].every((c) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0);
if (SKIP === undefined && !HAS_UPNP) console.log("[@xppg/node] port-mapping lab case SKIPPED: missing miniupnpd or stund (apt-get install -y miniupnpd miniupnpd-nftables stun-server)");

const lab = (...args: string[]): string => execFileSync(LAB, [`--prefix=${PREFIX}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

type Event = { event: string; [k: string]: unknown };
const children = new Set<ChildProcessWithoutNullStreams>();
/** The agents a test started: their events (with the test's own clock) and stderr are printed when it fails. */
const started: { ns: string; pid: number | undefined; events: Event[]; stderr: () => string }[] = [];
/** The agents `beforeAll` started (the shared relay), printed too: their events span every test so far. */
const shared: typeof started = [];
const t0 = performance.now();

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
      events.push({ ...(JSON.parse(line) as Event), at: Math.round(performance.now() - t0) });
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  started.push({ ns, pid: child.pid, events, stderr: () => stderr });
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

const nodeConfig = (extra: Record<string, unknown> = {}) => ({ role: "node", tcp: "tcp://0.0.0.0:7000", relays: RELAYS, punchTimeoutMs: 3000, ...extra });
const relayAddress = (ready: Event): string => (ready["addresses"] as string[]).find((a) => a.startsWith("relay://198.18.0.1:"))!;

describe.skipIf(SKIP !== undefined)("NAT traversal in the internet lab", () => {
  let relay: Agent;
  const teardown = (): void => {
    for (const c of children) c.kill("SIGKILL");
    try {
      lab("down");
    } catch {
      // the next "up" with this prefix cleans up first
    }
  };

  beforeEach(({ onTestFailed }) => {
    started.splice(0);
    onTestFailed(() => {
      for (const a of [...shared, ...started]) {
        console.log(`[lab] ${a.ns}${shared.includes(a) ? " (shared)" : ""} agent (pid ${String(a.pid)}) events, "at" in ms of the test file's clock:\n${a.events.map((e) => JSON.stringify(e)).join("\n")}${a.stderr() === "" ? "" : `\nstderr:\n${a.stderr()}`}`);
      }
    });
  });

  beforeAll(async () => {
    // As the root `build` script: the Node version for the code caches (a build without it makes none).
    execFileSync("pnpm", ["--filter", "@xppg/node...", "build"], { cwd: REPO, stdio: "pipe", env: { ...process.env, XPPG_NODE_VERSION: process.version } });
    process.once("exit", teardown);
    lab("up");
    relay = agent("wan", { role: "relay", listen: RELAYS.map((r) => r.replace("relay://", "tcp://")) });
    shared.push(...started.splice(0));
    await relay.next((e) => e.event === "ready");
  }, 180_000);

  afterAll(async () => {
    await relay?.stop();
    teardown();
    process.removeListener("exit", teardown);
  }, 30_000);

  it("cone <-> cone: both learn they are relayed (two relays' dial-backs fail), join through a relay, and punch a direct path; the relay then carries nothing", async () => {
    const h1 = agent("h1", nodeConfig());
    const h2 = agent("h2", nodeConfig());
    try {
      const ready1 = await h1.next((e) => e.event === "ready");
      await h2.next((e) => e.event === "ready");
      for (const h of [h1, h2]) await h.next((e) => e.event === "reachability" && e["kind"] === "relayed-only");
      const joined = await h2.ask(`join ${relayAddress(ready1)}`, "joined");
      expect(joined, JSON.stringify(joined)).toMatchObject({ event: "joined", peerId: ready1["peerId"] });
      // Each end reports "punched" when its circuit is (both directions moved), not when its own punch worked.
      for (const h of [h1, h2]) expect(await h.next((e) => e.event === "path", 10_000)).toMatchObject({ path: "punched", now: "punched" });
      expect((await h2.ask("paths", "paths"))["circuits"]).toEqual(["punched"]);
      expect((await h1.ask("paths", "paths"))["circuits"]).toEqual(["punched"]);
      // The node reads the path from the application's own relay transport too.
      expect(((await h2.ask("peers", "peers"))["peers"] as { path: string }[]).map((p) => p.path)).toEqual(["punched"]);
      await h2.ask(`send ${String(ready1["peerId"])} 0 50`, "sent");
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(50);
      const before = await relay.ask("stats", "stats");
      await h2.ask(`send ${String(ready1["peerId"])} 50 250`, "sent");
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(300);
      expect((await h1.ask("recv", "recv"))["inOrder"]).toBe(true);
      const after = await relay.ask("stats", "stats");
      expect(after["bytesRelayed"]).toBe(before["bytesRelayed"]);
      expect(after["circuits"]).toBe(0);
      console.log(`[lab] cone<->cone: join ${String(joined["ms"])} ms, relay bytes ${String(after["bytesRelayed"])} for 300 messages of 200+ bytes`);
    } finally {
      await Promise.all([h1.stop(), h2.stop()]);
    }
  }, 60_000);

  it("a public node learns it is public from two relays' dial-backs and is reached directly", async () => {
    const pub = agent("wan", nodeConfig({ tcp: "tcp://0.0.0.0:7100" }));
    const h1 = agent("h1", nodeConfig({ relays: [] }));
    try {
      const ready = await pub.next((e) => e.event === "ready");
      const reach = await pub.next((e) => e.event === "reachability");
      expect(reach).toMatchObject({ kind: "public", dialbacksOk: 2 });
      await h1.next((e) => e.event === "ready");
      const joined = await h1.ask("join tcp://198.18.0.3:7100", "joined");
      expect(joined).toMatchObject({ event: "joined", peerId: ready["peerId"], address: "tcp://198.18.0.3:7100" });
    } finally {
      await Promise.all([pub.stop(), h1.stop()]);
    }
  }, 60_000);

  it("two hosts behind one router connect over their LAN addresses", async () => {
    const h1 = agent("h1", nodeConfig({ relays: [] }));
    const h1b = agent("h1b", nodeConfig({ relays: [] }));
    try {
      const ready = await h1.next((e) => e.event === "ready");
      await h1b.next((e) => e.event === "ready");
      const joined = await h1b.ask("join tcp://198.19.1.2:7000", "joined");
      expect(joined).toMatchObject({ event: "joined", peerId: ready["peerId"], address: "tcp://198.19.1.2:7000" });
      const peers = await h1.ask("peers", "peers");
      expect(String((peers["peers"] as { address: string }[])[0]?.address)).toMatch(/^tcp:\/\/198\.19\.1\.3:/);
    } finally {
      await Promise.all([h1.stop(), h1b.stop()]);
    }
  }, 60_000);

  it("symmetric r2: the punch fails within its bound and messages keep flowing through the relay, none lost", async () => {
    lab("nat", "r2", "symmetric");
    const h1 = agent("h1", nodeConfig());
    const h2 = agent("h2", nodeConfig());
    try {
      const ready1 = await h1.next((e) => e.event === "ready");
      await h2.next((e) => e.event === "ready");
      const before = await relay.ask("stats", "stats");
      const joined = await h2.ask(`join ${relayAddress(ready1)}`, "joined");
      expect(joined).toMatchObject({ event: "joined", peerId: ready1["peerId"] });
      const failed = await h2.next((e) => e.event === "path", 10_000);
      expect(failed).toMatchObject({ path: "relayed" });
      expect(String(failed["reason"])).toMatch(/no direct connection within 3000 ms|attempts used up/);
      await h2.ask(`send ${String(ready1["peerId"])} 0 300`, "sent", 30_000);
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 15_000 }).toBe(300);
      expect((await h1.ask("recv", "recv"))["inOrder"]).toBe(true);
      expect((await h2.ask("paths", "paths"))["circuits"]).toEqual(["relayed"]);
      const after = await relay.ask("stats", "stats");
      expect(Number(after["bytesRelayed"]) - Number(before["bytesRelayed"])).toBeGreaterThan(300 * 200);
      console.log(`[lab] symmetric: relayed ${Number(after["bytesRelayed"]) - Number(before["bytesRelayed"])} bytes; punch gave up: ${String(failed["reason"])}`);
    } finally {
      await Promise.all([h1.stop(), h2.stop()]);
      lab("nat", "r2", "cone");
    }
  }, 60_000);

  it("a relay killed mid-circuit: a punched circuit carries on; a relayed one ends at once and the ends re-join through another relay", async () => {
    const spare = agent("wan", { role: "relay", listen: ["tcp://198.18.0.3:4300"] });
    await spare.next((e) => e.event === "ready");
    const viaSpare = ["relay://198.18.0.3:4300", RELAYS[0]!];
    const h1 = agent("h1", nodeConfig({ relays: viaSpare }));
    const h2 = agent("h2", nodeConfig({ relays: viaSpare }));
    let spareStopped = false;
    try {
      const ready1 = await h1.next((e) => e.event === "ready");
      await h2.next((e) => e.event === "ready");
      const id1 = String(ready1["peerId"]);
      const spareAddress = (ready1["addresses"] as string[]).find((a) => a.startsWith("relay://198.18.0.3:"))!;
      // cone <-> cone: punched at both ends, then the relay dies; the direct path carries on. (Until an end
      // has read the other's switch mark, which comes through the relay, losing the relay ends the circuit.)
      await h2.ask(`join ${spareAddress}`, "joined");
      for (const h of [h1, h2]) await h.next((e) => e.event === "path" && e["path"] === "punched", 10_000);
      await spare.kill();
      spareStopped = true;
      const sent = await h2.ask(`send ${id1} 0 100`, "sent");
      expect(sent, JSON.stringify(sent)).toMatchObject({ event: "sent", upTo: 100 });
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(100);
      expect(h1.events.some((e) => e.event === "left")).toBe(false);
    } finally {
      if (!spareStopped) await spare.stop();
      await Promise.all([h1.stop(), h2.stop()]);
    }
    // symmetric r2: relayed only; the relay dies and both ends notice, then re-join through the other relay
    lab("nat", "r2", "symmetric");
    const spare2 = agent("wan", { role: "relay", listen: ["tcp://198.18.0.3:4300"] });
    await spare2.next((e) => e.event === "ready");
    const g1 = agent("h1", nodeConfig({ relays: viaSpare }));
    const g2 = agent("h2", nodeConfig({ relays: viaSpare }));
    try {
      const ready1 = await g1.next((e) => e.event === "ready");
      await g2.next((e) => e.event === "ready");
      const id1 = String(ready1["peerId"]);
      const addrs = ready1["addresses"] as string[];
      await g2.ask(`join ${addrs.find((a) => a.startsWith("relay://198.18.0.3:"))!}`, "joined");
      await g2.next((e) => e.event === "path" && e["path"] === "relayed", 10_000);
      await spare2.kill();
      const left2 = await g2.next((e) => e.event === "left", 10_000);
      const left1 = await g1.next((e) => e.event === "left", 10_000);
      console.log(`[lab] relay killed: ends saw the peer leave (${String(left1["code"])}, ${String(left2["code"])})`);
      // A join by hand at once, as a user would, racing the re-join the reach room of the end that dialled starts
      // through the other relay in the same milliseconds: it answers with the connection both ends keep.
      const rejoined = await g2.ask(`join ${addrs.find((a) => a.startsWith("relay://198.18.0.1:"))!}`, "joined");
      // An "error" answer carries the join's error code and message: print them.
      expect(rejoined, JSON.stringify(rejoined)).toMatchObject({ event: "joined", peerId: id1 });
      const listed = async (g: Agent, id: string): Promise<number> => ((await g.ask("peers", "peers"))["peers"] as { peerId: string }[]).filter((p) => p.peerId === id).length;
      expect(await listed(g2, id1)).toBe(1);
      const id2 = String((await g2.next((e) => e.event === "ready"))["peerId"]);
      await expect.poll(() => listed(g1, id2), { timeout: 5000 }).toBe(1);
      // `ask` also ends on an "error" answer: a send that failed must not pass for one that was sent.
      const sent = await g2.ask(`send ${id1} 0 50`, "sent");
      expect(sent, JSON.stringify(sent)).toMatchObject({ event: "sent", upTo: 50 });
      await expect.poll(async () => (await g1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(50);
    } finally {
      await Promise.all([g1.stop(), g2.stop(), spare2.stop()]);
      lab("nat", "r2", "cone");
    }
  }, 90_000);

  it("a relay slow to forward, killed once both ends are punched: the direct path carries on (each end's punched waited for the other's switch mark through it)", async () => {
    // 100 ms a frame: an end's own punch connects long before the other's switch mark comes through.
    const slow = agent("wan", { role: "relay", listen: ["tcp://198.18.0.3:4300"], forwardDelayMs: 100 });
    await slow.next((e) => e.event === "ready");
    const viaSlow = ["relay://198.18.0.3:4300", RELAYS[0]!];
    const h1 = agent("h1", nodeConfig({ relays: viaSlow }));
    const h2 = agent("h2", nodeConfig({ relays: viaSlow }));
    let slowStopped = false;
    try {
      const ready1 = await h1.next((e) => e.event === "ready");
      await h2.next((e) => e.event === "ready");
      const id1 = String(ready1["peerId"]);
      // The join's handshake goes on meanwhile: the relay is killed as soon as both ends say "punched".
      const joining = h2.ask(`join ${(ready1["addresses"] as string[]).find((a) => a.startsWith("relay://198.18.0.3:"))!}`, "joined", 30_000);
      for (const h of [h1, h2]) expect(await h.next((e) => e.event === "path", 15_000)).toMatchObject({ path: "punched", now: "punched" });
      await slow.kill();
      slowStopped = true;
      const joined = await joining;
      expect(joined, JSON.stringify(joined)).toMatchObject({ event: "joined", peerId: id1 });
      const sent = await h2.ask(`send ${id1} 0 100`, "sent");
      expect(sent, JSON.stringify(sent)).toMatchObject({ event: "sent", upTo: 100 });
      await expect.poll(async () => (await h1.ask("recv", "recv"))["count"], { timeout: 10_000 }).toBe(100);
      expect([...h1.events, ...h2.events].some((e) => e.event === "left")).toBe(false);
    } finally {
      if (!slowStopped) await slow.stop();
      await Promise.all([h1.stop(), h2.stop()]);
    }
  }, 90_000);

  it.skipIf(!HAS_UPNP)("a router with UPnP and NAT-PMP/PCP maps the node's port and wan dials it directly", async () => {
    lab("upnp-start", "r1", "--natpmp");
    const h1 = agent("h1", nodeConfig({ relays: [], openPort: true }));
    const pub = agent("wan", nodeConfig({ tcp: "tcp://0.0.0.0:7200", relays: [] }));
    try {
      const ready = await h1.next((e) => e.event === "ready");
      expect(ready["nat"]).toMatchObject({ mapped: true, method: "upnp-igd2", externalIp: "198.18.0.11", externalPort: 7000 });
      await pub.next((e) => e.event === "ready");
      const joined = await pub.ask("join tcp://198.18.0.11:7000", "joined");
      expect(joined).toMatchObject({ event: "joined", peerId: ready["peerId"] });
    } finally {
      await Promise.all([h1.stop(), pub.stop()]);
    }
  }, 60_000);
});
