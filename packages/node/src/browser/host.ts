/**
 * The browser's `#host` (see `../host.ts`): a page has no files, no key
 * file and no folders. The options that need them (`keyFile`, `statePath`,
 * `discovery`, `files`, `reach`, ...) fail with a sentence that shows the
 * browser's way; the rest works as in Node.
 */

import { ERROR_TEXTS, isXppgError, type ErrorText } from "@xppg/errors";
import { verifySignatureAsync, type Identity } from "@xppg/secure";
import { checkOptions, show } from "../argument-checks.js";
import { PlaygroundError, NODE_ERROR_CODES } from "../errors.js";
import type { HostOptions } from "../host-options.js";
import type { MeshMember } from "../mesh/membership.js";
import type { PlaygroundOptions } from "../options.js";
import type { ResolvedReach } from "../reach-options.js";

/**
 * A page has no disk for the swarm file protocol (`files/2`), cannot be
 * dialled back or relay (`reach/1`), and dials WebSocket only while the
 * addresses peers exchange (`pex/1`) are mostly TCP: it offers none of them,
 * so no peer asks; its links are the ones it joins.
 */
export const HOST_LACKS: readonly string[] = ["files/2", "files-push/1", "reach/1", "pex/1"];

/** A mesh member as the application sees it: as it is, `seenAt` already on `performance.now()`, a page's clock (Node turns it: `../mesh/membership.ts`). */
export function memberForApplication(member: MeshMember): MeshMember {
  return member;
}

/** A page cannot listen: a node given no `listen` only dials (`start()` opens no listener). */
export const LISTENS_BY_DEFAULT = false;

/** What a page does of `reach`: it listens on nothing, so it serves no relay, reserves none and punches no hole. */
const PAGE_REACH: ResolvedReach = { serveRelay: false, relayLimits: {}, relayListen: "", useRelays: false, maxRelays: 0, holePunch: false, punchTimeoutMs: 0, minConfirmations: 1, recheckIntervalMs: 0, evidenceMaxAgeMs: 0 };

/**
 * A page backs none of the options of Node's host (`../host-options.ts`):
 * no multicast (`discovery.lan`), no UDP (`discovery.dht`), no disk
 * (`keyFile`, `files`, `downloadDir`, `acceptFile`, `statePath`,
 * `stateSyncIntervalMs`), no listener (`reach`). Each one given is refused
 * in words when the node is made, so a page's build holds none of their checks.
 */
export function resolveHostOptions(o: PlaygroundOptions, _appName: string, _host: string, call: string): HostOptions {
  const discovery = checkOptions(o.discovery, ["lan", "dht"], call, "discovery");
  if (discovery.lan !== undefined && discovery.lan !== false) {
    throw notInPage(ERROR_TEXTS ? "discovery.lan searches the local network with multicast, which a browser page cannot do. Leave discovery out in a page and join a Node peer's ws:// address." : ["discovery.lan"]);
  }
  // Worded as the page's other refusals (joinTopic, pg.files, openPort): the same advice, and fewer bytes once gzipped.
  if (discovery.dht !== undefined) throw notInPage(ERROR_TEXTS ? "discovery.dht sets up the BitTorrent DHT over UDP, which a browser page cannot send. Leave it out: join a Node peer's ws:// address instead; a Node peer in the topic brings the page into the mesh." : ["discovery.dht"]);
  if (o.files !== undefined) throw notInPage(ERROR_TEXTS ? 'files tunes pg.files, which reads and writes files on disk, which a browser page cannot do. Leave it out: send the bytes in a message instead (pg.send("my-file", { name, data })), or share the file from a Node peer.' : ["files"]);
  if (o.reach !== undefined) throw notInPage(ERROR_TEXTS ? "reach tunes relays and hole punching, which a browser page cannot do (it only dials). Leave reach out in a page; let a Node peer listen." : ["reach"]);
  if (o.keyFile !== undefined) {
    throw notInPage(ERROR_TEXTS ? `keyFile (${show(o.keyFile)}) needs a file system, which a browser page does not have. Keep the identity in the page's storage instead: { identity: await loadOrCreateStoredIdentity("my-app") } (from @xppg/secure).` : ["keyFile", show(o.keyFile)]);
  }
  if (o.downloadDir !== undefined || o.acceptFile !== undefined) {
    throw notInPage(ERROR_TEXTS ? `${o.downloadDir === undefined ? "acceptFile" : "downloadDir"} is for files received, which a browser page cannot store (it has no disk): it refuses every file offered. Leave it out in a page.` : [o.downloadDir === undefined ? "acceptFile" : "downloadDir"]);
  }
  if (o.statePath !== undefined || o.stateSyncIntervalMs !== undefined) {
    throw notInPage(ERROR_TEXTS ? `${o.statePath === undefined ? "stateSyncIntervalMs" : `statePath (${show(o.statePath)})`} needs a file system, which a browser page does not have. Leave it out: the state lives in memory and the other peers hold it too.` : [o.statePath === undefined ? "stateSyncIntervalMs" : "statePath", o.statePath === undefined ? [] : [show(o.statePath)]]);
  }
  return { lan: null, dht: {}, files: {}, reach: PAGE_REACH, downloadDir: "", acceptFile: () => false, openStore: undefined, loadIdentity: defaultIdentity };
}

