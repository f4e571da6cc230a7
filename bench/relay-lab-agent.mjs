// One process of the relay lab bench (bench/relay-lab.mjs), run inside a lab
// namespace with a JSON config as its argument; it prints JSON lines.
//  - relay:    RelayServices on the wan side, each with its own limits.
//  - listener: reserves on a relay and answers each circuit over the secure
//              channel: counts bulk data, reports it, echoes pings.
//  - dialer:   opens circuits (relayed, or punched when `punch`), runs the
//              measures over the secure channel end to end and prints them;
//              a failed dial, or a circuit closed under a measure, is printed
//              as an `error` event with its reason.
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { generateIdentity, secureConnection } from "@xppg/secure";
import { RelayService, relayTransport } from "@xppg/node/relay";

const config = JSON.parse(process.argv[2]);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const IDENTITY = generateIdentity();
const DATA = 1;
const REPORT = 2;
const PING = 3;

if (config.role === "relay") {
  const relays = [];
  for (const r of config.relays) {
    // JSON has no Infinity: `null` stands for "no limit".
    const limits = Object.fromEntries(Object.entries(r.limits ?? {}).map(([k, v]) => [k, v ?? Infinity]));
    const relay = new RelayService(limits);
    await relay.start(r.listen);
    relays.push(relay);
  }
  emit({ event: "ready" });
  // Each line asks for the relay's CPU time so far (the bench takes differences around a measure).
  createInterface({ input: process.stdin }).on("line", () => {
    const { user, system } = process.cpuUsage();
    emit({ event: "cpu", us: user + system, userUs: user, bytesRelayed: relays.reduce((n, r) => n + r.stats.bytesRelayed, 0) });
  });
  process.stdin.on("end", () => void Promise.all(relays.map((r) => r.close())).then(() => process.exit(0)));
} else if (config.role === "listener") {
  const listeners = [];
  for (const r of config.reservations) {
    const transport = relayTransport({ peerId: r.peerId, punch: r.punch, punchTimeoutMs: 5000 });
    // A punch-time try sends one bare frame and closes: no handshake, nothing to serve.
    listeners.push(await transport.listen(r.relay, (conn) => void serve(conn).catch(() => conn.close())));
  }
  emit({ event: "ready" });
  process.stdin.on("end", () => {
    setTimeout(() => process.exit(0), 2000).unref();
    void Promise.all(listeners.map((l) => l.close())).then(() => process.exit(0));
  });
  process.stdin.resume();
} else if (config.role === "dialer") {
  // A dial or a measure that fails says why, at once: the bench would otherwise wait out its timeout.
  await dialer().catch((e) => {
    emit({ event: "error", message: e.cause?.message ?? e.message });
    process.exit(1);
  });
  process.exit(0);
}

async function serve(conn) {
  const secure = await secureConnection(conn, { identity: IDENTITY });
  let bytes = 0;
  let first = 0;
  let last = 0;
  let cpu0 = 0;
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  secure.read({
    frame(f) {
      if (f[0] === DATA) {
        if (bytes === 0) {
          first = performance.now();
          cpu0 = cpu();
        }
        bytes += f.byteLength;
        last = performance.now();
      } else if (f[0] === REPORT) {
        void secure.send(new TextEncoder().encode(JSON.stringify({ bytes, ms: last - first, cpuUs: cpu() - cpu0 })));
        bytes = 0;
      } else if (f[0] === PING) void secure.send(f);
    },
  });
}

/** Opens a secure channel over a circuit; with `punch`, waits until the circuit moved to the punched path. */
async function open(target, punch) {
  let punched;
  const path = new Promise((resolve) => (punched = resolve));
  const transport = relayTransport({ punch, punchTimeoutMs: 5000, onPath: (_c, p, reason) => punched({ path: p, reason, at: performance.now() }) });
  const conn = await transport.dial(target);
  const opened = performance.now();
  const secure = await secureConnection(conn, { identity: IDENTITY });
  if (punch) {
    const p = await path;
    if (p.path !== "punched") throw new Error(`the punch failed: ${p.reason}`);
    // "punched" here: both directions moved at this end (the other's mark came through).
    // This end's own mark may still be on its way to the other end, which holds what comes
    // directly until it reads it: let it through before the measures start.
    await new Promise((r) => setTimeout(r, 100));
  }
  return { conn, secure, opened, path };
}

function framesFrom(secure) {
  const waiting = [];
  secure.read({ frame: (f) => waiting.shift()?.(f.slice()) });
  return () => new Promise((resolve) => waiting.push(resolve));
}

