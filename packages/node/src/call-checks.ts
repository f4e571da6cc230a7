/**
 * The argument checks of each `Playground` call, and the `AbortSignal`
 * plumbing the long calls share. Every failure names the call and shows the
 * right one (`XPPG_ERR_INVALID_ARGUMENT`).
 */

import { MAX_KIND_LENGTH } from "@xppg/framing";
import { checkBoolean, checkInteger, checkOptions, checkPositive, checkSignal, checkString, invalidArgument, show } from "./argument-checks.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { isEventName } from "./event-names.js";
import type { StartOptions } from "./options.js";
import { DEFAULTS } from "./options.js";
import type { JoinOptions, RequestStateOptions } from "./playground-types.js";
import { FIXED_SHAPE_KINDS, hasRequiredShape, isReservedKind } from "./protocol.js";
import { tcpAddress } from "./resolved-options.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** The one option of `send`: a constant, not an array made on each call. */
const SEND_OPTIONS: readonly string[] = ["to"];

/**
 * {@link checkTarget} for `pg.send` in Node (`INLINE_SEND_CHECKS`): the
 * common shape, `{ to: peerId }` and nothing else, in few bytes of code
 * (issue 15: V8 then inlines it into a sender's loop); any other shape gets
 * every check of {@link checkTarget}, which it answers and throws as.
 */
export function checkTargetQuickly(options: unknown, call: string, known: readonly string[] = SEND_OPTIONS): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options === "object" && options !== null && !Array.isArray(options)) {
    let onlyTo = true;
    for (const key in options) if (key !== "to") onlyTo = false;
    const to = (options as { to?: unknown }).to;
    if (onlyTo && (to === undefined || (typeof to === "string" && to.length > 0 && to.length <= 512))) return to;
  }
  // checkTarget reads `to` again (a getter or Proxy runs twice): accepted, only a shape or value refused above pays it, and checkTarget answers from its own read alone.
  return checkTarget(options, call, known);
}

/** The peer a send-like call names: `undefined` (everyone), a peer id given as is, or `{ to }`; each failure in words. */
export function checkTarget(options: unknown, call: string, known: readonly string[] = SEND_OPTIONS): string | undefined {
  // On the send path: no allocation when the options are fine.
  if (options === undefined) return undefined;
  // `pg.sendText("hi", peerId)`: a peer id in place of the options means that peer, never everyone.
  if (typeof options === "string") return checkString(options, "the peer id", call, ERROR_TEXTS ? `${call.slice(0, call.indexOf("("))}(..., { to: peerId })` : "", 512);
  // Cheaper than checkOptions (no prototype lookup, no key array); it throws the full message when something is off.
  if (typeof options !== "object" || options === null || Array.isArray(options)) checkOptions(options, known, call);
  const o = options as Record<string, unknown>;
  for (const key in o) if (key !== "to" && !known.includes(key)) checkOptions(o, known, call);
  const to = o.to;
  if (to === undefined || (typeof to === "string" && to.length > 0 && to.length <= 512)) return to;
  return checkString(to, "to", call, ERROR_TEXTS ? `${call.slice(0, call.indexOf("("))}(..., { to: peerId })` : "", 512);
}

/**
 * A message kind: 1 to 255 characters, and not the name of one of the node's
 * events (`"error"`, `"peer:joined"`, ...): `pg.on("error", ...)` would
 * take messages of the kind "error", never the node's errors, so each call
 * that names a kind refuses them. A peer may still send such a kind (an
 * older version took it): it arrives as any kind without a handler does.
 */
export function checkKind(kind: unknown, call: string, rightCall: string, sending: boolean): string {
  if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_KIND_LENGTH) {
    throw invalidArgument(call, ERROR_TEXTS ? `${sending ? "a message kind" : "kind"} must be a string of 1 to ${MAX_KIND_LENGTH} characters, got ${show(kind)}` : [MAX_KIND_LENGTH, show(kind)], rightCall);
  }
  // In a page too (its bytes are worth it): a page's app makes this mistake as easily.
  if (isEventName(kind)) throw eventAsKind(kind, call, rightCall, sending);
  return kind;
}

function eventAsKind(kind: string, call: string, rightCall: string, sending: boolean): PlaygroundError {
  if (!ERROR_TEXTS) return invalidArgument(call, [kind]);
  const listen = `pg.events.on(${JSON.stringify(kind)}, ...)`;
  const problem = `${JSON.stringify(kind)} is an event of the node, not a message kind (the node's events are heard with ${listen})`;
  return invalidArgument(call, sending ? `${problem}; no node takes messages of that kind: choose another kind` : problem, sending ? rightCall : listen);
}

