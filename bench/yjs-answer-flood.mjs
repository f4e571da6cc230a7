// What a node holding Yjs documents pays when many peers ask for them in a loop: one node (a process of its own,
// whose CPU is counted) holds --docs documents of about --doc-kib KiB each, one PlaygroundProvider each with default
// options; --peers askers (Playgrounds without a provider, in this process) join it and send sync step 1 with an
// empty state vector for every document, round after round (--round-ms between rounds, 1 by default), for --seconds. Printed:
// the step 2 bytes the askers got (each was encoded once by the node), the node's CPU over the flood, its peak RSS.
//
//   node bench/yjs-answer-flood.mjs [--tree=<checkout>] [--peers=20] [--docs=4] [--doc-kib=256] [--seconds=5] [--round-ms=1] [--json]
//
// --tree loads the node's @xppg/node, @xppg/yjs and yjs from another built checkout (same-run before/after).
import { fork } from "node:child_process";
import { realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? "true"];
  }),
);
const here = dirname(fileURLToPath(import.meta.url));
const tree = resolve(args.tree ?? join(here, ".."));
const peers = Number(args.peers ?? 20);
const docs = Number(args.docs ?? 4);
const docKiB = Number(args["doc-kib"] ?? 256);
const seconds = Number(args.seconds ?? 5);
const roundMs = Number(args["round-ms"] ?? 1);

async function load(checkout) {
  const node = await import(pathToFileURL(join(checkout, "packages/node/dist/bundle/index.js")).href);
  const yjs = await import(pathToFileURL(join(checkout, "packages/yjs/dist/bundle/index.js")).href);
  // The Yjs the provider imports (its Y.Doc must be that one's).
  const Y = await import(pathToFileURL(join(realpathSync(join(checkout, "packages/yjs/node_modules/yjs")), "dist/yjs.mjs")).href);
  return { ...node, ...yjs, Y };
}

/** A text of many small edits (as people type), about `bytes` when encoded. */
function build(Y, bytes) {
  const doc = new Y.Doc();
  const text = doc.getText("notes");
  let i = 0;
  while (Y.encodeStateAsUpdate(doc).length < bytes) {
    doc.transact(() => {
      for (let j = 0; j < 500; j++, i++) {
        text.insert((i * 7919) % (text.length + 1), `word${i % 97} `);
        if (i % 7 === 0 && text.length > 10) text.delete((i * 104729) % (text.length - 3), 2);
      }
    });
  }
  return doc;
}

if (args.holder) {
  const { Playground, PlaygroundProvider, Y } = await load(tree);
  const pg = new Playground("yjs-flood", { host: "127.0.0.1", port: 0 });
  await pg.start();
  const names = [];
  for (let d = 0; d < docs; d++) {
    names.push(`doc${d}`);
    new PlaygroundProvider(pg, build(Y, docKiB * 1024), { name: `doc${d}` });
  }
  let cpu;
  let at;
  process.on("message", (message) => {
    if (message === "begin") {
      cpu = process.cpuUsage();
      at = performance.now();
    } else if (message === "end") {
      const used = process.cpuUsage(cpu);
      process.send({ cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - at, maxRssMiB: process.resourceUsage().maxRSS / 1024, peers: pg.peers.length });
    } else if (message === "stop") {
      void pg.stop().then(() => process.exit(0));
    }
  });
  process.send({ address: pg.addresses[0], names });
} else {
  const holder = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), "--holder"], { stdio: "inherit" });
  const next = () => new Promise((done) => holder.once("message", done));
  const { address, names } = await next();
  const { Playground } = await load(join(here, ".."));
  const askers = [];
  let bytes = 0;
  let answers = 0;
  for (let p = 0; p < peers; p++) {
    const pg = new Playground("yjs-flood", { host: "127.0.0.1", port: 0 });
    await pg.start();
    pg.on("yjs/step2", (_src, _kind, payload) => {
      bytes += payload.update.length;
      answers += 1;
    });
    const to = await pg.join(address).then((info) => info.peerId);
    askers.push({ pg, to });
  }
  const nothing = new Uint8Array([0]); // an empty state vector
  let stopped = false;
  holder.send("begin");
  const loops = askers.map(async ({ pg, to }) => {
    while (!stopped) {
      for (const doc of names) await pg.send("yjs/step1", { doc, vector: nothing }, { to }).catch(() => {});
      await new Promise((r) => setTimeout(r, roundMs));
    }
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const [got, answersGot] = [bytes, answers];
  holder.send("end");
  const node = await next();
  stopped = true;
  await Promise.all(loops);
  holder.send("stop");
  await Promise.all(askers.map(({ pg }) => pg.stop()));
  const result = { tree, peers, docs, docKiB, seconds, roundMs, answers: answersGot, bytesMiB: got / 2 ** 20, mibPerSecond: got / 2 ** 20 / (node.wallMs / 1000), cpuMs: node.cpuMs, cpuShare: node.cpuMs / node.wallMs, maxRssMiB: node.maxRssMiB, stillJoined: node.peers };
  if (args.json) console.log(JSON.stringify(result));
  else console.log(Object.entries(result).map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 100) / 100 : v}`).join(" "));
}
