/**
 * The browser's beginner defaults (the `#defaults` import; Node's are in
 * `../defaults.ts`): a page dials over the built-in WebSocket, and has no
 * router to ask for a port and no LAN to search.
 */

import type { DhtDiscovery, DhtDiscoveryOptions } from "@xppg/dht";
import type { Discovery, LanDiscoveryOptions } from "@xppg/discovery";
import type { PortMapper } from "@xppg/nat";
import type { Transport } from "@xppg/transport";
import { webSocketTransport } from "@xppg/transport-ws";
import { NODE_ERROR_CODES, PlaygroundError } from "../errors.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** The browser `webSocketTransport()` of `@xppg/transport-ws`, for a page given no `transports`. */
export async function defaultTransport(maxFrameSize: number): Promise<Transport> {
  return webSocketTransport({ maxFrameSize });
}

/** A page cannot open a port on the router: `start({ openPort: true })` without a `portMapper` is refused. */
export async function defaultPortMapper(): Promise<PortMapper> {
  throw new PlaygroundError(
    NODE_ERROR_CODES.NOT_IN_BROWSER,
    ERROR_TEXTS ? "openPort asks the router to forward a port, which a browser page cannot do (it only dials). Leave openPort out in a page; let a Node peer listen." : [],
  );
}

/** A page cannot search the LAN (no multicast): `discovery: { lan: true }` is refused at start. */
export async function defaultLanDiscovery(_options: LanDiscoveryOptions): Promise<Discovery> {
  throw new PlaygroundError(
    NODE_ERROR_CODES.NOT_IN_BROWSER,
    ERROR_TEXTS ? "discovery.lan searches the local network with multicast, which a browser page cannot do. Leave discovery out in a page and join a Node peer's ws:// address." : [],
  );
}

/** A page cannot reach the BitTorrent DHT (it speaks UDP): `pg.joinTopic` is refused in words. */
export async function defaultDhtDiscovery(_options: DhtDiscoveryOptions): Promise<DhtDiscovery> {
  throw new PlaygroundError(
    NODE_ERROR_CODES.NOT_IN_BROWSER,
    ERROR_TEXTS ? "joinTopic looks the topic up on the BitTorrent DHT over UDP, which a browser page cannot send. Join a Node peer's ws:// address instead; a Node peer in the topic brings the page into the mesh." : [],
  );
}
