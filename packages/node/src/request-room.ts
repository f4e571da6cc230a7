/**
 * Requests and replies (capability `route/1`): `pg.request` sends
 * `xppg/request { r, k, p }` to one peer, a neighbour or a node reached
 * through the mesh (end to end, as any routed unicast), and the handler
 * registered there with `pg.handle` answers `xppg/response { r, p }`, or
 * `{ r, e }` when there is no handler (`"no-handler"`), the handler threw
 * (`"failed"`, with its message `m` only when it threw a `ReplyError`) or
 * the peer serves too many of this node's requests already (`"busy"`).
 *
 * Bounded: requests waiting for replies, in all and per peer (over either,
 * `request` fails at once), and requests served at once per peer (more are
 * answered `"busy"`). A reply from anyone but the peer asked is ignored.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import type { EnvelopeCodec } from "@xppg/framing";
import { abortError } from "./call-checks.js";
import { asHandlerError } from "./dispatcher.js";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import { isReplyError } from "./reply-error.js";
import { KIND_REQUEST, KIND_RESPONSE } from "./protocol.js";
import { removedOnAbort } from "./removed-on-abort.js";
import { duplicateHandlerError, MAX_REPLY_MESSAGE, readRequestMessage } from "./request-checks.js";
import { safeText } from "./safe-text.js";

/**
 * Answers one kind of request: `src` is the asker's peer id, `payload` what
 * it sent (unchecked: check its shape). The value returned (or resolved) is
 * the reply, plain data as for `send`. Throw a `ReplyError` to fail the
 * request with a message the asker sees; anything else thrown fails it
 * without the message (reported here as an `error` event).
 */
export type RequestHandler<P = unknown, R = unknown> = (src: string, payload: P) => R | Promise<R>;

/** The request room's limits, on by default. */
export interface RequestLimits {
  /** Requests of this node waiting for a reply, in all. */
  readonly maxPending: number;
  /** Requests of this node waiting for a reply from one peer. */
  readonly maxPendingPerPeer: number;
  /** Requests of one peer this node's handlers serve at once; more are answered "busy". */
  readonly maxServingPerPeer: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { maxPending: 1024, maxPendingPerPeer: 128, maxServingPerPeer: 64 };

export interface RequestRoomOptions {
  /**
   * Sends a message to one peer, a neighbour or through the mesh; rejects (typed) when it cannot. May throw for a payload
   * that cannot be encoded. `tell`, a request's: a routed channel lost while the send waits rejects the request with its
   * error, and the answer says whether that reached the user (else the loss is the node's `error` event).
   */
  send(to: string, kind: string, payload: unknown, tell?: (error: XppgError) => boolean): Promise<void>;
  /** A local failure (a handler that threw, a reply that cannot be sent). */
  report(error: XppgError, peerId: string): void;
  readonly limits?: Partial<RequestLimits>;
  /** The codec the node reads with: a page holds what comes while its request code loads as the bytes it read. */
  readonly codec?: Pick<EnvelopeCodec, "payloadBytesOf" | "readPayload">;
}

interface Pending {
  readonly to: string;
  readonly kind: string;
  resolve(value: unknown): void;
  /** False when the request had settled already (its reply, its abort signal, its timeout, the node's stop): the error reaches no one. */
  reject(error: XppgError): boolean;
}

export class RequestRoom {
  readonly #o: RequestRoomOptions;
  readonly #limits: RequestLimits;
  readonly #handlers = new Map<string, RequestHandler>();
  readonly #pending = new Map<number, Pending>();
  readonly #pendingPerPeer = new Map<string, number>();
  readonly #serving = new Map<string, number>();
  #nextId = 0;
  #closed = false;

  constructor(options: RequestRoomOptions) {
    this.#o = options;
    this.#limits = { ...DEFAULT_REQUEST_LIMITS, ...options.limits };
  }

