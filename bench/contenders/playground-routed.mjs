// Routed unicast through the mesh (issue 9): A - B - C - D over TCP, A sends
// to D, which is not its neighbour, so every message crosses 3 links and 2
// forwarders, end to end encrypted (a Noise channel from A to D inside the
// per-link Noise channels). In the flood and rtt phases each node has a
// process of its own, as on four machines: the sender process runs A, the
// receiver process D, and the receiver forks the forwarders C and B
// (hop-chain.mjs), whose CPU the bench reads over the counted window, the
// same path as the secret-stream-routed anchor. The rtt phase is a
// request/response round trip (`pg.request` answered by `pg.handle`) over
// the same 3 hops; setup and first time the joins until A has a route to D,
// with B in the sender's process and C in the receiver's.
// Both per-peer rate limits are off (the bench floods on purpose).
import { Playground } from "@xppg/node";
import { tcpTransport } from "@xppg/transport-tcp";
import { startChain } from "./hop-chain.mjs";

const APP = "xppg-bench-routed";
const KIND = "bench";
const LIMITS = { messagesPerSecond: Infinity, bytesPerSecond: Infinity, maxPeers: 1024 };
// No connection manager: it would dial the peers it learns until A and D are neighbours, and the bench
// would measure a direct link for part of a round (it did: rounds swung from 14k to 424k messages/s).
const CONNECTIONS = { lowWater: 0, peerExchange: false };
const ROUTE_TIMEOUT_MS = 10_000;

/** One node of the routed path, as every node of this contender is started (the forwarders too). */
export async function startRoutedNode(host, extra = {}) {
  return start(host, extra);
}

async function start(host, extra = {}) {
  const pg = new Playground(APP, { host, port: 0, transports: [tcpTransport()], limits: LIMITS, connections: CONNECTIONS, ...extra });
  pg.events.on("error", (error) => process.stderr.write(`\n[playground-routed] ${error.code}: ${error.message}\n`));
  await pg.start();
  return pg;
}

/** Resolves once `pg` has heard of a mesh member `hops` links away, with that member. */
function memberAt(pg, hops, exclude = new Set()) {
  return new Promise((resolve, reject) => {
    const found = () => pg.meshPeers.find((m) => m.hops === hops && !exclude.has(m.peerId));
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no mesh member ${hops} hops away within ${ROUTE_TIMEOUT_MS} ms`));
    }, ROUTE_TIMEOUT_MS);
    const done = (member) => {
      clearTimeout(timer);
      off();
      resolve(member);
    };
    const off = pg.events.on("mesh:joined", () => {
      const m = found();
      if (m !== undefined) done(m);
    });
    const m = found();
    if (m !== undefined) done(m);
  });
}

/** C and D, C joined to D; C's port is the one the sender's B joins. */
async function receiverSide(host) {
  const d = await start(host);
  const c = await start(host);
  await c.join(host, d.port);
  return { c, d, close: async () => Promise.all([c.stop(), d.stop()]) };
}

/** A and B, started. */
async function senderNodes(host) {
  const b = await start(host);
  const a = await start(host, { listen: [] });
  return { a, b, close: async () => Promise.all([a.stop(), b.stop()]) };
}

/** B joins the receiver's C, A joins B. */
async function joinPath(side, host, port) {
  await side.b.join(host, port);
  await side.a.join(host, side.b.port);
}

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "playground-routed",
  label: "xppg routed, 3 hops",
  compareTo: "playground",
  alsoCompareTo: ["secret-stream-routed"],
  targets: [
    { issue: "9", phase: "msgs", minRatio: 0.5 },
    { issue: "9", phase: "bulk", minRatio: 0.5 },
  ],
  notes: [
    "routed unicast A - B - C - D (3 links, 2 forwarders), end to end encrypted inside the per-link encryption; msgs/bulk/rtt: one process per node (the forwarders forked by the receiver), as secret-stream-routed",
    "its rtt is a request/response round trip (pg.request answered by pg.handle) over the 3 hops; setup/first: B joins C, A joins B, until A has heard of D (a route to it)",
  ],

  async listen({ host, onMessage, phase }) {
    const d = await start(host);
    const chain = await startChain("playground", host, d.port).catch(async (error) => {
      await d.stop();
      throw error;
    });
    d.on(KIND, (_src, _kind, payload) => onMessage(payload));
    // Request/response: the handler answers; the harness's echo is then not needed.
    const rtt = phase?.kind === "pingpong";
    d.handle(KIND, (_src, payload) => payload);
    const connected = memberAt(d, 3).then((a) => ({
      send: rtt ? () => Promise.resolve() : (payload) => d.send(KIND, payload, { to: a.peerId }),
      close: async () => {},
      hopCpuSeconds: chain.hopCpuSeconds,
    }));
    return { port: chain.port, connected, close: async () => { await chain.close(); await d.stop(); } };
  },

  async dial({ host, port, onMessage, phase }) {
    const a = await start(host, { listen: [] });
    await a.join(host, port);
    a.on(KIND, (_src, _kind, payload) => onMessage(payload));
    const d = await memberAt(a, 3);
    const to = { to: d.peerId };
    const send =
      phase?.kind === "pingpong"
        ? (payload) => {
            void a.request(KIND, payload, to).then(onMessage, (error) => process.stderr.write(`\n[playground-routed] ${error.code}: ${error.message}\n`));
            return Promise.resolve();
          }
        : (payload) => a.send(KIND, payload, to);
    return { send, close: () => a.stop() };
  },

  async setupServer({ host }) {
    const side = await receiverSide(host);
    return { port: side.c.port, close: side.close };
  },

  async setupClient() {
    const side = await senderNodes("127.0.0.1");
    return {
      async connect({ host, port }) {
        await joinPath(side, host, port);
        await memberAt(side.a, 3);
      },
      close: side.close,
    };
  },
};
