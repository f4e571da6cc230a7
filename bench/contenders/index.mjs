// The contenders, in the order the bench runs and prints them.
//
// A contender is a small module exporting `contender`, an object with:
//   name          short id used on the command line and in results.json
//   label         column title
//   compareTo     name of the contender its ratios and targets are judged against (null for a baseline)
//   alsoCompareTo names of other contenders it is shown against, ratios only (optional)
//   targets       what it must reach, each naming the issue it belongs to (optional):
//                   { issue, phase, minRatio }     ratio to `compareTo` (msgs, bulk)
//                   { issue, phase, maxMedianMs }  absolute (setup)
//                   { issue, phase, against, minRatio | maxRatio }  ratio to another contender
//                                  (maxRatio for times: rtt, setup, first)
//                   { issue, phase, maxRssMiB }    peak RSS of each side
//                   { issue, phase, maxRssMiB, side: "sender" }   peak RSS of the sender alone
//                   { issue, phase, receiverRssAgainst }   the receiver's peak RSS shown beside
//                                  another contender's receiver (verdict "info", not judged)
//   notes         lines printed under the table (settings that matter)
//   prepare({ args }) -> { options?, notes?, skip? }   optional, once in the parent before
//                 any measurement; `options` (JSON) reach every call below; `skip` says why
//                 the contender cannot run here (it is left out, and the reason printed)
//   listen({ host, onMessage, options, phase }) -> { port, connected: Promise<Peer>, close() }
//   dial({ host, port, onMessage, options, phase }) -> Promise<Peer>, resolved once messages can flow
//                 (`phase` is the measure being run, `{ id, kind, ... }`, for a contender whose
//                 round trip is not an echo)
//   setupServer({ host, options }) -> { port, close() }      the setup phase: accepts any
//                 number of connections, completes their handshakes, reads nothing
//   setupClient({ options }) -> { connect({ host, port }), close() }   a fresh client; only
//                 `connect` is timed, resolved once messages can flow (handshakes done)
// where Peer is { send(payload: Uint8Array): Promise<void>, close(): Promise<void> }
// with the xppg Connection contract: `send` resolves once the message is taken
// and the send buffer is below its high-water mark. `onMessage(payload)` gets
// each received message's payload (a view valid during the call).
//
// To add one: write `contenders/<name>.mjs` and list it below; run.mjs needs
// no change. Helpers that are not contenders (raw-peer.mjs, playground-node.mjs,
// hop-chain.mjs, hop-process.mjs) are not listed.

/**
 * @typedef {{ send(payload: Uint8Array): Promise<void>, close(): Promise<void> }} Peer
 * @typedef {{ port: number, connected: Promise<Peer>, close(): Promise<void> }} Server
 * @typedef {{ issue: string, phase: string, minRatio?: number, maxMedianMs?: number }} Target
 * @typedef {{
 *   name: string, label: string, compareTo: string | null, alsoCompareTo?: string[], targets?: Target[], notes: string[],
 *   prepare?(o: { args: Record<string, string> }): Promise<{ options?: object, notes?: string[], skip?: string }>,
 *   listen(o: { host: string, onMessage: (p: Uint8Array) => void, options?: object, phase?: { id: string, kind: string } }): Promise<Server>,
 *   dial(o: { host: string, port: number, onMessage: (p: Uint8Array) => void, options?: object, phase?: { id: string, kind: string } }): Promise<Peer>,
 *   setupServer(o: { host: string, options?: object }): Promise<{ port: number, close(): Promise<void> }>,
 *   setupClient(o: { options?: object }): Promise<{ connect(o: { host: string, port: number }): Promise<void>, close(): Promise<void> }>,
 * }} Contender
 */

export const CONTENDER_NAMES = ["raw-tcp", "raw-tls", "secret-stream", "transport-tcp", "relay-circuit", "secure-tcp", "relay-secure", "playground-plain", "playground-plain-keep", "playground", "playground-keep", "playground-routed", "secret-stream-routed"];

/** Loads one contender module by name. */
export async function loadContender(name) {
  if (!CONTENDER_NAMES.includes(name)) throw new Error(`unknown contender "${name}" (known: ${CONTENDER_NAMES.join(", ")})`);
  const mod = await import(`./${name}.mjs`);
  return mod.contender;
}
