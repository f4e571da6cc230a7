import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { XppgError } from "@xppg/errors";
import { generateIdentity, secureConnection as pageSecureConnection } from "@xppg/secure/browser";
import { tcpTransport } from "@xppg/transport-tcp";
import { OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, Playground } from "../src/index.js";
import { until } from "./helpers.js";

/**
 * Compatibility across releases: each earlier release of the wire, kept as
 * a bundle in test/fixtures/compat/<name>/ (built from its commit by
 * build-fixture.mjs there), runs in a child process against the current
 * code on loopback TCP.
 *
 * - A release whose protocol version the current code still speaks
 *   (within [OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION]): the two handshake
 *   (the old single-version hello is read as the range [v, v]), exchange
 *   text both ways and state both ways, the old node reports no error (so
 *   the current code sent it nothing it does not know), and the current
 *   node shares no capability with it, so no feature the old one lacks is
 *   attempted: the mesh carries the old node's broadcasts on, and relays
 *   no other node's broadcast to it.
 * - A release the current code no longer speaks: both sides refuse, each
 *   with a reason its user can read; the current side's names both ranges
 *   and says the old node should upgrade.
 */
const FIXTURES = fileURLToPath(new URL("./fixtures/compat/", import.meta.url));
const DRIVER = fileURLToPath(new URL("./fixtures/compat/compat-peer.mjs", import.meta.url));
const releases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(`${FIXTURES}${d.name}/xppg-node.mjs`))
  .map((d) => ({ name: d.name, bundle: `${FIXTURES}${d.name}/xppg-node.mjs`, source: readFileSync(`${FIXTURES}${d.name}/SOURCE`, "utf8").split("\n")[0]! }));

/** The releases whose protocol the current code still speaks (a fixture is named after its protocol version). */
const spokenReleases = releases.filter(({ name }) => {
  const version = Number(/^protocol-(\d+)$/.exec(name)?.[1]);
  return version >= OLDEST_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;
});

type OldEvent = { event: string } & Record<string, unknown>;

/** An earlier release's node in a child process. */
class OldNode {
  readonly events: OldEvent[] = [];
  readonly stderr: string[] = [];
  readonly child: ChildProcessWithoutNullStreams;

  constructor(bundle: string, app: string) {
    this.child = spawn(process.execPath, [DRIVER, pathToFileURL(bundle).href, app], { stdio: "pipe" });
    createInterface({ input: this.child.stdout }).on("line", (line) => this.events.push(JSON.parse(line) as OldEvent));
    this.child.stderr.on("data", (d: Buffer) => this.stderr.push(d.toString()));
  }

  async waitFor(match: (e: OldEvent) => boolean, what: string): Promise<OldEvent> {
    await until(() => this.events.some(match), 15_000, `${what}; the old node said ${JSON.stringify(this.events)} ${this.stderr.join("")}`);
    return this.events.find(match)!;
  }

