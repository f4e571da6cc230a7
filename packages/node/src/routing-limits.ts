/**
 * The routing room's limits (`routing-room.ts`), all on by default. Imported
 * only by the room and the modules it alone loads, so a page loads them with
 * the room's own chunk.
 */

import { ERROR_TEXTS } from "@xppg/errors";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { ResolvedLimits } from "./resolved-options.js";
import type { ROUTING_LIMIT_DEFAULTS } from "./routing-options.js";

/** The routing room's limits, all on by default; those named `routed*` are the node's options of the same names (its `limits` is given whole). */
export interface RoutingLimits {
  /** Routed packets a second each neighbour may hand this node to pass on (twice that in a burst); more are dropped. */
  readonly routedPerSecond: number;
  /** End-to-end channels this node keeps, in all. */
  readonly maxChannels: number;
  /** End-to-end channels with one peer (both directions together). */
  readonly maxChannelsPerPeer: number;
  /** Channels other nodes opened whose handshake is under way. */
  readonly maxOpening: number;
  /** Time a channel's handshake may take; a send waiting for it then fails with `XPPG_ERR_UNREACHABLE`. */
  readonly routedOpenTimeoutMs: number;
  /** A channel unused for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Resets a second this node sends for packets it cannot deliver or pass on. */
  readonly resetsPerSecond: number;
  /** Bytes one channel may hold while its reading is paused; past it the channel is closed (`XPPG_ERR_RATE_LIMITED`). */
  readonly routedInboxBytes: number;
  /** Bytes all channels together may hold while their reading is paused; past it the one holding the most is closed. */
  readonly routedInboxTotalBytes: number;
  /** `error` events a minute naming one peer for its channels closed with an error (a burst of that many); `Infinity`: no bound. */
  readonly routedErrorsPerMinute: number;
}

// The node gives its limits whole (about 35 of them, copied over these defaults): a node limit named as a routing
// limit that is not that limit's option would change routing unseen, and an option missing here would do nothing.
// Either fails to compile here.
type RoutingNameClash = Exclude<keyof ResolvedLimits & keyof RoutingLimits, keyof typeof ROUTING_LIMIT_DEFAULTS> | Exclude<keyof typeof ROUTING_LIMIT_DEFAULTS, keyof RoutingLimits>;
true satisfies [RoutingNameClash] extends [never] ? true : false;

export const DEFAULT_ROUTING_LIMITS: RoutingLimits = {
  routedPerSecond: 5000,
  maxChannels: 256,
  maxChannelsPerPeer: 4,
  maxOpening: 32,
  routedOpenTimeoutMs: 5000,
  idleTimeoutMs: 120_000,
  resetsPerSecond: 100,
  routedInboxBytes: 4 << 20,
  routedInboxTotalBytes: 16 << 20,
  routedErrorsPerMinute: 10,
};

/** A channel closed because its paused reading would hold more than `routedInboxBytes` (`node` false) or held the most when all together passed `routedInboxTotalBytes`. */
export function inboxOverfullError(peer: string, node: boolean, l: RoutingLimits): PlaygroundError {
  const [option, bound] = node ? ["limits.routedInboxTotalBytes", l.routedInboxTotalBytes] : ["limits.routedInboxBytes", l.routedInboxBytes];
  return new PlaygroundError(
    NODE_ERROR_CODES.RATE_LIMITED,
    ERROR_TEXTS
      ? `The peer ${peer} sent ${node ? `the most of all paused channels, which together held more than ${option} (${bound})` : `more than ${option} (${bound})`} while this node's reading of their channel was paused: it is closed, the next send opens another. Raise ${option} for large bursts to a slow reader.`
      : [peer, option, bound],
  );
}
