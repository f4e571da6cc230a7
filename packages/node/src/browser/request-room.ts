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
 * in order (at most 1024 messages, 64 from one peer, and 8 MiB of byte and
 * string payloads, held as copies: a request past that is answered `"busy"`,
 * a response dropped); handlers registered meanwhile are registered there.
 * After `close()` what comes is ignored.
 */

import type { XppgError } from "@xppg/errors";
import { KIND } from "../protocol.js";
import { duplicateHandlerError, readRequestMessage } from "../request-checks.js";
import type { RequestHandler, RequestRoom as NodeRequestRoom, RequestRoomOptions } from "../request-room.js";
import { unreachableError } from "../routing-basics.js";
import { LazyRoom } from "./lazy-room.js";

export type { RequestHandler, RequestLimits, RequestRoomOptions } from "../request-room.js";

/** Requests and responses kept while the room loads; past it a request is answered `"busy"`, a response dropped. */
const MAX_QUEUED = 1024;
/** Of {@link MAX_QUEUED}, the most from one peer: one busy peer does not make the others wait for the room. */
const MAX_QUEUED_PER_PEER = 64;
/** Bytes of the byte and string payloads kept (a neighbour's frame may be as large as `limits.maxFrameSize`). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** A handler registered before the room loaded, and how to remove it from the room once there. */
interface Early {
  readonly handler: RequestHandler;
  off: (() => void) | undefined;
}

/** Requests in a page: Node's room, loaded the first time it is needed. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class RequestRoom implements Pick<NodeRequestRoom, keyof NodeRequestRoom> {
  readonly #o: RequestRoomOptions;
  readonly #lazy: LazyRoom<NodeRequestRoom>;
  readonly #early = new Map<string, Early>();
  /** Requests and responses that came while the room loads, in order. */
  #queued: [src: string, kind: string, payload: unknown][] = [];
  /** How many of {@link #queued} each peer sent, and the bytes they hold. */
  #perPeer = new Map<string, number>();
  #queuedBytes = 0;

  constructor(options: RequestRoomOptions) {
    this.#o = options;
    this.#lazy = new LazyRoom(
      async () => new (await import("../request-room.js")).RequestRoom(options),
      (room) => this.#loaded(room),
      // Requests that came meanwhile are answered by their askers' timeouts.
      () => this.#drop(),
    );
  }

  get pendingCount(): number {
    return (this.#lazy.room?.pendingCount ?? 0) + this.#lazy.waiting;
  }

  handle(kind: string, handler: RequestHandler, signal: AbortSignal | undefined): () => void {
    const loaded = this.#lazy.room;
    if (loaded !== undefined) return loaded.handle(kind, handler, signal);
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
    this.#lazy.load().catch(() => {});
    return off;
  }

  request(to: string, kind: string, payload: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    return this.#lazy.call(
      (room) => room.request(to, kind, payload, timeoutMs, signal),
      (error) => unreachableError(to, "this page could not load its request code (is the site still reachable?)", error),
    );
  }

  receive(src: string, kind: string, payload: unknown): void {
    const loaded = this.#lazy.room;
    if (loaded !== undefined) return loaded.receive(src, kind, payload);
    const message = readRequestMessage(src, kind, payload);
    if (!this.#lazy.started && this.#early.size === 0) {
      // No handler and no request of this node: a request has no handler, a response no asker.
      if (kind === KIND.REQUEST && !this.#lazy.closed) this.#o.send(src, KIND.RESPONSE, { r: message.r, e: "no-handler" }).catch(() => {});
      return;
    }
    // Stopped: nothing is loaded for it, nor served.
    if (this.#lazy.closed) return;
    const p = message.p;
    const size = p instanceof Uint8Array ? p.byteLength : typeof p === "string" ? p.length : 0;
    const fromPeer = this.#perPeer.get(src) ?? 0;
    if (this.#queued.length >= MAX_QUEUED || fromPeer >= MAX_QUEUED_PER_PEER || this.#queuedBytes + size > MAX_QUEUED_BYTES) {
      if (kind === KIND.REQUEST) this.#o.send(src, KIND.RESPONSE, { r: message.r, e: "busy" }).catch(() => {});
      return;
    }
    this.#perPeer.set(src, fromPeer + 1);
    this.#queuedBytes += size;
    // A copy of bytes: a view would keep its whole frame alive, uncounted.
    this.#queued.push([src, kind, p instanceof Uint8Array ? { ...message, p: p.slice() } : payload]);
    this.#lazy.load().catch(() => {});
  }

  close(): void {
    this.#drop();
    this.#lazy.close();
  }

  #drop(): void {
    this.#queued = [];
    this.#perPeer.clear();
    this.#queuedBytes = 0;
  }

  /** The room is there: early handlers move to it, and what came meanwhile is handed over in order. */
  #loaded(room: NodeRequestRoom): void {
    for (const [kind, early] of this.#early) early.off = room.handle(kind, early.handler, undefined);
    this.#early.clear();
    const queued = this.#queued;
    this.#drop();
    for (const [src, kind, payload] of queued) {
      try {
        room.receive(src, kind, payload);
      } catch (error) {
        // Checked when it came; reported rather than lost.
        this.#o.report(error as XppgError, src);
      }
    }
  }
}