  command(cmd: Record<string, unknown>): void {
    this.child.stdin.write(JSON.stringify(cmd) + "\n");
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

const running: { stop(): unknown }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function pair(bundle: string) {
  const old = new OldNode(bundle, "compat-app");
  running.push({ stop: () => old.kill() });
  const ready = await old.waitFor((e) => e.event === "ready", "the old node starts");
  const current = new Playground("compat-app", { host: "127.0.0.1", port: 0, capabilities: ["x-newer-feature/1"] });
  running.push(current);
  await current.start();
  const errors: XppgError[] = [];
  current.events.on("error", (e) => {
    errors.push(e);
  });
  return { old, oldPeerId: ready.peerId as string, oldPort: ready.port as number, oldProtocol: ready.protocol as number, current, errors };
}

describe.skipIf(releases.length === 0)("the previous releases of the wire against the current code, in two processes", () => {
  it.each(releases)("release $name (commit $source)", async ({ bundle }) => {
    const { old, oldPeerId, oldPort, oldProtocol, current, errors } = await pair(bundle);
    const spoken = oldProtocol >= OLDEST_PROTOCOL_VERSION && oldProtocol <= PROTOCOL_VERSION;

    if (!spoken) {
      await expect(current.join(`tcp://127.0.0.1:${oldPort}`)).rejects.toMatchObject({ code: "XPPG_ERR_PROTOCOL_MISMATCH" });
      // The old node's own refusal reaches it too, in its words.
      const left = await old.waitFor((e) => e.event === "error" && e.code === "XPPG_ERR_PROTOCOL_MISMATCH", "the old node refuses");
      expect(left.message).toMatch(/protocol/);
      // Now the other way round: the current node refuses the old one's dial with both ranges.
      old.command({ op: "join", port: current.port });
      const failed = await old.waitFor((e) => e.event === "op-error" && e.op === "join", "the old node's join fails");
      expect(failed.code).toMatch(/XPPG_ERR_PROTOCOL_MISMATCH/);
      await until(() => errors.some((e) => e.code === "XPPG_ERR_PROTOCOL_MISMATCH"), 5000, "the current node reports the mismatch");
      const reason = errors.find((e) => e.code === "XPPG_ERR_PROTOCOL_MISMATCH")!.message;
      expect(reason).toContain(`${oldPeerId} speaks`);
      expect(reason).toContain(`version ${oldProtocol}`);
      expect(reason).toContain(`${oldPeerId} runs the older release and should upgrade`);
      expect(current.peers).toEqual([]);
      return;
    }

    // The old node dials: its single-version hello is read as [v, v].
    old.command({ op: "join", port: current.port });
    await old.waitFor((e) => e.event === "join-ok", "the old node joins");
    await until(() => current.peers.length === 1, 10_000, "the current node lists the old one");
    expect(current.peers[0]).toMatchObject({ peerId: oldPeerId, protocol: oldProtocol });
    // Shared capabilities only: none before negotiation existed, never one the old release lacks.
    const shared = current.peers[0]!.capabilities;
    expect(shared).not.toContain("x-newer-feature/1");
    if (oldProtocol < 3) expect(shared).toEqual([]);
    const oldMeshes = shared.includes("mesh/1");
    // Requests and routed unicast need route/1, which no release before it has: refused at once, and the old node never sees their kinds.
    expect(shared).not.toContain("route/1");
    // No release before it has the compact direct envelope (lean/1): direct messages both ways keep the full layout, below.
    expect(shared).not.toContain("lean/1");
    await expect(current.request("k", null, { to: oldPeerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    // The old side's view of us: it has no negotiation fields to show, and must not have refused anything.
    const texts: string[] = [];
    current.on("text", (_src, _kind, payload) => void texts.push((payload as { text: string }).text));
    await current.sendText("from the current release");
    await current.sendText("direct to the old one", { to: oldPeerId });
    old.command({ op: "text", text: "from the old release" });
    old.command({ op: "text", text: "direct to the current one", to: current.peerId });
    await old.waitFor((e) => e.event === "text" && e.text === "from the current release", "the old node gets a broadcast");
    await old.waitFor((e) => e.event === "text" && e.text === "direct to the old one", "the old node gets a direct message");
    await until(() => texts.includes("from the old release"), 10_000, "the current node gets the old one's text");
    await until(() => texts.includes("direct to the current one"), 10_000, "the current node gets the old one's direct message");

    current.state.set("written-by-current", 1);
    old.command({ op: "set", key: "written-by-old", value: "two" });
    await old.waitFor((e) => e.event === "state" && e.key === "written-by-current" && e.value === 1, "state reaches the old node");
    await until(() => current.state.get("written-by-old") === "two", 10_000, "state reaches the current node");

    // A second current node behind the first: the mesh carries the old node's broadcast on to it,
    // and relays another node's broadcast to the old node only when it shares the mesh capability.
    const behind = new Playground("compat-app", { host: "127.0.0.1", port: 0 });
    running.push(behind);
    await behind.start();
    await behind.join(`tcp://127.0.0.1:${current.port}`);
    await until(() => current.peers.length === 2, 10_000, "the second current node joins");
    expect(current.peers.find((p) => p.peerId === behind.peerId)!.capabilities).toContain("mesh/1");
    const behindTexts: string[] = [];
    behind.on("text", (_src, _kind, payload) => void behindTexts.push((payload as { text: string }).text));
    old.command({ op: "text", text: "old, through the mesh" });
    await until(() => behindTexts.includes("old, through the mesh"), 10_000, "the old node's broadcast crosses the mesh");
    await behind.sendText("from behind");
    await until(() => texts.includes("from behind"), 10_000, "the first current node gets it");
    // Past the presence the new mesh link set off (50 ms after it opened), which must not reach the old node.
    await new Promise((r) => setTimeout(r, 500));
    await current.sendText("marker after");
    await old.waitFor((e) => e.event === "text" && e.text === "marker after", "the old node gets the first node's own broadcast");
    if (oldMeshes) await old.waitFor((e) => e.event === "text" && e.text === "from behind", "the old node, in the mesh, gets a broadcast from behind");
    expect(old.events.some((e) => e.event === "text" && e.text === "from behind")).toBe(oldMeshes);

    expect(old.events.filter((e) => e.event === "error" || e.event === "left")).toEqual([]);
    expect(errors).toEqual([]);
  });

  // A page offers AESGCM in its ephemeral key's top bit (the secure package's README, "Cipher negotiation"):
  // a release that knows nothing of it ignores the bit and answers ChaChaPoly, which the page then runs.
  // The page's secure channel runs here in Node (the browser entry, on Node's WebCrypto), over TCP.
  it.each(releases)("a page's secure handshake with release $name settles on ChaChaPoly", async ({ bundle }) => {
    const old = new OldNode(bundle, "compat-app");
    running.push({ stop: () => old.kill() });
    const ready = await old.waitFor((e) => e.event === "ready", "the old node starts");
    const secure = await pageSecureConnection(await tcpTransport().dial(`tcp://127.0.0.1:${ready.port as number}`), {
      identity: generateIdentity(),
      expectedPeerId: ready.peerId as string,
    });
    expect(secure.cipher).toBe("ChaChaPoly");
    await secure.close();
  });

  // The old node decides duplicates on its own, by its own rule: whichever side dialled both, the current one follows it, so one connection stays.
  it.each(spokenReleases)("release $name: two dials at once between it and the current code leave one connection, whichever side dials", async ({ bundle }) => {
    const { old, oldPeerId, oldPort, oldProtocol, current, errors } = await pair(bundle);
    expect(oldProtocol).toBeGreaterThanOrEqual(OLDEST_PROTOCOL_VERSION);
    const oneLink = async (round: string): Promise<void> => {
      await until(() => current.peers.length === 1, 10_000, `${round}: the current node lists the old one once`);
      const marker = `${round}: direct`;
      await current.sendText(marker, { to: oldPeerId });
      await old.waitFor((e) => e.event === "text" && e.text === marker, `${round}: the old node gets a direct message`);
      const asked = old.events.filter((e) => e.event === "peers").length;
      old.command({ op: "peers" });
      await until(() => old.events.filter((e) => e.event === "peers").length > asked, 5000, `${round}: the old node lists its peers`);
      expect((old.events.filter((e) => e.event === "peers").at(-1)!.peers as { peerId: string }[]).map((p) => p.peerId), round).toEqual([current.peerId]);
      expect(current.peers.map((p) => p.peerId), round).toEqual([oldPeerId]);
    };
    const answers = await Promise.allSettled([current.join(`tcp://127.0.0.1:${oldPort}`), current.join(`tcp://127.0.0.1:${oldPort}`)]);
    expect(answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled"]);
    await oneLink("the current node dials twice");
    // Apart again (the old node sees the leave), then the old node dials twice.
    current.disconnect(oldPeerId);
    await old.waitFor((e) => e.event === "left", "the old node sees the current one leave");
    old.command({ op: "join-twice", port: current.port });
    const twice = await old.waitFor((e) => e.event === "joined-twice", "the old node's two joins answer");
    expect(twice.answers).toEqual(["ok", "ok"]);
    await oneLink("the old node dials twice");
    expect(errors).toEqual([]);
  });
});
