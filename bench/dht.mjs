// DHT topic bench, on a private DHT on this machine's loopback (no root, no
// namespace: nothing is sent anywhere but 127.0.0.0/8):
//
//   node --expose-gc bench/dht.mjs [--tries=20] [--dht-nodes=30] [--idle-seconds=60,60]
//
// The private DHT's nodes listen on 127.0.1.1, 127.0.1.2, ... and each xppg
// node's DHT on an address of its own (127.0.2.x), so the per-address packet
// limits apply as they would on the internet; every limit and interval is
// the default.
//
// 1. Time from joinTopic to the first joined peer: node A has joined a topic
//    (and announced); a new node B starts, and the time from its
//    joinTopic() call to its first peer:joined is measured (its DHT's
//    bootstrap included). --tries times, a new topic and new nodes each
//    time, for nodes that publish their signed record (the default) and,
//    alternating with them, nodes that do not (the baseline). Median and p99.
// 2. Idle cost (with and without the record, side by side): one node in one topic, its DHT packets (sent + received)
//    per window (default: the first minute, with the lookups at 0, 5, 15
//    and 30 s, then the second).
// 3. Memory of the DHT part: heap used after a node joined a topic, less
//    before (after a GC each; run with --expose-gc).
//
// Memory is measured first, before the other parts leave garbage behind.
// Reports; never fails on a miss. Needs a build (`pnpm run build`).
import { dhtDiscovery, startDhtNode } from "@xppg/dht";
import { Playground } from "@xppg/node";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const tries = Number(args.tries ?? 20);
const size = Number(args["dht-nodes"] ?? 30);
const idleWindows = String(args["idle-seconds"] ?? "60,60").split(",").map(Number);
let nextHost = 1;
const ownHost = () => `127.0.2.${nextHost++}`;

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const gc = () => globalThis.gc?.();

async function privateDht(n) {
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(await startDhtNode({ bootstrap: nodes.slice(0, 3).map((d) => d.address), host: `127.0.1.${i + 1}` }));
  return nodes;
}

// `record`: the node publishes its signed address record (BEP 44) while in a topic (the default);
// without it, the baseline measured beside it in the same run.
async function node(bootstrap, record = true) {
  const host = ownHost();
  const pg = new Playground("dht-bench", { host, port: 0, discovery: { dht: { bootstrap, host, peerRecord: record } } });
  await pg.start();
  return pg;
}

function firstPeer(pg) {
  return new Promise((resolve) => {
    if (pg.peers.length > 0) return resolve();
    const off = pg.events.on("peer:joined", () => (off(), resolve()));
  });
}