function notInPage(message: ErrorText): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.NOT_IN_BROWSER, message);
}

/** Every message of a page's peers takes the whole way (Node's short way for a stream of one kind costs a page bytes). */
export const DIRECT_STREAMS = false;

/** A page's envelope reads end at a microtask after each frame, as before (Node's scoped reads cost a page bytes). */
export const SCOPED_READS = false;

/** A page's `pg.send` makes its checks in calls, as before (Node's short way costs a page bytes). */
export const INLINE_SEND_CHECKS = false;

/** A page's open sessions are a plain `Map`, looked up on every send (Node's kept lookup costs a page bytes). */
export const KEEPS_LAST_TARGET = false;

/** A page goes without Node's checks of a transport's `close` and of event names (they cost it bytes; its WebSocket transport keeps its contract). */
export const MISUSE_CHECKS = false;

/** A page signs on WebCrypto, which answers later: broadcasts wait for their signature before they are queued. */
export const SIGNS_LATER = true;

/**
 * The page's signer of its broadcasts: `signAsync`, one signature after
 * the other, so that the broadcasts go out in the order they were made.
 */
export function broadcastSigner(identity: Identity): (data: Uint8Array) => Promise<Uint8Array> {
  let last: Promise<unknown> = Promise.resolve();
  return (data) => {
    const signed = last.then(() => identity.signAsync(data));
    last = signed.catch(() => {});
    return signed;
  };
}

/**
 * The signer of the default state's own keys (`@<peerId>/...`): at once
 * when the identity can (`generateIdentity()` of `@xppg/secure`), else on
 * WebCrypto, the write then made once signed (see `@xppg/state`'s `sign`).
 */
export function stateSigner(identity: Identity): (data: Uint8Array) => Uint8Array | Promise<Uint8Array> {
  return (data) => {
    try {
      return identity.sign(data);
    } catch (error) {
      if (!isXppgError(error, "XPPG_ERR_SIGNS_ASYNC")) throw error;
      return identity.signAsync(data);
    }
  };
}

/** Checks an Ed25519 signature on WebCrypto (noble's where WebCrypto lacks Ed25519): the answer comes later. */
export const checkSignature: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => Promise<boolean> = verifySignatureAsync;

/** A page's node is given its identity: WebCrypto makes one only asynchronously. */
function defaultIdentity(): Identity {
  throw new PlaygroundError(
    NODE_ERROR_CODES.INVALID_ARGUMENT,
    ERROR_TEXTS ? 'new Playground(appName, options) in a page needs an identity, made asynchronously on WebCrypto: { identity: await loadOrCreateStoredIdentity("my-app") } keeps the peer id across reloads, { identity: await createIdentity() } makes a new one.' : ["new Playground(appName, options)", "identity"],
  );
}

/** A page's connections (WebSocket, the secure channel) lend no room: its outbox goes without the code that borrows it. */
export const LENDS_ROOM = false;
