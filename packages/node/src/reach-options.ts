/**
 * The `reach` option: reachability, automatic relays and hole punching
 * (INTERNALS.md, "Reachability, automatic relays and punching").
 */

import { checkOptions, checkRules, invalidArgument, isPlainObject, show, type OptionRule } from "./argument-checks.js";
import type { RelayServiceOptions } from "./relay-service.js";

/** Dial-back asks per budget (while decided, one per `reach.recheckIntervalMs`, more only when the verdict's evidence is about to age out). */
export const MAX_ASKS = 12;
/**
 * An ask budget lasts this long; a new one starts after it, or sooner when
 * there is something new to learn (the verdict or the node's TCP listen
 * addresses changed), but never within ASK_RENEW_MIN_MS of the last: at
 * most MAX_ASKS counted asks a minute (one answered without evidence gives
 * its slot back, bounded by each peer's back-off), MAX_ASKS per window when
 * nothing does.
 */
export const ASK_WINDOW_MS = 15 * 60_000;
/** The shortest `reach.recheckIntervalMs`: re-checks alone must not spend the ask budget (75 s). */
export const MIN_RECHECK_MS = ASK_WINDOW_MS / MAX_ASKS;

/** How a node learns and improves how it can be reached. */
export interface PlaygroundReach {
  /**
   * Serve as a relay for peers that cannot be reached: `true` always,
   * `"when-public"` once this node's reachability is `public` (confirmed by
   * dial-backs of two other nodes; it then keeps serving if the verdict
   * changes), `false` never. A relay carries only the
   * peers' end-to-end encrypted records, within `relayLimits`.
   * @default false
   */
  serveRelay?: boolean | "when-public";
  /**
   * Limits of the relay this node serves (`RelayServiceOptions` of
   * `@xppg/node/relay` without `transport` and `onError`): circuits, per-address
   * reservations and circuits, bytes and duration per circuit, all on by default.
   */
  relayLimits?: Omit<RelayServiceOptions, "transport" | "onError">;
  /**
   * Where the relay listens (TCP). Peers learn the port in the handshake.
   * @default `tcp://<host>:0` (any free port)
   */
  relayListen?: string;
  /**
   * Reserve a slot on relays of connected peers while this node is not
   * known to be reachable (`unknown`, `behind-nat`), and advertise the
   * relayed addresses. Reservations are renewed before they expire and
   * dropped once the node is `public` or `port-mapped`.
   * @default true
   */
  useRelays?: boolean;
  /**
   * Relays to hold a reservation on at once.
   * @default 2
   */
  maxRelays?: number;
  /**
   * Try a direct connection (TCP simultaneous open) on every relayed
   * circuit, and move the traffic to it when it works.
   * @default true
   */
  holePunch?: boolean;
  /**
   * How long a punch may take before the circuit stays relayed.
   * @default 3000
   */
  punchTimeoutMs?: number;
  /**
   * Distinct other nodes that must agree before a verdict (an observed
   * address, a dial-back outcome) counts.
   * @default 2
   */
  minConfirmations?: number;
  /**
   * While a verdict stands, how often the node asks one peer for a fresh
   * dial-back, so evidence is renewed before it ages out and a change of
   * network is noticed. At least 75000 (75 s): asks stay within the ask
   * budget, 12 per 15 min.
   * @default 300000 (5 min)
   */
  recheckIntervalMs?: number;
  /**
   * How long a dial-back result counts towards the verdict; older results are
   * ignored. At least `(minConfirmations + 1) * recheckIntervalMs`, so that
   * re-checks alone renew a verdict's evidence before it ages out.
   * @default 1800000 (30 min), or `(minConfirmations + 1) * recheckIntervalMs` when that is longer
   */
  evidenceMaxAgeMs?: number;
}

/** The `reach` option, resolved. */
export interface ResolvedReach {
  readonly serveRelay: boolean | "when-public";
  readonly relayLimits: Omit<RelayServiceOptions, "transport" | "onError">;
  readonly relayListen: string;
  readonly useRelays: boolean;
  readonly maxRelays: number;
  readonly holePunch: boolean;
  readonly punchTimeoutMs: number;
  readonly minConfirmations: number;
  readonly recheckIntervalMs: number;
  readonly evidenceMaxAgeMs: number;
}