async function until(check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

const dht = await privateDht(size);
const bootstrap = dht.slice(0, 4).map((d) => d.address);
console.log(`private DHT: ${size} nodes on 127.0.1.1-${size}; xppg nodes on 127.0.2.x; default limits and intervals`);

// 3. memory of the DHT part: 10 DHTs of @xppg/dht, each in one topic, after their first lookups; heap per DHT.
const settle = () => new Promise((r) => setTimeout(r, 300));
// The private DHT's own start leaves queries and buffers that live a few seconds: let them go first.
await new Promise((r) => setTimeout(r, 5_000));
for (let i = 0; i < 3; i++) {
  gc();
  await settle();
}
const heapBefore = process.memoryUsage().heapUsed;
const dhts = [];
for (let i = 0; i < 10; i++) {
  const host = ownHost();
  const d = dhtDiscovery({ appName: "dht-bench", bootstrap, host });
  await d.topic("memory-topic", { port: 7000 + i }).start();
  dhts.push(d);
}
await new Promise((r) => setTimeout(r, 6_000)); // past the 5 s lookup
for (let i = 0; i < 3; i++) {
  gc();
  await settle();
}
const heapAfter = process.memoryUsage().heapUsed;
const candidates = dhts.reduce((n, d) => n + d.topics[0].candidates.length, 0);
console.log(`memory: heap ${((heapAfter - heapBefore) / 10 / 1024).toFixed(0)} KiB per DHT in one topic (10 DHTs, ${candidates / 10} candidates each, ${globalThis.gc ? "after GC" : "no --expose-gc: rough"})`);
await Promise.all(dhts.map((d) => d.close()));

// 1. joinTopic -> first peer:joined; tries alternate between nodes that publish their record and nodes that do not.
// One try first that counts for neither: the DHT's routing tables still list the memory part's closed DHTs,
// and the first lookup after it may wait on them (it was always the first arm's worst time).
const arms = { record: { times: [], misses: 0 }, baseline: { times: [], misses: 0 }, warmup: { times: [], misses: 0 } };
for (let i = -1; i < 2 * tries; i++) {
  const record = i % 2 === 0;
  const arm = i < 0 ? arms.warmup : record ? arms.record : arms.baseline;
  const topic = `bench-topic-${i}`;
  const a = await node(bootstrap, record);
  await a.joinTopic(topic);
  await until(() => (a.topics.stats?.topics[topic]?.announces ?? 0) > 0 && (a.topics.stats?.topics[topic]?.failedAnnounces ?? 1) === 0, 10_000);
  const b = await node(bootstrap, record);
  const joined = firstPeer(b);
  const t0 = performance.now();
  await b.joinTopic(topic);
  const ok = await Promise.race([joined.then(() => true), new Promise((r) => setTimeout(() => r(false), 60_000))]);
  if (ok) arm.times.push(performance.now() - t0);
  else arm.misses++;
  await Promise.all([a.stop(), b.stop()]);
}
console.log(`warm-up try (not counted): ${arms.warmup.times[0]?.toFixed(0) ?? "not within 60 s"} ms`);
for (const [name, { times, misses }] of Object.entries(arms).filter(([name]) => name !== "warmup")) {
  times.sort((x, y) => x - y);
  console.log(
    `joinTopic -> first peer joined, ${name === "record" ? "publishing the record (default)" : "no record (peerRecord: false)"} (${times.length} of ${tries}${misses ? `, ${misses} not within 60 s` : ""}): median ${quantile(times, 0.5)?.toFixed(0)} ms, p99 ${quantile(times, 0.99)?.toFixed(0)} ms, min ${times[0]?.toFixed(0)} ms, max ${times.at(-1)?.toFixed(0)} ms`,
  );
}
const median = (arm) => quantile(arm.times, 0.5);
console.log(`joinTopic -> first peer, median ratio record / no record: ${(median(arms.record) / median(arms.baseline)).toFixed(2)}`);

// 2. idle packets, of a node that publishes its record and one that does not, side by side, each in a topic of its own with one peer.
const pairs = [];
for (const record of [true, false]) {
  const idle = await node(bootstrap, record);
  const peer = await node(bootstrap, record);
  const topic = `idle-topic-${record}`;
  await peer.joinTopic(topic);
  await idle.joinTopic(topic);
  await firstPeer(idle);
  pairs.push({ record, idle, peer, topic, last: 0 });
}
const packets = (pg) => {
  const p = pg.topics.stats.packets;
  return p.sent + p.received;
};
let elapsed = 0;
for (const [w, seconds] of idleWindows.entries()) {
  const wait = w === 0 ? Math.max(0, seconds - elapsed) : seconds;
  await new Promise((r) => setTimeout(r, wait * 1000));
  for (const pair of pairs) {
    const now = packets(pair.idle);
    const s = pair.idle.topics.stats.topics[pair.topic];
    const n = now - (w === 0 ? 0 : pair.last);
    console.log(
      `idle in one topic, ${pair.record ? "record" : "no record"}, window ${w + 1} (${w === 0 ? `first ${seconds} s` : `next ${seconds} s`}): ${n} packets sent+received (${((n / seconds) * 60).toFixed(0)} a minute); lookups so far ${s.lookups}, announces ${s.announces}`,
    );
    pair.last = now;
  }
  elapsed = 0;
}
for (const pair of pairs) {
  const s = pair.idle.topics.stats;
  console.log(`idle node's DHT (${pair.record ? "record" : "no record"}): routing table ${s.nodes} nodes, packets sent ${s.packets.sent}, received ${s.packets.received}, dropped ${s.packets.dropped} (${s.packets.oversize} for their size)`);
}

await Promise.all(pairs.flatMap((p) => [p.idle.stop(), p.peer.stop()]));
await Promise.all(dht.map((d) => d.close()));
