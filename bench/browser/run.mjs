// The browser bench: the size of @xppg/node's browser entry, then a real
// Chromium page (Debian's, driven by playwright-core) as a peer of a Node
// peer over WebSocket on 127.0.0.1: round-trip time of a direct message and
// its answer, messages a second from the page to the Node peer, and MB/s of
// 64 KiB messages.
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

// The page: a Playground that joins the Node peer, then measures.
const PAGE_CODE = `
import { Playground, createIdentity } from "@xppg/node";
globalThis.xppgBench = async ({ url, roundTrips, messages, payload, bulkMessages }) => {
  // A page's node is given its identity, made on WebCrypto.
  const pg = new Playground("xppg-bench-browser", { identity: await createIdentity() });
  await pg.start();
  const node = await pg.join(url);
  let answer;
  pg.on("pong", () => answer());
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
  await pg.stop();
  rtts.sort((a, b) => a - b);
  return { provider: "WebCrypto and noble", rttMedianMs: rtts[rtts.length >> 1], rttP95Ms: rtts[Math.floor(rtts.length * 0.95)], messagesPerSecond: counted / seconds, counted, bulkMBPerSecond: (bulkCounted * 65536) / bulkSeconds / 1e6, bulkCounted };
};
`;

async function main() {
  const json = process.argv.includes("--json");
  const size = await measureBrowserEntry();
  const result = { size: { minifiedBytes: size.minifiedBytes, gzipBytes: size.gzipBytes, targetGzipBytes: size.targetGzipBytes, lazyChunks: size.lazyChunks }, page: null, skipped: null };
  if (!existsSync(CHROMIUM)) result.skipped = `${CHROMIUM} does not exist (apt-get install chromium)`;
  else result.page = await pageToNode();
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
    console.log(`browser entry, first load: ${kb(size.minifiedBytes)} minified, ${kb(size.gzipBytes)} minified+gzipped (target ${kb(size.targetGzipBytes)}; details: pnpm bench:browser:size)`);
    for (const c of size.lazyChunks) console.log(`  loaded later, by ${c.loadedBy.join(", ")}: ${kb(c.gzipBytes)} minified+gzipped`);
    if (result.skipped !== null) console.log(`page to Node peer: skipped, ${result.skipped}`);
    else {
      const p = result.page;
      console.log(`page to Node peer over WebSocket (Chromium, encrypted, ${p.provider} in the page):`);
      console.log(`  round trip, direct message and answer: median ${p.rttMedianMs.toFixed(2)} ms, p95 ${p.rttP95Ms.toFixed(2)} ms (${ROUND_TRIPS} in a row)`);
      console.log(`  messages page -> Node, 100 bytes each: ${Math.round(p.messagesPerSecond).toLocaleString("en")} a second (${p.counted} sent)`);
      console.log(`  bulk page -> Node, 64 KiB messages: ${p.bulkMBPerSecond.toFixed(1)} MB/s (${p.bulkCounted} sent)`);
    }
  }
}

async function pageToNode() {
  const { code } = await bundleForBrowser({ root: resolve(tree, "packages/node"), code: PAGE_CODE, split: false });
  const html = '<!doctype html><meta charset="utf-8"><title>xppg bench</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    else if (req.url === "/bench.js") res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(code);
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
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"], timeout: 15_000 });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof globalThis.xppgBench === "function", undefined, { timeout: 10_000 });
    const wsAddress = node.addresses.find((a) => a.startsWith("ws://"));
    return await page.evaluate((args) => globalThis.xppgBench(args), { url: wsAddress, roundTrips: ROUND_TRIPS, messages: MESSAGES, payload: PAYLOAD, bulkMessages: BULK_MESSAGES });
  } finally {
    await browser.close();
    await node.stop();
    server.close();
  }
}

await main();
