/** The limits of routed unicast, merged into `limits` (`PlaygroundLimits`). INTERNALS.md, "Routed unicast". */
export interface RoutingLimitOptions {
  /**
   * Routed messages of other nodes a second that one neighbour may hand this
   * node to pass on (twice that in a burst); more are dropped and counted
   * (`stats.droppedUnicasts`). `Infinity` turns the limit off.
   * @default 5000
   */
  routedPerSecond?: number;
}

/** How `resolved-options.ts` checks them: as its own limits. */
export const ROUTING_LIMIT_RULES = { routedPerSecond: { infinite: true } } as const;
export const ROUTING_LIMIT_DEFAULTS = { routedPerSecond: 5000 };