/** Refuses a kind xppg keeps for itself (`XPPG_ERR_RESERVED_KIND`): `pg.send`'s, `pg.request`'s and `pg.handle`'s. */
export function checkNotReserved(kind: string): void {
  if (isReservedKind(kind)) throw new PlaygroundError(NODE_ERROR_CODES.RESERVED_KIND, ERROR_TEXTS ? `The kind "${kind}" is reserved by xppg ("file" and kinds starting with "xppg/"). Choose another name.` : [kind]);
}

/**
 * The last kind {@link checkSendKind} passed. Its checks depend on the kind
 * alone (but for "text", whose payload has a shape, never kept here), so a
 * stream of sends of one kind makes them once (in Node `pg.send` compares
 * with it before it calls). It starts as an object no caller holds:
 * `undefined` would let a first `pg.send(undefined, ...)` through.
 */
export let passedKind: unknown = {};

/** `pg.send`'s kind: 1 to 255 characters, not reserved, and a payload of the kind's fixed shape. */
export function checkSendKind(kind: unknown, payload: unknown): void {
  if (kind === passedKind) return;
  const call = "pg.send(kind, payload, options?)";
  checkKind(kind, call, ERROR_TEXTS ? 'pg.send("chat", { text: "hi" })' : "", true);
  checkNotReserved(kind as string);
  // Checked here as the receiver would: it drops a peer that breaks a fixed shape.
  if (!hasRequiredShape(kind as string, payload)) {
    throw invalidArgument(
      `pg.send(${JSON.stringify(kind)}, payload)`,
      ERROR_TEXTS ? `a "${kind as string}" message carries ${FIXED_SHAPE_KINDS[kind as string]}, got ${show(payload)}; receivers drop a peer that sends another shape` : [kind, FIXED_SHAPE_KINDS[kind as string], show(payload)],
      ERROR_TEXTS ? 'pg.sendText("hello") or pg.send("text", { text: "hello" })' : undefined,
    );
  }
  if (FIXED_SHAPE_KINDS[kind as string] === undefined) passedKind = kind;
}

export function checkStartOptions(options: unknown): { openPort: boolean; openPortTimeoutMs: number; signal: AbortSignal | undefined } {
  const call = "pg.start(options?)";
  const o = checkOptions(options, ["openPort", "openPortTimeoutMs", "signal"], call);
  return {
    openPort: o.openPort === undefined ? false : checkBoolean(o.openPort, "openPort", call, ERROR_TEXTS ? "pg.start({ openPort: true })" : ""),
    openPortTimeoutMs: o.openPortTimeoutMs === undefined ? DEFAULTS.openPortTimeoutMs : checkPositive(o.openPortTimeoutMs, "openPortTimeoutMs", call, ERROR_TEXTS ? "pg.start({ openPort: true, openPortTimeoutMs: 3000 })" : "", false),
    signal: checkSignal(o.signal, call),
  } satisfies Required<Omit<StartOptions, "signal">> & { signal: AbortSignal | undefined };
}

/** `join(host, port?, options?)` or `join(address, options?)`. */
/** `"host:port"` or `"[v6]:port"` typed as one string (a bare IPv6 address such as `"::1"` does not match). */
const HOST_AND_PORT = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/;

