// The xppg full stack: a Playground over TCP (handshake done, envelope
// encoding, dispatch to a pg.on handler), encrypted (the default) or with
// `dangerouslyDisableEncryption`. Both per-peer rate limits are turned off,
// since the bench floods on purpose; every other limit keeps its default.
// The bench's handler keeps nothing of a payload after it returns (it counts
// or echoes it), so the contenders that say so register it with
// `{ borrow: true }` (the node may then reuse a message's memory for later
// ones); `playground-keep` and `playground-plain-keep` register it as a
// default handler, which the node must assume keeps its payload.
// Shared by playground.mjs, playground-keep.mjs, playground-plain.mjs and playground-plain-keep.mjs; not a contender itself.
import { Playground } from "@xppg/node";
import { cryptoProviderName } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";

const APP = "xppg-bench";
const KIND = "bench";
/** The bench floods on purpose: both rate limits are OFF (printed with the results). */
const LIMITS = { messagesPerSecond: Infinity, bytesPerSecond: Infinity };
/**
 * The setup phase's server sees hundreds of short-lived peers one after the
 * other; a closed one may still be on its way out when the next arrives.
 */
const SETUP_SERVER_LIMITS = { ...LIMITS, maxPeers: 1024 };

/** The encrypted Playground's targets (playground: its handler borrows). */
export const ENCRYPTED_TARGETS = [
  { issue: "security", phase: "msgs", minRatio: 0.4 },
  { issue: "security", phase: "bulk", minRatio: 0.5 },
  { issue: "security", phase: "setup", maxMedianMs: 15 },
  { issue: "encrypted", phase: "msgs", against: "secret-stream", minRatio: 5 },
  { issue: "encrypted", phase: "bulk", against: "secret-stream", minRatio: 1 },
  { issue: "encrypted", phase: "rtt", against: "secret-stream", maxRatio: 1 },
  { issue: "encrypted", phase: "first", against: "secret-stream", maxRatio: 1 },
  { issue: "encrypted", phase: "bulk", maxRssMiB: 100 },
];

/** The plaintext Playground's targets (playground-plain: its handler borrows). */
export const PLAIN_TARGETS = [
  { issue: "foundation", phase: "msgs", minRatio: 0.5 },
  { issue: "foundation", phase: "bulk", minRatio: 0.7 },
  { issue: "encrypted", phase: "msgs", minRatio: 0.9 },
  { issue: "encrypted", phase: "bulk", minRatio: 0.9 },
  { issue: "encrypted", phase: "bulk", maxRssMiB: 100 },
];

/**
 * The same targets for a default handler (playground-keep,
 * playground-plain-keep), but for the bulk receiver's peak RSS: the sender's
 * is judged, the receiver's is shown beside raw node:net's receiver in the
 * same run. A receiver that must give each message memory of its own (a
 * default handler may keep its payload) peaks at its size when connected,
 * plus the 32 MiB of young ArrayBuffers at which V8 collects them, plus what
 * its background sweep has not yet freed; raw node:net's own receiver reaches
 * 100 MiB by the same rule (bench/README.md, "Handlers that borrow").
 * @param {object[]} targets
 */
export function defaultHandlerTargets(targets) {
  return targets.flatMap((t) =>
    t.maxRssMiB === undefined ? [t] : [{ ...t, side: "sender" }, { issue: t.issue, phase: t.phase, receiverRssAgainst: "raw-tcp" }],
  );
}

/**
 * @param {{ name: string, label: string, encrypted: boolean, borrow: boolean, targets: object[] }} o
 * @returns {import("./index.mjs").Contender}
 */
export function playgroundContender({ name, label, encrypted, borrow, targets }) {
  const start = async (host, onMessage, extra = {}) => {
    const pg = new Playground(APP, {
      host,
      port: 0,
      transports: [tcpTransport()],
      limits: LIMITS,
      ...(encrypted ? {} : { dangerouslyDisableEncryption: true }),
      ...extra,
    });
    pg.on(KIND, (_src, _kind, payload) => onMessage(payload), { borrow });
    pg.events.on("error", (error) => process.stderr.write(`\n[${name}] ${error.code}: ${error.message}\n`));
    await pg.start();
    return pg;
  };
  const ignore = () => {};
  return {
    name,
    label,
    compareTo: "raw-tcp",
    alsoCompareTo: encrypted ? ["raw-tls"] : [],
    targets,
    notes: [
      `Playground over tcpTransport(), ${encrypted ? `ENCRYPTED (the default: Noise XX via @xppg/secure, crypto provider "${cryptoProviderName}", a fresh identity per node)` : "dangerouslyDisableEncryption: true (plaintext, unauthenticated)"}; ` +
        "limits.messagesPerSecond = Infinity and limits.bytesPerSecond = Infinity (both rate limits are OFF for this bench), other limits default",
      `payloads travel as a Uint8Array in a "${KIND}" message sent with { to: peerId }; setup: a fresh client node per join (made and started before the clock starts, stopped after), the server allows 1024 peers`,
      borrow
        ? `the "${KIND}" handler is registered with { borrow: true } (it keeps nothing of a payload after it returns: the node may reuse a message's memory for later ones)`
        : `the "${KIND}" handler is a default one (registered without borrow: the node keeps every message's memory for as long as the handler might)`,
    ],

    async listen({ host, onMessage }) {
      const pg = await start(host, onMessage);
      const connected = new Promise((resolve) => {
        pg.events.on("peer:joined", (peer) => resolve(peerOf(pg, peer.peerId)));
      });
      return { port: pg.port, connected, close: () => pg.stop() };
    },

    async dial({ host, port, onMessage }) {
      const pg = await start(host, onMessage, { listen: [] });
      const peer = await pg.join(host, port);
      return peerOf(pg, peer.peerId);
    },

    // Setup phase: TCP connect, the Noise XX handshake (unless plaintext) and xppg's hello/welcome.
    async setupServer({ host }) {
      const pg = await start(host, ignore, { limits: SETUP_SERVER_LIMITS });
      return { port: pg.port, close: () => pg.stop() };
    },

    async setupClient() {
      const pg = await start("127.0.0.1", ignore, { listen: [] });
      return {
        async connect({ host, port }) {
          await pg.join(host, port);
        },
        close: () => pg.stop(),
      };
    },
  };
}

function peerOf(pg, peerId) {
  const to = { to: peerId };
  return { send: (payload) => pg.send(KIND, payload, to), close: () => pg.stop() };
}
