// One process of the LAN discovery bench, inside a lab namespace. Modes:
//   node   <appName> <host>  a Playground with LAN discovery; prints
//                            {"event":"first-peer","ms":...} (from start() to the first peer:joined)
//   quiet  <appName> <host>  a LAN discovery alone, for the idle-cost count
//   count  <seconds...>      counts mDNS packets on the group per window; prints one line per window
import { createSocket } from "node:dgram";
import readline from "node:readline";

const [mode, ...rest] = process.argv.slice(2);
const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const stopOnStdin = (stop) => readline.createInterface({ input: process.stdin }).on("line", async (l) => l.trim() === "stop" && (await stop(), process.exit(0)));

if (mode === "node") {
  const { Playground } = await import("@xppg/node");
  const [appName, host] = rest;
  const pg = new Playground(appName, { host, port: 7337, discovery: { lan: true } });
  const t0 = performance.now();
  pg.events.on("peer:joined", () => emit({ event: "first-peer", ms: performance.now() - t0 }));
  await pg.start();
  emit({ event: "started", ms: performance.now() - t0 });
  stopOnStdin(() => pg.stop());
} else if (mode === "quiet") {
  const { lanDiscovery } = await import("@xppg/discovery");
  const { randomBytes } = await import("node:crypto");
  const [appName, host] = rest;
  const d = lanDiscovery({ appName, peerId: `xp1${randomBytes(26).toString("hex").slice(0, 52)}`, port: 7337, interface: host });
  await d.start();
  emit({ event: "started" });
  stopOnStdin(() => d.stop());
} else if (mode === "count") {
  const windows = rest.map(Number);
  const sock = createSocket({ type: "udp4", reuseAddr: true });
  await new Promise((r) => sock.bind(5353, "224.0.0.251", r));
  sock.addMembership("224.0.0.251");
  let n = 0;
  sock.on("message", () => n++);
  emit({ event: "counting" });
  for (const s of windows) {
    n = 0;
    await new Promise((r) => setTimeout(r, s * 1000));
    emit({ event: "window", seconds: s, packets: n });
  }
  sock.close();
}
