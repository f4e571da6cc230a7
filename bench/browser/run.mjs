// The browser bench: the size of @xppg/node's browser entry, then a real
// Chromium page (Debian's, driven by playwright-core) as a peer of a Node
// peer over WebSocket on 127.0.0.1: round-trip time of a direct message and
// its answer, messages a second from the page to the Node peer, and MB/s of
// 64 KiB messages. The page is served the split build, as an app's is, and
// the bench tells which of its files it fetched (and their bytes, minified
// and gzipped): once its module loaded, once it joined and its first message
// was answered, once a second page joined the same Node peer (a room of two
// pages and a Node peer listening on TCP and WebSocket), at the end of the
// measurements, once the Node peer closed the second page's link, and once
// another Node peer listening on WebSocket joined the mesh.
//
//   pnpm bench:browser            (builds first)
//   node bench/browser/run.mjs --json
//   node bench/browser/run.mjs --tree=<another built checkout>   (its packages, for an A/B run)
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { bundleForBrowser } from "./bundle.mjs";
import { fetchedScripts, servedFiles } from "./fetched.mjs";
import { measureBrowserEntry } from "./size.mjs";

const CHROMIUM = "/usr/bin/chromium";
const ROUND_TRIPS = 500;
const MESSAGES = 20_000;
const BULK_MESSAGES = 300;
const PAYLOAD = "x".repeat(100);
const repoRoot = resolve(import.meta.dirname, "../..");
// The checkout whose built packages the page and the Node peer run: this one, or --tree's.
const tree = resolve(process.argv.find((a) => a.startsWith("--tree="))?.slice("--tree=".length) ?? repoRoot);
const fromTree = createRequire(resolve(tree, "packages/node/package.json"));
const load = (name) => import(pathToFileURL(fromTree.resolve(name)).href);
const [{ Playground }, { tcpTransport }, { webSocketTransport }] = await Promise.all([load("@xppg/node"), load("@xppg/transport-tcp"), load("@xppg/transport-ws")]);

// The page: a Playground that joins the Node peer (and has its first message answered), then measures.
const PAGE_CODE = `
import { Playground, createIdentity } from "@xppg/node";
let pg, node, answer;
globalThis.xppgJoin = async (url) => {
  // A page's node is given its identity, made on WebCrypto.
  pg = new Playground("xppg-bench-browser", { identity: await createIdentity() });
  await pg.start();
  node = await pg.join(url);
  pg.on("pong", () => answer());
  await new Promise((done) => { answer = done; void pg.send("ping", -1, { to: node.peerId }); });
  return pg.peerId;
};
// The other nodes of the mesh this page heard of, and those it has a link to.
globalThis.xppgPeers = () => ({ mesh: pg.meshPeers.map((m) => m.peerId), linked: pg.peers.map((p) => p.peerId) });
globalThis.xppgStop = () => pg.stop();
globalThis.xppgBench = async ({ roundTrips, messages, payload, bulkMessages }) => {
  const rtts = [];
  for (let i = 0; i < roundTrips; i++) {
    const t0 = performance.now();
    await new Promise((done) => { answer = done; void pg.send("ping", i, { to: node.peerId }); });
    rtts.push(performance.now() - t0);
  }
  let counted;
  const finished = new Promise((done) => pg.on("counted", (_src, _kind, n) => { counted = n; done(); }));
  const t0 = performance.now();
  for (let i = 0; i < messages; i++) await pg.send("load", payload, { to: node.peerId });
  await pg.send("load-end", messages, { to: node.peerId });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  // Bulk: 64 KiB messages, where the cipher's own speed shows (the small ones share records).
  const big = new Uint8Array(65536).fill(7);
  let bulkCounted;
  const bulkDone = new Promise((done) => pg.on("bulk-counted", (_src, _kind, n) => { bulkCounted = n; done(); }));
  const b0 = performance.now();
  for (let i = 0; i < bulkMessages; i++) await pg.send("bulk", big, { to: node.peerId });
  await pg.send("bulk-end", bulkMessages, { to: node.peerId });
  await bulkDone;
  const bulkSeconds = (performance.now() - b0) / 1000;
  rtts.sort((a, b) => a - b);
  return { provider: "WebCrypto and noble", rttMedianMs: rtts[rtts.length >> 1], rttP95Ms: rtts[Math.floor(rtts.length * 0.95)], messagesPerSecond: counted / seconds, counted, bulkMBPerSecond: (bulkCounted * 65536) / bulkSeconds / 1e6, bulkCounted };
};
`;

