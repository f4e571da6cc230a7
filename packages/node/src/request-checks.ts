/** The argument checks of `pg.request` and `pg.handle`, and their options. */

import { checkFunction, checkOptions, checkPositive, checkSignal, checkString } from "./argument-checks.js";
import { checkKind } from "./call-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { isReservedKind } from "./protocol.js";

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
  const right = 'pg.request("price", { item: 7 }, { to: peerId })';
  checkKind(kind, REQUEST_CALL, right, true);
  reservedCheck(kind as string);
  const o = checkOptions(options, ["to", "timeoutMs", "signal"], REQUEST_CALL);
  return {
    to: checkString(o.to, "to", REQUEST_CALL, right, 512),
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : checkPositive(o.timeoutMs, "timeoutMs", REQUEST_CALL, 'pg.request("price", payload, { to, timeoutMs: 5000 })', false),
    signal: checkSignal(o.signal, REQUEST_CALL),
  };
}

export function checkHandle(kind: unknown, handler: unknown, options: unknown): { kind: string; signal: AbortSignal | undefined } {
  const call = "pg.handle(kind, handler, options?)";
  const right = 'pg.handle("price", async (src, payload) => ({ euros: 3 }))';
  checkKind(kind, call, right, false);
  reservedCheck(kind as string);
  checkFunction(handler, "handler", call, right);
  const o = checkOptions(options, ["signal"], call);
  return { kind: kind as string, signal: checkSignal(o.signal, call) };
}

function reservedCheck(kind: string): void {
  if (isReservedKind(kind)) throw new PlaygroundError(NODE_ERROR_CODES.RESERVED_KIND, `The kind "${kind}" is reserved by xppg ("file" and kinds starting with "xppg/"). Choose another name.`);
}
