// One Playground in its own process for the swarm file bench (bench/files.mjs
// forks it and talks to it over IPC): share, join, download, then report its
// peak RSS and what it served.
import { readFileSync } from "node:fs";
import { Playground } from "@xppg/node";

/** CPU seconds of the main thread alone (Linux; null elsewhere): the rest of `process.cpuUsage()` is the thread pool's (hashes, disk). */
function mainThreadCpuSeconds() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

process.on("disconnect", () => process.exit(0));
// Both rate limits off, as in the bulk phase it is measured against. As shipped, limits.bytesPerSecond
// (256 MiB/s a peer) bounds a download from one peer at 90% of it (the files phase prints that bound).
const LIMITS = { messagesPerSecond: Infinity, bytesPerSecond: Infinity };
const pg = new Playground("files-bench", { host: "127.0.0.1", port: 0, limits: LIMITS });
await pg.start();
process.send({ type: "ready", port: pg.port, peerId: pg.peerId });
process.on("message", async (m) => {
  try {
    if (m.op === "join") {
      await pg.join(`tcp://127.0.0.1:${m.port}`);
      process.send({ type: "joined" });
    } else if (m.op === "share") {
      process.send({ type: "shared", ...(await pg.files.share(m.path)) });
    } else if (m.op === "download") {
      const started = performance.now();
      const cpu = process.cpuUsage();
      const main = mainThreadCpuSeconds();
      const result = await pg.files.download(m.contentId, { dir: m.dir });
      const used = process.cpuUsage(cpu);
      process.send({ type: "downloaded", result, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, mainCpuSeconds: main === null ? null : mainThreadCpuSeconds() - main });
    } else if (m.op === "cpu") {
      const used = process.cpuUsage();
      process.send({ type: "cpu", cpuSeconds: (used.user + used.system) / 1e6, mainCpuSeconds: mainThreadCpuSeconds() });
    } else if (m.op === "finish") {
      const uploaded = Object.fromEntries(pg.files.uploaded);
      await pg.stop();
      process.send({ type: "final", maxRssBytes: process.resourceUsage().maxRSS * 1024, uploaded });
      process.disconnect();
    }
  } catch (error) {
    process.send({ type: "error", message: error.message, code: error.code ?? null });
  }
});
