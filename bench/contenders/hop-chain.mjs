// The forwarders of a 3-hop chain, each in a process of its own
// (hop-process.mjs): the receiver of a routed contender starts them, from
// its own end outwards, and the sender joins the last one. Each one's CPU
// is read over the receiver's counted window, so the bench prints every
// process's CPU per message along the path.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const HOP = fileURLToPath(new URL("./hop-process.mjs", import.meta.url));
const START_TIMEOUT_MS = 15_000;

/** One hop process joined to `nextPort`; resolves with its port once it listens. */
export async function startHop(kind, host, nextPort) {
  // Profiled like the bench's own children when BENCH_CPU_PROF is set.
  const dir = process.execArgv.find((a) => a.startsWith("--cpu-prof-dir="));
  const execArgv = dir === undefined ? [] : ["--cpu-prof", dir, `--cpu-prof-name=hop-${kind}-${process.pid}-${process.hrtime.bigint()}.cpuprofile`];
  const child = fork(HOP, [kind, host, String(nextPort)], { execArgv, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${kind} hop did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${kind} hop exited (${code})`));
    });
  });
  return {
    port,
    /** The CPU seconds the hop has used so far. */
    cpuSeconds: () =>
      new Promise((resolve) => {
        const onMessage = (m) => {
          if (m?.cpuSeconds === undefined) return;
          child.off("message", onMessage);
          resolve(m.cpuSeconds);
        };
        child.on("message", onMessage);
        child.send("cpu");
      }),
    close: async () => {
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Two hops in front of the receiver's listening `port`: R2 joins it, R1
 * joins R2. Returns R1's port (the sender's way in), the hops' CPU seconds
 * (R1 then R2) and a close.
 */
export async function startChain(kind, host, port) {
  const r2 = await startHop(kind, host, port);
  let r1;
  try {
    r1 = await startHop(kind, host, r2.port);
  } catch (error) {
    await r2.close();
    throw error;
  }
  return {
    port: r1.port,
    hopCpuSeconds: () => Promise.all([r1.cpuSeconds(), r2.cpuSeconds()]),
    close: async () => {
      await r1.close();
      await r2.close();
    },
  };
}