/**
 * Sends `size`-byte frames for `durationMs`, or, with `totalBytes`, that many
 * bytes (whole frames) however long they take: a circuit whose relay reads
 * at a capped rate holds what the kernel buffers between them take, and the
 * buffers grow with the connection (up to tens of MB), so a flood bounded by
 * time alone sends a volume no one chose, which a relay's byte limit per
 * circuit may cut off.
 */
async function flood(secure, next, size, durationMs, totalBytes) {
  const frame = new Uint8Array(size).fill(7);
  frame[0] = DATA;
  const c0 = process.cpuUsage();
  const until = performance.now() + durationMs;
  let frames = totalBytes === undefined ? Infinity : Math.ceil(totalBytes / size);
  while (frames > 0 && (totalBytes !== undefined || performance.now() < until)) {
    const sends = [];
    for (let i = 0; i < 64 && frames > 0; i++, frames--) sends.push(secure.send(frame));
    await Promise.all(sends);
  }
  const answer = next();
  await secure.send(new Uint8Array([REPORT]));
  const { bytes, ms, cpuUs } = JSON.parse(new TextDecoder().decode(await answer));
  const c = process.cpuUsage(c0);
  // CPU microseconds per MB on each end; the relay's comes from the bench (its own process).
  return { mbps: bytes / 1e6 / (ms / 1000), bytes, senderUsPerMB: (c.user + c.system) / (bytes / 1e6), receiverUsPerMB: cpuUs / (bytes / 1e6) };
}

async function pings(secure, next, rounds) {
  const ping = new Uint8Array(100);
  ping[0] = PING;
  const samples = [];
  for (let i = 0; i < rounds + 200; i++) {
    const t = performance.now();
    const answer = next();
    await secure.send(ping);
    await answer;
    if (i >= 200) samples.push((performance.now() - t) * 1000);
  }
  return median(samples);
}

/** Round trip of a TCP handshake to `host:port` (the relay hop), median of `n`. */
async function tcpRtt(host, port, n) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => (samples.push((performance.now() - t) * 1000), s.destroy(), resolve()));
      s.once("error", reject);
    });
  }
  return median(samples);
}

async function dialer() {
  if (config.measure === "punch-time") {
    // From the first relayed message (the secure handshake's first, sent as soon as the
    // circuit is ready) to the punched path: both ends' punches connected and the other
    // end's switch mark came through the relay (before, only this end's punch connecting).
    const times = [];
    let failed = 0;
    const reasons = [];
    for (let i = 0; i < config.tries; i++) {
      let done;
      const path = new Promise((resolve) => (done = resolve));
      const transport = relayTransport({ punch: true, punchTimeoutMs: 5000, onPath: (_c, p, why) => done({ p, why, at: performance.now() }) });
      const conn = await transport.dial(config.target).catch((e) => void reasons.push(e.cause?.message ?? e.message));
      if (conn === undefined) {
        failed++;
        continue;
      }
      const first = performance.now();
      const secure = await secureConnection(conn, { identity: IDENTITY });
      const { p, why, at } = await path;
      if (p === "punched") times.push(at - first);
      else {
        failed++;
        reasons.push(why);
      }
      await secure.close();
    }
    emit({ event: "punch-time", times, failed, reasons: [...new Set(reasons)] });
    return;
  }
  const { conn, secure } = await open(config.target, config.punch);
  const next = framesFrom(secure);
  // The circuit closed under a measure (the relay's limits, the other end gone): its answer will not come.
  let closing = false;
  void secure.closed.then(({ initiator, error }) => {
    if (closing) return;
    emit({ event: "error", message: `the circuit closed (${initiator}): ${error?.message ?? "no error given"}` });
    process.exit(1);
  });
  emit({ event: "open" });
  // One measure per line on stdin, so the bench can read the relay's CPU around each.
  for await (const line of createInterface({ input: process.stdin })) {
    const result = { measure: line, path: conn.path };
    if (line === "bulk") Object.assign(result, await flood(secure, next, 64 * 1024, config.durationMs, config.floodBytes));
    else if (line === "msgs") Object.assign(result, await flood(secure, next, 100, config.durationMs, config.floodBytes));
    else if (line === "rtt") result.rttUs = await pings(secure, next, config.pings);
    else if (line === "hop") result.relayHopUs = await tcpRtt(config.relayHost, config.relayPort, 50);
    else break;
    emit({ event: "result", ...result });
  }
  closing = true;
  await secure.close();
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
