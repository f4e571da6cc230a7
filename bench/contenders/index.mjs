// The contenders, in the order the bench runs and prints them.
//
// A contender is a small module exporting `contender`, an object with:
//   name       short id used on the command line and in results.json
//   label      column title
//   compareTo  name of the contender it is judged against (null for a baseline);
//              an encrypted contender names its encrypted raw twin (raw-tls, say)
//   notes      lines printed under the table (settings that matter)
//   listen({ host, onMessage }) -> { port, connected: Promise<Peer>, close() }
//   dial({ host, port, onMessage }) -> Promise<Peer>, resolved once messages can flow
// where Peer is { send(payload: Uint8Array): Promise<void>, close(): Promise<void> }
// with the xppg Connection contract: `send` resolves once the message is taken
// and the send buffer is below its high-water mark. `onMessage(payload)` gets
// each received message's payload (a view valid during the call).
//
// To add one (Noise over TCP, a raw node:tls twin): write `contenders/<name>.mjs`
// and list it below; run.mjs needs no change.

/**
 * @typedef {{ send(payload: Uint8Array): Promise<void>, close(): Promise<void> }} Peer
 * @typedef {{ port: number, connected: Promise<Peer>, close(): Promise<void> }} Server
 * @typedef {{
 *   name: string, label: string, compareTo: string | null, notes: string[],
 *   listen(o: { host: string, onMessage: (p: Uint8Array) => void }): Promise<Server>,
 *   dial(o: { host: string, port: number, onMessage: (p: Uint8Array) => void }): Promise<Peer>,
 * }} Contender
 */

export const CONTENDER_NAMES = ["raw-tcp", "transport-tcp", "playground"];

/** Loads one contender module by name. */
export async function loadContender(name) {
  if (!CONTENDER_NAMES.includes(name)) throw new Error(`unknown contender "${name}" (known: ${CONTENDER_NAMES.join(", ")})`);
  const mod = await import(`./${name}.mjs`);
  return mod.contender;
}