/** The points at which the bench tells what a page fetched, in order, and what each means. */
const FETCH_POINTS = {
  loaded: "its module loaded",
  joined: "joined the Node peer, first message answered",
  mesh: "a second page joined the same Node peer (both see each other)",
  end: "after the measurements (direct messages only)",
  lost: "the Node peer closed page B's link (pg.disconnect)",
  "ws-peer": "another Node peer listening on WebSocket joined the mesh",
};
/** Quiet time after which a page's fetches are taken as settled (no request under way). */
const SETTLE_MS = 300;

async function main() {
  const json = process.argv.includes("--json");
  const size = await measureBrowserEntry();
  const result = { size: { minifiedBytes: size.minifiedBytes, gzipBytes: size.gzipBytes, targetGzipBytes: size.targetGzipBytes, lazyChunks: size.lazyChunks }, page: null, fetched: null, skipped: null };
  if (!existsSync(CHROMIUM)) result.skipped = `${CHROMIUM} does not exist (apt-get install chromium)`;
  else ({ page: result.page, fetched: result.fetched } = await pageToNode());
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`browser entry, first load: ${kb(size.minifiedBytes)} minified, ${kb(size.gzipBytes)} minified+gzipped (target ${kb(size.targetGzipBytes)}; details: pnpm bench:browser:size)`);
    for (const c of size.lazyChunks) console.log(`  loaded later, by ${c.loadedBy.length > 0 ? c.loadedBy.join(", ") : "(shared by chunks loaded later)"}: ${kb(c.gzipBytes)} minified+gzipped`);
    if (result.skipped !== null) console.log(`page to Node peer: skipped, ${result.skipped}`);
    else {
      const p = result.page;
      console.log(`page to Node peer over WebSocket (Chromium, encrypted, ${p.provider} in the page):`);
      console.log(`  round trip, direct message and answer: median ${p.rttMedianMs.toFixed(2)} ms, p95 ${p.rttP95Ms.toFixed(2)} ms (${ROUND_TRIPS} in a row)`);
      console.log(`  messages page -> Node, 100 bytes each: ${Math.round(p.messagesPerSecond).toLocaleString("en")} a second (${p.counted} sent)`);
      console.log(`  bulk page -> Node, 64 KiB messages: ${p.bulkMBPerSecond.toFixed(1)} MB/s (${p.bulkCounted} sent)`);
      console.log("scripts a page fetched (its own, from the split build; each file minified, gzipped on its own; totals so far):");
      const seen = new Map();
      for (const f of result.fetched) {
        const before = seen.get(f.page) ?? new Set();
        const added = f.scripts.filter((s) => !before.has(s.fileName));
        seen.set(f.page, new Set(f.scripts.map((s) => s.fileName)));
        const extra = f.links !== undefined ? `; links to ${f.links} ${f.links === 1 ? "peer" : "peers"}` : "";
        console.log(`  page ${f.page}, ${FETCH_POINTS[f.point]} [${f.point}]: ${f.scripts.length} ${f.scripts.length === 1 ? "file" : "files"}, ${kb(f.minifiedBytes)} minified, ${kb(f.gzipBytes)} minified+gzipped${extra}`);
        for (const s of added) console.log(`    + ${s.name.padEnd(20)} ${kb(s.gzipBytes).padStart(8)}  (${s.what})`);
      }
    }
  }
}

/** Records the scripts a page requests (URL paths, in order) and whether any request is still under way. */
function watchRequests(page) {
  const paths = [];
  let pending = 0;
  let lastChange = performance.now();
  const done = () => {
    pending--;
    lastChange = performance.now();
  };
  page.on("request", (r) => {
    paths.push(new URL(r.url()).pathname);
    pending++;
    lastChange = performance.now();
  });
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  return {
    paths,
    /** Resolves once no request is under way and none started or ended for {@link SETTLE_MS} (at most 10 s). */
    async settled() {
      const until = performance.now() + 10_000;
      while ((pending > 0 || performance.now() - lastChange < SETTLE_MS) && performance.now() < until) await sleep(50);
    },
  };
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Resolves once `check()` (a page's evaluation) is true; throws after 15 s, saying what it waited for. */
async function until(check, what) {
  const deadline = performance.now() + 15_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`The browser bench waited 15 s for ${what}; it did not happen.`);
    await sleep(50);
  }
}

