/**
 * The browser's `#request-room` (Node's is `../request-room.ts`): requests
 * and replies, loaded on first use. A page that never calls `pg.handle` or
 * `pg.request` never downloads the room; the first of those calls loads it
 * (`import()`), and from then on every call goes straight to Node's room.
 *
 * Nothing changes for the peers: a malformed request or response is refused
 * at once, as in Node (the checks are shared, `request-checks.ts`); a request
 * that comes while no handler was ever registered is answered `"no-handler"`
 * without loading anything; what comes while the room loads is handed over
 * in order; handlers registered meanwhile are registered there.
 */

import type { XppgError } from "@xppg/errors";
import { KIND } from "../protocol.js";
import { duplicateHandlerError, readRequestMessage } from "../request-checks.js";
import type { RequestHandler, RequestRoom as NodeRequestRoom, RequestRoomOptions } from "../request-room.js";
import { unreachableError } from "../routing-basics.js";

export type { RequestHandler, RequestLimits, RequestRoomOptions } from "../request-room.js";

/** A handler registered before the room loaded, and how to remove it from the room once there. */
interface Early {
  readonly handler: RequestHandler;
  off: (() => void) | undefined;
}

/** Requests in a page: Node's room, loaded the first time it is needed. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class RequestRoom implements Pick<NodeRequestRoom, keyof NodeRequestRoom> {
  readonly #o: RequestRoomOptions;
  #room: NodeRequestRoom | undefined;
  #loading: Promise<NodeRequestRoom> | undefined;
  readonly #early = new Map<string, Early>();
  /** Requests and responses that came while the room loads, in order. */
  #queued: [src: string, kind: string, payload: unknown][] = [];
  /** Requests waiting for the room: later ones wait behind them, so all go out in order. */
  #waiting = 0;
  #closed = false;

  constructor(options: RequestRoomOptions) {
    this.#o = options;
  }

  get pendingCount(): number {
    return (this.#room?.pendingCount ?? 0) + this.#waiting;
  }

  handle(kind: string, handler: RequestHandler, signal: AbortSignal | undefined): () => void {
    if (this.#room !== undefined) return this.#room.handle(kind, handler, signal);
    if (this.#early.has(kind)) throw duplicateHandlerError(kind);
    const early: Early = { handler, off: undefined };
    this.#early.set(kind, early);
    const off = (): void => {
      if (early.off !== undefined) early.off();
      else if (this.#early.get(kind) === early) this.#early.delete(kind);
      signal?.removeEventListener("abort", off);
    };
    if (signal !== undefined) {
      if (signal.aborted) off();
      else signal.addEventListener("abort", off, { once: true });
    }
    this.#load().catch(() => {});
    return off;
  }

  request(to: string, kind: string, payload: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.#room !== undefined && this.#waiting === 0) return this.#room.request(to, kind, payload, timeoutMs, signal);
    this.#waiting++;
    return this.#load().then(
      (room) => {
        this.#waiting--;
        return room.request(to, kind, payload, timeoutMs, signal);
      },
      (error: unknown) => {
        this.#waiting--;
        throw unreachableError(to, "this page could not load its request code (is the site still reachable?)", error);
      },
    );
  }

  receive(src: string, kind: string, payload: unknown): void {
    if (this.#room !== undefined) return this.#room.receive(src, kind, payload);
    const message = readRequestMessage(src, kind, payload);
    if (this.#loading === undefined && this.#early.size === 0) {
      // No handler and no request of this node: a request has no handler, a response no asker.
      if (kind === KIND.REQUEST && !this.#closed) this.#o.send(src, KIND.RESPONSE, { r: message.r, e: "no-handler" }).catch(() => {});
      return;
    }
    this.#queued.push([src, kind, payload]);
    this.#load().catch(() => {});
  }

  close(): void {
    this.#closed = true;
    this.#queued = [];
    this.#room?.close();
  }

  #load(): Promise<NodeRequestRoom> {
    this.#loading ??= import("../request-room.js").then(
      ({ RequestRoom: Room }) => {
        const room = new Room(this.#o);
        if (this.#closed) room.close();
        for (const [kind, early] of this.#early) early.off = room.handle(kind, early.handler, undefined);
        this.#early.clear();
        this.#room = room;
        const queued = this.#queued;
        this.#queued = [];
        for (const [src, kind, payload] of queued) {
          try {
            room.receive(src, kind, payload);
          } catch (error) {
            // Checked when it came; reported rather than lost.
            this.#o.report(error as XppgError, src);
          }
        }
        return room;
      },
      (error: unknown) => {
        // The next use tries again; requests that came meanwhile are answered by their askers' timeouts.
        this.#loading = undefined;
        this.#queued = [];
        throw error;
      },
    );
    return this.#loading;
  }
}
