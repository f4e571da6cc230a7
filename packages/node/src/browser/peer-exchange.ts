/**
 * The browser's `#peer-exchange` (Node's is `../peer-exchange.ts`): a page
 * does not offer `pex/1` (see `HOST_LACKS` in `host.ts`; it dials WebSocket
 * only, while the addresses peers exchange are mostly TCP), so it sends no
 * records and no peer may send it any. Without `pex/1` settled, an
 * `xppg/pex` from a peer is a protocol violation, as in Node.
 */

import { NODE_ERROR_CODES, PlaygroundError } from "../errors.js";
import type { PeerExchange as NodePeerExchange, PeerExchangeOptions, PeerExchangeStats } from "../peer-exchange.js";
import type { PeerSession } from "../peer-session.js";
import { KIND_PEX } from "../protocol.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

export type { PeerExchangeOptions, PeerExchangeStats } from "../peer-exchange.js";

/** Peer exchange in a page: nothing to send, nothing to accept. */
// Every public member of Node's exchange, so a call added there fails to compile here until the page has it too.
export class PeerExchange implements Pick<NodePeerExchange, keyof NodePeerExchange> {
  readonly stats: PeerExchangeStats = { learnt: 0, refused: 0, ignored: 0, pushed: 0 };

  constructor(_options?: PeerExchangeOptions) {}

  advertise(_source: string, _addresses: readonly string[]): void {}

  /** A page keeps no signed record of its addresses: it has none to give (no listener) and offers no `pex/1`. */
  get ownRecord(): never {
    throw new Error(ERROR_TEXTS ? "a browser page has no peer record: it listens on nothing and offers no pex/1" : valuesMessage("", []));
  }

  opened(_session: PeerSession): void {}

  /** Always a violation: a page never settles `pex/1`. */
  receive(session: PeerSession, _payload: unknown): void {
    throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} broke the xppg protocol: it sent "${KIND_PEX}" without the pex/1 capability. It is disconnected.` : [session.peerId, KIND_PEX]);
  }

  close(): void {}
}
