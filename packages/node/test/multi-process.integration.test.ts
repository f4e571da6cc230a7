import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessPeer } from "./fixtures/process-peer.js";

// The child processes import the built package, as users do. The project's
// global setup (tools/test/build-before-tests.ts) builds it before the run.
if (!existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)))) {
  throw new Error("packages/node is not built: run `pnpm exec turbo run build --filter=@xppg/node...` from the repository root.");
}

const peers: ProcessPeer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.kill();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function startPeer(env: Record<string, string> = {}) {
  const p = await ProcessPeer.start("proc-test", env);
  peers.push(p);
  return p;
}

describe("Playground across OS processes over TCP", () => {
  it("three processes join and exchange direct and broadcast text", async () => {
    const hub = await startPeer();
    const [x, y] = await Promise.all([startPeer(), startPeer()]);
    x.command({ op: "join", host: "127.0.0.1", port: hub.port });
    y.command({ op: "join", host: "127.0.0.1", port: hub.port });
    await x.waitFor((e) => e.event === "join-ok" && e.peerId === hub.peerId);
    await y.waitFor((e) => e.event === "join-ok" && e.peerId === hub.peerId);
    await hub.waitFor((e) => e.event === "joined" && e.peerId === x.peerId);
    await hub.waitFor((e) => e.event === "joined" && e.peerId === y.peerId);

    hub.command({ op: "text", text: "to all" });
    hub.command({ op: "text", text: "only y", to: y.peerId });
    x.command({ op: "text", text: "from x" });
    await x.waitFor((e) => e.event === "text" && e.text === "to all");
    await y.waitFor((e) => e.event === "text" && e.text === "to all");
    await y.waitFor((e) => e.event === "text" && e.text === "only y");
    const got = await hub.waitFor((e) => e.event === "text" && e.text === "from x");
    expect(got.src).toBe(x.peerId);
    expect(x.events.some((e) => e.event === "text" && e.text === "only y")).toBe(false);
  });

  it("notices a killed peer within seconds and keeps serving the others", async () => {
    const hub = await startPeer();
    const [victim, other] = await Promise.all([startPeer(), startPeer()]);
    victim.command({ op: "join", host: "127.0.0.1", port: hub.port });
    other.command({ op: "join", host: "127.0.0.1", port: hub.port });
    await hub.waitFor((e) => e.event === "joined" && e.peerId === victim.peerId);
    await hub.waitFor((e) => e.event === "joined" && e.peerId === other.peerId);
    const killedAt = performance.now();
    victim.kill("SIGKILL");
    const left = await hub.waitFor((e) => e.event === "left" && e.peerId === victim.peerId, 15_000);
    const noticedMs = performance.now() - killedAt;
    // The kernel closes a killed process's socket: a FIN (which the secure channel reports as a
    // stream cut without its authenticated end), or a reset if data was in flight.
    expect(["XPPG_ERR_PEER_GONE", "XPPG_ERR_CONNECTION_RESET", "XPPG_ERR_STREAM_TRUNCATED"]).toContain(left.code);
    console.log(`[figure] killed peer noticed after ${noticedMs.toFixed(0)} ms (reason: ${String(left.code)})`);
    other.command({ op: "text", text: "after the kill" });
    await hub.waitFor((e) => e.event === "text" && e.text === "after the kill");
  });

  it("streams a 1 GiB file between processes in bounded memory, checked end to end", async () => {
    const work = await mkdtemp(join(tmpdir(), "xppg-gib-"));
    dirs.push(work);
    const src = join(work, "big.bin");
    // 1 GiB of a repeated random block, written in 8 MiB pieces.
    const block = randomBytes(8 * 1024 * 1024);
    const expected = createHash("sha256");
    const fh = await open(src, "w");
    for (let i = 0; i < 128; i++) {
      await fh.write(block);
      expected.update(block);
    }
    await fh.close();
    const sha256 = expected.digest("hex");

    const receiver = await startPeer({ XPPG_TEST_DOWNLOADS: join(work, "downloads") });
    const sender = await startPeer();
    sender.command({ op: "join", host: "127.0.0.1", port: receiver.port });
    await sender.waitFor((e) => e.event === "join-ok");
    const started = performance.now();
    sender.command({ op: "file", path: src });
    const sent = await sender.waitFor((e) => e.event === "file-sent" || e.event === "op-error", 300_000);
    expect(sent.event).toBe("file-sent");
    const file = await receiver.waitFor((e) => e.event === "file", 300_000);
    const seconds = (performance.now() - started) / 1000;
    expect(file.sha256).toBe(sha256);
    expect(file.size).toBe(1024 ** 3);
    expect((await stat(file.path as string)).size).toBe(1024 ** 3);
    // Spot-check content, not only the sender's word for it.
    const rh = await open(file.path as string, "r");
    const head = Buffer.alloc(block.byteLength);
    await rh.read(head, 0, head.byteLength, 0);
    await rh.close();
    expect(head.equals(block)).toBe(true);

    sender.command({ op: "memory" });
    receiver.command({ op: "memory" });
    const sm = (await sender.waitFor((e) => e.event === "memory")).peakRss as number;
    const rm_ = (await receiver.waitFor((e) => e.event === "memory")).peakRss as number;
    const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
    console.log(`[figure] 1 GiB file in ${seconds.toFixed(1)} s (${(1024 / seconds).toFixed(0)} MiB/s); peak RSS sender ${mib(sm)} MiB, receiver ${mib(rm_)} MiB`);
    expect(sm).toBeLessThan(300 * 1024 * 1024);
    expect(rm_).toBeLessThan(300 * 1024 * 1024);
  }, 400_000);
});