  /** Requests waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Registers the handler of one kind; returns the function that removes it (so does aborting `signal`). */
  handle(kind: string, handler: RequestHandler, signal: AbortSignal | undefined): () => void {
    if (this.#handlers.has(kind)) throw duplicateHandlerError(kind);
    this.#handlers.set(kind, handler);
    return removedOnAbort(() => {
      if (this.#handlers.get(kind) === handler) this.#handlers.delete(kind);
    }, signal);
  }

  /** Sends a request and resolves with the reply; rejects with a typed error (see the module's comment). */
  request(to: string, kind: string, payload: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(abortError("request", signal));
    const perPeer = this.#pendingPerPeer.get(to) ?? 0;
    if (this.#pending.size >= this.#limits.maxPending || perPeer >= this.#limits.maxPendingPerPeer) {
      const which = perPeer >= this.#limits.maxPendingPerPeer ? `${perPeer} to ${to}` : `${this.#pending.size} in all`;
      return Promise.reject(new PlaygroundError(NODE_ERROR_CODES.TOO_MANY_REQUESTS, ERROR_TEXTS ? `Too many requests wait for replies (${which}). Await some before sending more.` : [which], { details: { peerId: to } }));
    }
    const r = (this.#nextId = this.#nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.#nextId + 1);
    return new Promise<unknown>((resolve, reject) => {
      const settle = (): boolean => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", abort);
        if (this.#pending.get(r) !== pending) return false;
        this.#pending.delete(r);
        const left = (this.#pendingPerPeer.get(to) ?? 1) - 1;
        if (left === 0) this.#pendingPerPeer.delete(to);
        else this.#pendingPerPeer.set(to, left);
        return true;
      };
      const pending: Pending = {
        to,
        kind,
        resolve: (value) => {
          settle();
          resolve(value);
        },
        reject: (error) => {
          const live = settle();
          reject(error);
          return live;
        },
      };
      const abort = (): void => void pending.reject(abortError("request", signal!));
      const timer = setTimeout(
        () => void pending.reject(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, ERROR_TEXTS ? `The "${kind}" request to ${to} got no reply within ${timeoutMs} ms. The peer may be slow or gone; raise timeoutMs if its handler needs longer.` : [kind, to, timeoutMs], { details: { peerId: to, timeoutMs } })),
        timeoutMs,
      );
      signal?.addEventListener("abort", abort, { once: true });
      this.#pending.set(r, pending);
      this.#pendingPerPeer.set(to, (this.#pendingPerPeer.get(to) ?? 0) + 1);
      try {
        // A routed channel lost while this send waits rejects the request (`pending.reject`), or is the error event when the request settled already.
        this.#o.send(to, KIND_REQUEST, { r, k: kind, p: payload }, pending.reject).catch((error: XppgError) => pending.reject(error));
      } catch (error) {
        pending.reject(error as XppgError);
      }
    });
  }

  /** An `xppg/request` or `xppg/response` from `src` (authenticated by its link or channel). Throws a typed error for a malformed one. */
  receive(src: string, kind: string, payload: unknown): void {
    const { r, k, p, e, m } = readRequestMessage(src, kind, payload);
    if (kind === KIND_REQUEST) return this.#serve(src, r, k!, p);
    const pending = this.#pending.get(r);
    // Only the peer asked may answer.
    if (pending === undefined || pending.to !== src) return;
    if (e === undefined) pending.resolve(p);
    else pending.reject(failureError(src, pending.kind, e, m));
  }

  /** Fails every waiting request: the node stops. */
  close(): void {
    this.#closed = true;
    for (const pending of [...this.#pending.values()]) pending.reject(new PlaygroundError(NODE_ERROR_CODES.STOPPED, ERROR_TEXTS ? `The "${pending.kind}" request to ${pending.to} was given up: this node stopped.` : [pending.kind, pending.to]));
  }

  #serve(src: string, r: number, kind: string, payload: unknown): void {
    const handler = this.#handlers.get(kind);
    if (handler === undefined) return this.#answer(src, { r, e: "no-handler" });
    const serving = this.#serving.get(src) ?? 0;
    if (serving >= this.#limits.maxServingPerPeer) return this.#answer(src, { r, e: "busy" });
    this.#serving.set(src, serving + 1);
    const done = (): void => {
      const left = (this.#serving.get(src) ?? 1) - 1;
      if (left === 0) this.#serving.delete(src);
      else this.#serving.set(src, left);
    };
    const fail = (error: unknown): void => {
      done();
      if (isReplyError(error)) return this.#answer(src, { r, e: "failed", m: error.message.slice(0, MAX_REPLY_MESSAGE) });
      this.#o.report(asHandlerError(error, ERROR_TEXTS ? `the "${kind}" request handler` : [kind]), src);
      this.#answer(src, { r, e: "failed" });
    };
    let result: unknown;
    try {
      result = handler(src, payload);
    } catch (error) {
      return fail(error);
    }
    Promise.resolve(result).then((reply) => {
      done();
      this.#answer(src, { r, p: reply }, kind);
    }, fail);
  }

  /** Sends a response; one whose reply cannot be encoded is reported here and answered "failed". */
  #answer(to: string, response: Record<string, unknown>, kind?: string): void {
    if (this.#closed) return;
    try {
      this.#o.send(to, KIND_RESPONSE, response).catch(() => {});
    } catch (error) {
      if (kind === undefined) return;
      this.#o.report(asHandlerError(error, ERROR_TEXTS ? `the reply of the "${kind}" request handler` : [kind]), to);
      this.#answer(to, { r: response.r, e: "failed" });
    }
  }
}

function failureError(src: string, kind: string, failure: string, message: string | undefined): PlaygroundError {
  if (failure === "no-handler") {
    return new PlaygroundError(NODE_ERROR_CODES.NO_HANDLER, ERROR_TEXTS ? `The peer ${src} has no handler for "${kind}" requests. It must register one with pg.handle("${kind}", handler).` : [src, kind, kind], { details: { peerId: src } });
  }
  if (failure === "busy") {
    return new PlaygroundError(NODE_ERROR_CODES.TOO_MANY_REQUESTS, ERROR_TEXTS ? `The peer ${src} is already serving as many requests from this node as it takes at once; try again after some have been answered.` : [src], { details: { peerId: src } });
  }
  if (message === undefined) {
    return new PlaygroundError(NODE_ERROR_CODES.REQUEST_FAILED, ERROR_TEXTS ? `The "${kind}" request handler on ${src} failed. Its error stays on that node (a handler passes a message on by throwing a ReplyError).` : [kind, src], { details: { peerId: src } });
  }
  const said = safeText(message, { singleLine: true, removeInvisible: true });
  return new PlaygroundError(NODE_ERROR_CODES.REQUEST_FAILED, ERROR_TEXTS ? `The "${kind}" request handler on ${src} refused: ${said}` : [kind, src, said], { details: { peerId: src, remoteMessage: said } });
}