const CALL = "new Playground(appName, { reach })";
const KEYS = ["serveRelay", "relayLimits", "relayListen", "useRelays", "maxRelays", "holePunch", "punchTimeoutMs", "minConfirmations", "recheckIntervalMs", "evidenceMaxAgeMs"] as const;
/** The checks of the plain ones, in order (`argument-checks.ts`). */
const RULES: Record<string, OptionRule> = {
  relayListen: ["string", '"tcp://0.0.0.0:4100"'],
  useRelays: ["boolean", "false"],
  holePunch: ["boolean", "false"],
  maxRelays: ["integer", "2", 0, 8],
  punchTimeoutMs: ["number", "3000"],
  minConfirmations: ["integer", "2", 1, 16],
  recheckIntervalMs: ["number", "300000"],
  evidenceMaxAgeMs: ["number", "1800000"],
};

/** Checks and fills in the `reach` option. */
export function resolveReach(reach: unknown, host: string): ResolvedReach {
  const r = checkOptions(reach, KEYS, CALL, "reach") as PlaygroundReach;
  const serveRelay = r.serveRelay ?? false;
  if (serveRelay !== true && serveRelay !== false && serveRelay !== "when-public") {
    throw invalidArgument(CALL, `reach.serveRelay must be true, false or "when-public", got ${show(serveRelay)}`, '{ reach: { serveRelay: "when-public" } }');
  }
  if (r.relayLimits !== undefined && !isPlainObject(r.relayLimits)) throw invalidArgument(CALL, `reach.relayLimits must be an object, got ${show(r.relayLimits)}`, "{ reach: { relayLimits: { maxCircuits: 16 } } }");
  checkRules(r as Record<string, unknown>, RULES, CALL, "reach");
  const minConfirmations = r.minConfirmations ?? 2;
  const recheckIntervalMs = r.recheckIntervalMs ?? 300_000;
  // A verdict stands on minConfirmations results: re-checks must renew that many before the oldest ages out, with one
  // period to spare (a re-check may bring no evidence), and re-checks alone must leave the ask budget room for the rest.
  const renewMs = (m: number, every: number): number => (m + 1) * every;
  const evidenceMaxAgeMs = r.evidenceMaxAgeMs ?? Math.max(1_800_000, renewMs(minConfirmations, recheckIntervalMs));
  const given = r.minConfirmations === undefined ? "" : `minConfirmations: ${minConfirmations}, `;
  if (recheckIntervalMs < MIN_RECHECK_MS) {
    const age = Math.max(evidenceMaxAgeMs, renewMs(minConfirmations, MIN_RECHECK_MS));
    throw invalidArgument(CALL, `reach.recheckIntervalMs must be at least ${MIN_RECHECK_MS} (the ask budget, ${MAX_ASKS} asks per ${ASK_WINDOW_MS / 60_000} min, allows one re-check per ${MIN_RECHECK_MS / 1000} s), got ${recheckIntervalMs}`, `{ reach: { ${given}recheckIntervalMs: ${MIN_RECHECK_MS}, evidenceMaxAgeMs: ${age} } }`);
  }
  if (evidenceMaxAgeMs < renewMs(minConfirmations, recheckIntervalMs)) {
    throw invalidArgument(CALL, `reach.evidenceMaxAgeMs (${evidenceMaxAgeMs}) must be at least (reach.minConfirmations + 1) * reach.recheckIntervalMs (${renewMs(minConfirmations, recheckIntervalMs)}), so that re-checks renew a verdict's evidence before it ages out`, `{ reach: { ${given}recheckIntervalMs: ${recheckIntervalMs}, evidenceMaxAgeMs: ${renewMs(minConfirmations, recheckIntervalMs)} } }`);
  }
  return {
    serveRelay,
    relayLimits: { ...(r.relayLimits ?? {}) },
    relayListen: r.relayListen ?? `tcp://${host.includes(":") ? `[${host}]` : host}:0`,
    useRelays: r.useRelays ?? true,
    maxRelays: r.maxRelays ?? 2,
    holePunch: r.holePunch ?? true,
    punchTimeoutMs: r.punchTimeoutMs ?? 3000,
    minConfirmations,
    recheckIntervalMs,
    evidenceMaxAgeMs,
  };
}
