// `secureConnection` over the record layer of Node (and of any provider that
// answers at once): `RecordLink`. A page's entry binds its own record layer
// instead (`browser-api.ts`), so that this one is not in its download.
import type { Connection } from "@xppg/transport";
import type { CryptoProvider } from "./crypto/provider.js";
import { RecordLink } from "./record-link.js";
import type { LinkMaker, SecureConnection } from "./secure-channel.js";
import { secureConnectionCore, type LaterCrypto, type SecureConnectionOptions } from "./secure-connection.js";

export type { LaterCrypto, SecureConnectionOptions } from "./secure-connection.js";

/**
 * The provider-bound `secureConnection` with the synchronous record layer
 * (the Node entry binds `node:crypto` or libsodium). `loadCrypto`: see
 * {@link secureConnectionCore}.
 */
export function secureConnectionWith(provider: CryptoProvider, conn: Connection, options: SecureConnectionOptions, loadCrypto?: () => Promise<LaterCrypto>): Promise<SecureConnection> {
  let link: RecordLink | undefined;
  const makeLink: LinkMaker = (c, session, controller, channelOptions) => (link = new RecordLink(provider, c, session, controller, channelOptions));
  return secureConnectionCore(withQuickIdentityCheck(provider), conn, options, makeLink, loadCrypto).then((channel) => {
    // The record layer's end of tick, for the layer above (`Connection.atTickEnd`): here, not in the
    // shared channel, so that a page (whose record layer has none) downloads nothing for it.
    const made = link!;
    channel.atTickEnd = (fn) => made.atTickEnd(fn);
    return channel;
  });
}

const quick = new WeakMap<CryptoProvider, CryptoProvider>();

/**
 * The provider the handshake (and `verifySignature`) runs on: one that offers `ed25519Accepts`
 * (libsodium's) checks the peer's identity signature with it first and takes
 * its yes; on its no, `ed25519Verify` (node:crypto, the check every node
 * shares) decides, so the verdict is that check's. A fresh process then
 * runs none of node:crypto's cold key code for its first handshake: about
 * 0.5-0.7 ms of CPU less on each side, net of the start-up self-test
 * (libsodium's three verifies at module load, about 0.4 ms in every process that
 * loads the sodium provider). A forged signature costs both checks
 * (libsodium's no, then node:crypto's). Here, not in the shared handshake code: a
 * page's providers have no such check, and its download stays as it was.
 */
export function withQuickIdentityCheck(provider: CryptoProvider): CryptoProvider {
  const accepts = provider.ed25519Accepts;
  if (accepts === undefined) return provider;
  let p = quick.get(provider);
  if (p === undefined) {
    // Everything else is the provider's own (its prototype): a provider made with Object.create keeps what it inherits.
    const verify: CryptoProvider["ed25519Verify"] = (k, d, s) => {
      try {
        if (accepts.call(provider, k, d, s)) return true;
      } catch {
        // A quick check that throws says nothing either: node:crypto decides.
      }
      return provider.ed25519Verify(k, d, s);
    };
    p = Object.create(provider, { ed25519Verify: { value: verify } }) as CryptoProvider;
    quick.set(provider, p);
  }
  return p;
}
