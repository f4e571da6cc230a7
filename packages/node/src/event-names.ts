/** The names of a node's lifecycle events (`pg.events`), at run time. */

import type { PlaygroundEvents } from "./playground-types.js";

/**
 * Every event of a node, one key each: the type makes this list whole (a
 * key missing from it or not in {@link PlaygroundEvents} does not compile).
 * `pg.events.on` refuses another name (in Node: a page saves the bytes), and
 * `pg.on`, `pg.handle`, `pg.send` and `pg.request` refuse these as message kinds.
 */
export const PLAYGROUND_EVENT_NAMES: { readonly [K in keyof PlaygroundEvents]: true } = {
  "peer:joined": true,
  "peer:left": true,
  error: true,
  "message:unhandled": true,
  "peer:banned": true,
  "peer:discovered": true,
  "mesh:joined": true,
  "mesh:left": true,
  "reachability:changed": true,
};

/** True when `name` is the name of one of the node's events. */
export function isEventName(name: string): boolean {
  return Object.hasOwn(PLAYGROUND_EVENT_NAMES, name);
}
