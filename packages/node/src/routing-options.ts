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
}

/** How `resolved-options.ts` checks them: as its own limits (`true`: `Infinity` allowed). */
export const ROUTING_LIMIT_RULES = { routedPerSecond: true, routedOpenTimeoutMs: false } as const;
export const ROUTING_LIMIT_DEFAULTS = { routedPerSecond: 5000, routedOpenTimeoutMs: 5000 };
