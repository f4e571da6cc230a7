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
  const makeLink: LinkMaker = (c, session, controller, channelOptions) => new RecordLink(provider, c, session, controller, channelOptions);
  return secureConnectionCore(provider, conn, options, makeLink, loadCrypto);
}
