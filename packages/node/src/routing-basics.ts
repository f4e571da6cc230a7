/**
 * What the rest of the node needs of routed unicast without its code (a
 * page loads the routing room on first use, `browser/routing-room.ts`): the
 * capability's name, the error of a peer that cannot be reached, and that of
 * a neighbour that breaks the routing protocol.
 */

import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { sessionViolation } from "./session-errors.js";
import { ERROR_TEXTS, type ErrorText } from "@xppg/errors";

/** The capability of routed unicast and request/response. */
export const ROUTE_CAPABILITY = "route/1";

/** `XPPG_ERR_UNREACHABLE` for `peerId`, saying why. */
export function unreachableError(peerId: string, why: ErrorText, cause?: unknown): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.UNREACHABLE,
    ERROR_TEXTS ? `The peer ${peerId} cannot be reached: ${why}. It is not a neighbour; messages to it travel through the mesh (pg.meshPeers lists the nodes with a route). Try again once it is back in the mesh, or join it directly.` : [peerId, why],
    { cause, details: { peerId } },
  );
}

/** `XPPG_ERR_PROTOCOL_VIOLATION` for the neighbour `peer` that sent `what`. */
export function routeViolation(peer: string, what: string): PlaygroundError {
  return sessionViolation(peer, `it sent ${what}`);
}