async function pageToNode() {
  const bundle = await bundleForBrowser({ root: resolve(tree, "packages/node"), code: PAGE_CODE });
  const served = servedFiles(bundle, tree);
  const entry = bundle.files.find((f) => f.isEntry).fileName;
  const html = `<!doctype html><meta charset="utf-8"><title>xppg bench</title><script type="module" src="/${entry}"></script>`;
  const code = new Map(bundle.files.map((f) => [`/${f.fileName}`, f.code]));
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    else if (code.has(path)) res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(code.get(path));
    else res.writeHead(404).end();
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const node = new Playground("xppg-bench-browser", { listen: ["tcp://127.0.0.1:0", "ws://127.0.0.1:0/"], transports: [tcpTransport(), webSocketTransport()] });
  let received = 0;
  node.on("ping", (src, _kind, i) => void node.send("pong", i, { to: src }));
  node.on("load", () => received++);
  node.on("load-end", (src) => void node.send("counted", received, { to: src }));
  let bulkReceived = 0;
  node.on("bulk", () => bulkReceived++);
  node.on("bulk-end", (src) => void node.send("bulk-counted", bulkReceived, { to: src }));
  await node.start();
  let other;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"], timeout: 15_000 });
  try {
    const wsAddress = node.addresses.find((a) => a.startsWith("ws://"));
    const fetched = [];
    // Each page in a browser context of its own (as another user's): nothing cached between them.
    const open = async (name) => {
      const page = await (await browser.newContext()).newPage();
      const watch = watchRequests(page);
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      await page.waitForFunction(() => typeof globalThis.xppgJoin === "function", undefined, { timeout: 10_000 });
      return { name, page, watch };
    };
    const record = async (p, point, extra = {}) => {
      await p.watch.settled();
      fetched.push({ point, page: p.name, ...extra, ...fetchedScripts(p.watch.paths, served) });
    };
    const peersOf = (p) => p.page.evaluate(() => globalThis.xppgPeers());
    const a = await open("A");
    await record(a, "loaded");
    const aId = await a.page.evaluate((url) => globalThis.xppgJoin(url), wsAddress);
    await record(a, "joined");
    // A second page in the same room, through the same Node peer: the mesh is two pages and a Node peer on TCP and WebSocket.
    const b = await open("B");
    await record(b, "loaded");
    const bId = await b.page.evaluate((url) => globalThis.xppgJoin(url), wsAddress);
    await record(b, "joined");
    await until(async () => (await peersOf(a)).mesh.includes(bId) && (await peersOf(b)).mesh.includes(aId), "each page to hear of the other");
    for (const p of [a, b]) await record(p, "mesh");
    const page = await a.page.evaluate((args) => globalThis.xppgBench(args), { roundTrips: ROUND_TRIPS, messages: MESSAGES, payload: PAYLOAD, bulkMessages: BULK_MESSAGES });
    for (const p of [a, b]) await record(p, "end");
    // Whether the page dials `peerId` (its connection manager's work): its links, once it has one to that peer or after 5 s.
    const links = async (p, peerId) => {
      const deadline = performance.now() + 5000;
      while (!(await peersOf(p)).linked.includes(peerId) && performance.now() < deadline) await sleep(50);
      return (await peersOf(p)).linked.length;
    };
    // A lost link: the Node peer closes page B's (B's manager, once loaded, may dial it again after its backoff).
    node.disconnect(bId, "the browser bench closes this link");
    await until(async () => !(await peersOf(b)).linked.includes(node.peerId), "page B to see its link closed");
    for (const p of [a, b]) await record(p, "lost", { links: await links(p, node.peerId) });
    // Another Node peer, listening on WebSocket too, joins the mesh through the first: a peer page A can dial.
    other = new Playground("xppg-bench-browser", { listen: ["tcp://127.0.0.1:0", "ws://127.0.0.1:0/"], transports: [tcpTransport(), webSocketTransport()] });
    await other.start();
    await other.join(node.addresses.find((x) => x.startsWith("tcp://")));
    await until(async () => (await peersOf(a)).mesh.includes(other.peerId), "page A to hear of the second Node peer");
    await record(a, "ws-peer", { links: await links(a, other.peerId) });
    for (const p of [a, b]) await p.page.evaluate(() => globalThis.xppgStop());
    return { page, fetched };
  } finally {
    await browser.close();
    await other?.stop();
    await node.stop();
    server.close();
  }
}

await main();
