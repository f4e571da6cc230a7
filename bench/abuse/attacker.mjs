// The attacker of the abuse bench, in its own process: runs one attack of
// attacks.mjs against the victim and reports what it saw over IPC.
import { ATTACKS } from "./attacks.mjs";

const config = JSON.parse(process.argv[2]);
// A runner that went away (interrupted, crashed) takes this process with it.
process.on("disconnect", () => process.exit(0));
const attack = ATTACKS.find((a) => a.name === config.attack);
let releaseNow;
let goNow;
const go = new Promise((resolve) => {
  goNow = resolve;
});
const released = new Promise((resolve) => {
  releaseNow = resolve;
});
process.on("message", (m) => {
  if (m.type === "release") releaseNow();
  if (m.type === "go") goNow();
});
// Awaiting `ctx.release` tells the runner the window is over (it samples
// the victim while the attacker still holds its sockets), then waits for it.
const release = {
  then(resolve, reject) {
    process.send({ type: "window-end" });
    return released.then(resolve, reject);
  },
};
try {
  const ctx = { ...config.ctx, release };
  // Connections and signatures the attack needs are made before its window opens.
  const prepared = attack.prepare === undefined ? undefined : await attack.prepare(ctx);
  process.send({ type: "armed" });
  await go;
  const started = performance.now();
  const result = await attack.run(ctx, prepared);
  // A short attack still gets a whole window of honest round trips measured after it.
  const rest = config.ctx.durationMs - (performance.now() - started);
  if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
  process.send({ type: "result", result });
} catch (error) {
  process.send({ type: "result", error: String(error?.stack ?? error) });
}
await released;
process.exit(0);