/** Checks `pg.join`'s arguments; resolves them to one address (`tcp://host:port` unless a full address was given). */
export function checkJoinArgs(host: unknown, portOrOptions: unknown, maybeOptions: unknown): { address: string; timeoutMs?: number; signal?: AbortSignal; peerId?: string } {
  const call = "pg.join(host, port?, options?)";
  const right = ERROR_TEXTS ? 'pg.join("192.168.1.42", 7337) or pg.join("tcp://192.168.1.42:7337")' : "";
  checkString(host, "host", call, right, 1024);
  let port: number = DEFAULTS.port;
  let options: unknown = maybeOptions;
  if (typeof portOrOptions === "object" && portOrOptions !== null) {
    if (maybeOptions !== undefined) throw invalidArgument(call, ERROR_TEXTS ? `options came twice (second and third), got ${show(maybeOptions)}` : [show(maybeOptions)], ERROR_TEXTS ? 'pg.join(host, port, { timeoutMs: 5000 })' : undefined);
    options = portOrOptions;
  } else if (portOrOptions !== undefined) {
    port = checkInteger(portOrOptions, "port", call, right, 1, 65535);
    if ((host as string).includes("://")) throw invalidArgument(call, ERROR_TEXTS ? `a full address already has its port; got the address ${show(host)} and the port ${port}` : [show(host), port], ERROR_TEXTS ? 'pg.join("tcp://192.168.1.42:7337")' : undefined);
  }
  let address = host as string;
  if (!address.includes("://")) {
    const hostAndPort = HOST_AND_PORT.exec(address);
    if (hostAndPort !== null) {
      // "192.168.1.42:7337", as a chat banner or a friend writes it.
      if (typeof portOrOptions === "number") throw invalidArgument(call, ERROR_TEXTS ? `the host ${show(host)} already ends with a port, and the port ${port} came too` : [show(host), port], ERROR_TEXTS ? 'pg.join("192.168.1.42:7337") or pg.join("192.168.1.42", 7337)' : undefined);
      port = checkInteger(Number(hostAndPort[3]), "the port after the host", call, right, 1, 65535);
      address = (hostAndPort[1] ?? hostAndPort[2]) as string;
    }
    address = tcpAddress(address, port);
  }
  const o = checkOptions(options, ["timeoutMs", "signal", "peerId"], call) as JoinOptions;
  const out: { address: string; timeoutMs?: number; signal?: AbortSignal; peerId?: string } = { address };
  if (o.timeoutMs !== undefined) out.timeoutMs = checkPositive(o.timeoutMs, "timeoutMs", call, ERROR_TEXTS ? "pg.join(host, port, { timeoutMs: 10000 })" : "", false);
  const signal = checkSignal(o.signal, call);
  if (signal !== undefined) out.signal = signal;
  if (o.peerId !== undefined) out.peerId = checkString(o.peerId, "peerId", call, ERROR_TEXTS ? "pg.join(host, port, { peerId })" : "", 512);
  return out;
}

export function checkBanOptions(options: unknown): { durationMs?: number; reason?: string } {
  const call = "pg.ban(peerIdOrHost, options?)";
  const o = checkOptions(options, ["durationMs", "reason"], call);
  const out: { durationMs?: number; reason?: string } = {};
  if (o.durationMs !== undefined) out.durationMs = checkPositive(o.durationMs, "durationMs", call, ERROR_TEXTS ? "pg.ban(peerId, { durationMs: 60000 }) (Infinity for good)" : "", true);
  if (o.reason !== undefined) out.reason = checkString(o.reason, "reason", call, ERROR_TEXTS ? 'pg.ban(peerId, { reason: "spam" })' : "", 300);
  return out;
}

export function checkRequestOptions(options: unknown): { to: string | undefined; timeoutMs?: number; signal?: AbortSignal } {
  const call = "pg.requestState(options?)";
  const to = checkTarget(options, call, ["to", "timeoutMs", "signal"]);
  if (typeof options !== "object" || options === null) return { to };
  const o = options as RequestStateOptions;
  const out: { to: string | undefined; timeoutMs?: number; signal?: AbortSignal } = { to };
  if (o.timeoutMs !== undefined) out.timeoutMs = checkPositive(o.timeoutMs, "timeoutMs", call, ERROR_TEXTS ? "pg.requestState({ timeoutMs: 5000 })" : "", false);
  const signal = checkSignal(o.signal, call);
  if (signal !== undefined) out.signal = signal;
  return out;
}

/** The error of a call its signal aborted; the signal's reason is the cause. */
export function abortError(call: string, signal: AbortSignal): PlaygroundError {
  return new PlaygroundError(NODE_ERROR_CODES.ABORTED, ERROR_TEXTS ? `${call}() was aborted by its signal.` : [], { cause: signal.reason });
}

/**
 * Settles with `work`, or rejects with `XPPG_ERR_ABORTED` when `signal`
 * aborts first: then `onAbort` runs at once, and `onLate` gets the result
 * if the work still succeeds (to close what it opened).
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, call: string, onLate?: (value: T) => void, onAbort?: () => void): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    onAbort?.();
    void work.then(onLate, () => {});
    return Promise.reject(abortError(call, signal));
  }
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const abort = (): void => {
      aborted = true;
      onAbort?.();
      reject(abortError(call, signal));
    };
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        if (aborted) onLate?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}
