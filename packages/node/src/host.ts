/**
 * What the node takes from its host in Node: the key file, the options
 * only Node backs (`host-options.ts`: files and folders, the state's file,
 * discovery, relays), how it signs. Reached through the package's `#host`
 * import, which a browser bundle resolves to `browser/host.ts` instead, so
 * no `node:` module reaches a page.
 */

import { verifySignature, type Identity } from "@xppg/secure";

export { resolveHostOptions } from "./host-options.js";
/** A mesh member as the application sees it: `seenAt` turned to the `performance.now()` clock (a page's clock is that one already). */
export { forApplication as memberForApplication } from "./mesh/membership.js";

/** Capabilities this host cannot back (a page: `files/2`, it has no disk); Node backs them all. */
export const HOST_LACKS: readonly string[] = [];

/** A node given no `listen` listens on TCP `host:port` (a page, which cannot listen, on nothing). */
export const LISTENS_BY_DEFAULT = true;

/**
 * How the node signs its broadcasts and own state keys: at once in Node
 * (a page signs on WebCrypto, which answers later: `browser/host.ts`).
 */
export const SIGNS_LATER = false;

/** A peer's stream of one application kind goes straight to the handlers once its first message passed the checks (issue 15; a page saves the bytes). */
export const DIRECT_STREAMS = true;

/** A frame's envelope reads end as the frame is read, not at a microtask each (issue 15; a page saves the bytes). */
export const SCOPED_READS = true;

/** `pg.send` checks its common case (a running node, a kind it just accepted) without a call (issue 15; a page saves the bytes). */
export const INLINE_SEND_CHECKS = true;

/** The open sessions keep `pg.send`'s last lookup (`open-sessions.ts`, issue 15; a page saves the bytes). */
export const KEEPS_LAST_TARGET = true;

/**
 * Checks for misuse a page's download would pay for: a transport's `close`
 * that throws or rejects (reported as `XPPG_ERR_TRANSPORT_CONTRACT`, the
 * session ended at once) and a `pg.events.on` name that is no event.
 */
export const MISUSE_CHECKS = true;

/** The node's signer of its broadcasts: the identity's own, at once. */
export function broadcastSigner(identity: Identity): (data: Uint8Array) => Uint8Array {
  return (data) => identity.sign(data);
}

/** The signer of the default state's own keys (`@<peerId>/...`). */
export const stateSigner = broadcastSigner;

/** Checks an Ed25519 signature (at once in Node; a page's check answers later). */
export const checkSignature: (publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array) => boolean = verifySignature;

/**
 * A node's outbox writes its bundles into room its connection lends
 * (`lendRoom`, `sendLent`: a TCP connection does), one copy of each bundle
 * less. A page's connections (WebSocket, the secure channel) lend none.
 */
export const LENDS_ROOM = true;
