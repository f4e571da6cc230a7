/**
 * The `connections` option: the connection manager's water marks, its
 * redial backoff, the dial budget that bounds attempts per address and
 * host, and peer exchange. README "Connections" justifies the defaults.
 */

import { checkBoolean, checkInteger, checkOptions, invalidArgument } from "./argument-checks.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** Options of the connection manager and peer exchange (`new Playground(app, { connections })`). */
export interface PlaygroundConnections {
  /**
   * Below this many connections the node dials peers it learnt (from peer
   * exchange and presences). 0 turns automatic dialling off.
   * @default 4
   */
  lowWater?: number;
  /**
   * Above this many connections the node closes the youngest links it may
   * close (inbound ones and its own automatic dials; never a `join` of the
   * application), those from the most crowded host first.
   * @default 32
   */
  highWater?: number;
  /** First redial delay of a lost or failed peer; it doubles per failure, with jitter (0.5x to 1.5x). @default 1000 */
  redialBaseMs?: number;
  /** Longest redial delay; also the wait before dialling back a peer that closed the link on purpose. @default 60000 */
  redialMaxMs?: number;
  /** Automatic dials to one address (`tcp://host:port`) per `dialWindowMs`. @default 3 */
  dialsPerAddress?: number;
  /** Automatic dials to one host (any port) per `dialWindowMs`. @default 30 */
  dialsPerHost?: number;
  /** @default 60000 */
  dialWindowMs?: number;
  /** How often the manager checks its connections (jittered 0.5x to 1.5x). @default 1000 */
  checkIntervalMs?: number;
  /** Tell neighbours about known peers, and learn from theirs (capability `pex/1`). @default true */
  peerExchange?: boolean;
}

/** `connections`, resolved. */
export type ResolvedConnections = Readonly<Required<PlaygroundConnections>>;

export const CONNECTION_DEFAULTS: ResolvedConnections = {
  lowWater: 4,
  highWater: 32,
  redialBaseMs: 1000,
  redialMaxMs: 60_000,
  dialsPerAddress: 3,
  dialsPerHost: 30,
  dialWindowMs: 60_000,
  checkIntervalMs: 1000,
  peerExchange: true,
};

const CALL = "new Playground(appName, options)";

export function resolveConnections(input: unknown): ResolvedConnections {
  const given = checkOptions(input, Object.keys(CONNECTION_DEFAULTS), CALL, "connections");
  const out: Record<string, number | boolean> = { ...CONNECTION_DEFAULTS };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const right = `{ connections: { ${key}: ${String(CONNECTION_DEFAULTS[key as keyof ResolvedConnections])} } }`;
    out[key] = key === "peerExchange" ? checkBoolean(value, `connections.${key}`, CALL, right) : checkInteger(value, `connections.${key}`, CALL, right, key.endsWith("Ms") || key.startsWith("dials") ? 1 : 0);
  }
  const r = out as ResolvedConnections;
  if (r.highWater < r.lowWater) throw invalidArgument(CALL, ERROR_TEXTS ? `connections.highWater (${r.highWater}) must be at least connections.lowWater (${r.lowWater})` : [r.highWater, r.lowWater], ERROR_TEXTS ? "{ connections: { lowWater: 4, highWater: 32 } }" : undefined);
  if (r.redialMaxMs < r.redialBaseMs) throw invalidArgument(CALL, ERROR_TEXTS ? `connections.redialMaxMs (${r.redialMaxMs}) must be at least connections.redialBaseMs (${r.redialBaseMs})` : [r.redialMaxMs, r.redialBaseMs], ERROR_TEXTS ? "{ connections: { redialBaseMs: 1000, redialMaxMs: 60000 } }" : undefined);
  return r;
}
