/** The limits of routed unicast, merged into `limits` (`PlaygroundLimits`). INTERNALS.md, "Routed unicast". */
export interface RoutingLimitOptions {
  /**
   * Routed messages of other nodes a second that one neighbour may hand this
   * node to pass on (twice that in a burst); more are dropped and counted
   * (`stats.droppedUnicasts`). `Infinity` turns the limit off.
   * @default 5000
   */
  routedPerSecond?: number;
  /**
   * Time the end-to-end channel to a node that is not a neighbour may take
   * to open (its handshake crosses the mesh three times); a send waiting for
   * it then fails with `XPPG_ERR_UNREACHABLE`. Raise it beside
   * `handshakeTimeoutMs` for a large or heavily loaded mesh.
   * @default 5000
   */
  routedOpenTimeoutMs?: number;
  /**
   * Bytes one end-to-end channel may hold for this node while its reading is
   * paused (a page's record opening behind the network, a handshake's step).
   * A routed channel cannot make its sender wait, so past this the channel
   * is closed (`XPPG_ERR_RATE_LIMITED`, counted in
   * `stats.overfullRoutedChannels`) and its sender told (a reset): its next
   * send opens another channel. At least 1 MiB: a channel's responder pauses
   * on the handshake's last message while it makes its keys, and its opener
   * sends what it queued during the open right after, so a healthy channel
   * holds a burst at open; and a page's record layer pauses with 16 records
   * of up to 64 KiB waiting to be opened (1 MiB in flight).
   * @default 4194304 (4 MiB)
   */
  routedInboxBytes?: number;
  /**
   * Bytes all end-to-end channels together may hold for this node while
   * their reading is paused: the node's bound (peer ids cost nothing, so
   * 256 channels of `routedInboxBytes` each could otherwise hold 1 GiB).
   * Past it the channel holding the most is closed, as one past its own
   * bound is (`XPPG_ERR_RATE_LIMITED`, counted in
   * `stats.overfullRoutedChannels`). At least 1 MiB.
   * @default 16777216 (16 MiB)
   */
  routedInboxTotalBytes?: number;
  /**
   * `error` events a minute that name one node for its routed channels
   * closed with an error (a burst of that many, then one every
   * `60 / n` s): a node that breaks channel after channel (bad records, a
   * path that drops them) cannot flood the node's `error` listeners. The
   * channels still close, and sends to that node still reject; only the
   * events past the bound are not emitted. `Infinity` turns the limit off.
   * @default 10
   */
  routedErrorsPerMinute?: number;
}

/** How `resolved-options.ts` checks them: as its own limits (`true`: `Infinity` allowed). */
export const ROUTING_LIMIT_RULES = { routedPerSecond: true, routedOpenTimeoutMs: false, routedInboxTotalBytes: 1 << 20, routedInboxBytes: 1 << 20, routedErrorsPerMinute: true } as const;
export const ROUTING_LIMIT_DEFAULTS = { routedPerSecond: 5000, routedOpenTimeoutMs: 5000, routedInboxTotalBytes: 16 << 20, routedInboxBytes: 4 << 20, routedErrorsPerMinute: 10 };
