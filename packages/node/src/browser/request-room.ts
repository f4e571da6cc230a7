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
 * in order (at most 1024 messages, 64 from one peer, and 8 MiB: each payload
 * is held as a copy of the bytes it came in, read again when handed over, so
 * every payload counts what it weighs, none keeps its frame alive, and the
 * room gets the very value the node read; a request past that is answered
 * `"busy"`, a response dropped); handlers registered meanwhile are
 * registered there. After `close()` what comes is ignored.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { KIND_REQUEST, KIND_RESPONSE } from "../protocol.js";
import { duplicateHandlerError, readRequestMessage } from "../request-checks.js";
import type { RequestHandler, RequestRoom as NodeRequestRoom, RequestRoomOptions } from "../request-room.js";
import { removedOnAbort } from "../removed-on-abort.js";
import { unreachableError } from "../routing-basics.js";
import { LazyRoom } from "./lazy-room.js";

export type { RequestHandler, RequestLimits, RequestRoomOptions } from "../request-room.js";

/** Of the 1024 messages held while the room loads, the most from one peer: one busy peer does not make the others wait. */
const MAX_HELD_PER_PEER = 64;

/** A handler registered before the room loaded, and how to remove it from the room once there. */
interface Early {
  readonly handler: RequestHandler;
  off: (() => void) | undefined;
}

/** Requests in a page: Node's room, loaded the first time it is needed. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class RequestRoom implements Pick<NodeRequestRoom, keyof NodeRequestRoom> {
  readonly #o: RequestRoomOptions;
  /** Holds the requests and responses that come while the room loads (past its limits a request is answered `"busy"`, a response dropped). */
  readonly #lazy: LazyRoom<NodeRequestRoom, [src: string, kind: string, payload: Uint8Array]>;
  readonly #early = new Map<string, Early>();

  constructor(options: RequestRoomOptions) {
    this.#o = options;
    this.#lazy = new LazyRoom(
      async () => new (await import("../request-room.js")).RequestRoom(options),
      // (A failed load drops what was held: the askers' timeouts answer those requests.)
      (room, held) => this.#loaded(room, held),
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
    const off = removedOnAbort(() => {
      if (early.off !== undefined) early.off();
      else if (this.#early.get(kind) === early) this.#early.delete(kind);
    }, signal);
    this.#lazy.load().catch(() => {});
    return off;
  }

  request(to: string, kind: string, payload: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    return this.#lazy.call(
      (room) => room.request(to, kind, payload, timeoutMs, signal),
      (error) => unreachableError(to, ERROR_TEXTS ? "this page could not load its request code (is the site still reachable?)" : [], error),
    );
  }

  receive(src: string, kind: string, payload: unknown): void {
    const loaded = this.#lazy.room;
    if (loaded !== undefined) return loaded.receive(src, kind, payload);
    const message = readRequestMessage(src, kind, payload);
    if (!this.#lazy.started && this.#early.size === 0) {
      // No handler and no request of this node: a request has no handler, a response no asker.
      if (kind === KIND_REQUEST && !this.#lazy.closed) this.#o.send(src, KIND_RESPONSE, { r: message.r, e: "no-handler" }).catch(() => {});
      return;
    }
    // Stopped: nothing is loaded for it, nor served.
    if (this.#lazy.closed) return;
    // Counted only while the room loads (a moment), over at most 1024 messages.
    let fromPeer = 0;
    for (const held of this.#lazy.held) if (held[0] === src) fromPeer++;
    // Held as the bytes it came in (the codec's copy: a view would keep its frame alive): any payload counts what it weighs, and
    // it is read again as it was read now (the value encoded again would not be: -0, an invalid date, malformed UTF-8).
    // The node's codec read it just now; a payload it did not read (none) is not held.
    const bytes = this.#o.codec?.payloadBytesOf(payload);
    if ((bytes === undefined || !this.#lazy.hold([src, kind, bytes], bytes.byteLength, fromPeer >= MAX_HELD_PER_PEER)) && kind === KIND_REQUEST) {
      this.#o.send(src, KIND_RESPONSE, { r: message.r, e: "busy" }).catch(() => {});
    }
  }

  close(): void {
    this.#lazy.close();
  }

  /** The room is there: early handlers move to it, and what came meanwhile is handed over in order. */
  #loaded(room: NodeRequestRoom, held: [src: string, kind: string, payload: Uint8Array][]): void {
    for (const [kind, early] of this.#early) early.off = room.handle(kind, early.handler, undefined);
    this.#early.clear();
    for (const [src, kind, bytes] of held) {
      try {
        room.receive(src, kind, this.#o.codec!.readPayload(bytes));
      } catch (error) {
        // Checked when it came; reported rather than lost.
        this.#o.report(error as XppgError, src);
      }
    }
  }
}
