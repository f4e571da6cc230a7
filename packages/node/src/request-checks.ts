/**
 * The argument checks of `pg.request` and `pg.handle`, and their options;
 * the checks of a received request or response (shared by Node's request
 * room and a page's, which loads that room on first use).
 */

import { checkFunction, checkOptions, checkPositive, checkSignal, checkString, invalidArgument } from "./argument-checks.js";
import { checkKind, checkNotReserved } from "./call-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { isRecord, isReservedKind, KIND_REQUEST } from "./protocol.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** Options of `pg.request`. */
export interface RequestOptions {
  /** The peer to ask: a neighbour, or a node reached through the mesh. */
  to: string;
  /**
   * Give up after this long with `XPPG_ERR_TIMEOUT`.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /** Give up when aborted, with `XPPG_ERR_ABORTED`. */
  signal?: AbortSignal | undefined;
}

const REQUEST_CALL = "pg.request(kind, payload, { to, timeoutMs?, signal? })";
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export function checkRequest(kind: unknown, options: unknown): { to: string; timeoutMs: number; signal: AbortSignal | undefined } {
  const right = ERROR_TEXTS ? 'pg.request("price", { item: 7 }, { to: peerId })' : "";
  checkKind(kind, REQUEST_CALL, right, true);
  checkNotReserved(kind as string);
  const o = checkOptions(options, ["to", "timeoutMs", "signal"], REQUEST_CALL);
  return {
    to: checkString(o.to, "to", REQUEST_CALL, right, 512),
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : checkPositive(o.timeoutMs, "timeoutMs", REQUEST_CALL, ERROR_TEXTS ? 'pg.request("price", payload, { to, timeoutMs: 5000 })' : "", false),
    signal: checkSignal(o.signal, REQUEST_CALL),
  };
}

export function checkHandle(kind: unknown, handler: unknown, options: unknown): { kind: string; signal: AbortSignal | undefined } {
  const call = "pg.handle(kind, handler, options?)";
  const right = ERROR_TEXTS ? 'pg.handle("price", async (src, payload) => ({ euros: 3 }))' : "";
  checkKind(kind, call, right, false);
  checkNotReserved(kind as string);
  checkFunction(handler, "handler", call, right);
  const o = checkOptions(options, ["signal"], call);
  return { kind: kind as string, signal: checkSignal(o.signal, call) };
}

/** The longest message of a `ReplyError` passed on, in characters. */
export const MAX_REPLY_MESSAGE = 1024;
const FAILURES = new Set(["no-handler", "failed", "busy"]);

/** An `xppg/request` or `xppg/response` as received, once checked. */
export interface RequestMessage {
  readonly r: number;
  /** A request's kind. */
  readonly k?: string;
  readonly p?: unknown;
  /** A response's failure. */
  readonly e?: string;
  readonly m?: string;
}

/** Checks an `xppg/request` or `xppg/response` from `src`; throws `XPPG_ERR_PROTOCOL_VIOLATION` for a malformed one. */
export function readRequestMessage(src: string, kind: string, payload: unknown): RequestMessage {
  if (!isRecord(payload) || !Number.isSafeInteger(payload.r) || (payload.r as number) < 0) throw violation(src, `a malformed "${kind}"`);
  if (kind === KIND_REQUEST) {
    const k = payload.k;
    if (typeof k !== "string" || k.length === 0 || k.length > 255 || isReservedKind(k)) throw violation(src, "a request of a malformed kind");
    return payload as unknown as RequestMessage;
  }
  const e = payload.e;
  if (e !== undefined && (typeof e !== "string" || !FAILURES.has(e))) throw violation(src, "a response with an unknown failure");
  if (payload.m !== undefined && (typeof payload.m !== "string" || payload.m.length > MAX_REPLY_MESSAGE)) throw violation(src, "a response with a malformed message");
  return payload as unknown as RequestMessage;
}

/** `pg.handle` for a kind that already has a handler. */
export function duplicateHandlerError(kind: string): PlaygroundError {
  return invalidArgument("pg.handle(kind, handler, options?)", ERROR_TEXTS ? `the kind "${kind}" already has a handler (one per kind: its reply is the answer)` : [kind], ERROR_TEXTS ? "const off = pg.handle(kind, handler); ... off() before handling it again" : undefined);
}

function violation(peer: string, what: string): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${peer} broke the xppg protocol: it sent ${what}. It is disconnected.` : [peer, what]);
}
