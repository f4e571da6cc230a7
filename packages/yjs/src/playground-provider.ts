import type { Playground } from "@xppg/node";
import * as Y from "yjs";
import { acquireBudget, type AnswerBudget, budgetOf, releaseBudget } from "./answer-budget.js";
import { AnswerPacer, type Answered } from "./answer-pacer.js";
import { YJS_ERROR_CODES, YjsError } from "./errors.js";
import { scanStateVector, scanUpdate } from "./update-scan.js";

/** Message kinds of the provider (application kinds: nothing under `xppg/`). */
export const YJS_KIND = {
  /** Sync step 1: `{ doc, vector }`, the sender's state vector. */
  STEP1: "yjs/step1",
  /** Sync step 2: `{ doc, update }`, what the asker lacks. */
  STEP2: "yjs/step2",
  /** `{ doc, update }`: a change, sent to every peer and forwarded on. */
  UPDATE: "yjs/update",
} as const;

/** Default of {@link PlaygroundProviderOptions.maxUpdateSize}. */
export const DEFAULT_MAX_UPDATE_SIZE = 512 * 1024;

/** Default of {@link PlaygroundProviderOptions.maxPendingSize}. */
export const DEFAULT_MAX_PENDING_SIZE = 2 * 1024 * 1024;

/** Default of {@link PlaygroundProviderOptions.syncAnswerIntervalMs}. */
export const DEFAULT_SYNC_ANSWER_INTERVAL_MS = 1000;

/**
 * Default of {@link PlaygroundProviderOptions.syncAnswerBytesPerSecond}: 16 MiB a second, with a burst of as much.
 * An answer's encoding runs at some 20 to 70 MB/s on one core (a text of many edits, 300 KiB to 4 MiB), and its
 * encoding, encryption and upload together took about 26 ms of CPU per MiB, so the bound keeps a node's answers
 * to about half a core; a few documents of up to 64 KiB synced to dozens of peers that all join at once
 * (4 x 48 x 64 KiB = 12 MiB) fit in the burst.
 */
export const DEFAULT_SYNC_ANSWER_BYTES_PER_SECOND = 16 * 1024 * 1024;

/** Largest {@link PlaygroundProviderOptions.syncAnswerIntervalMs} (a timer's longest delay). */
const MAX_SYNC_ANSWER_INTERVAL_MS = 2 ** 31 - 1;

/** Options of {@link PlaygroundProvider}. */
export interface PlaygroundProviderOptions {
  /**
   * The document's name: peers sync the documents of equal name, so one
   * Playground can carry several.
   * @default "default"
   */
  name?: string;
  /**
   * Largest update sent or taken, in bytes (keep it under the Playground's
   * `limits.maxFrameSize`). A peer that sends a larger one is disconnected.
   * @default 524288 (512 KiB)
   */
  maxUpdateSize?: number;
  /**
   * Most bytes of peers' updates held aside while they wait for a change
   * they build on. Yjs keeps such updates until the missing change arrives,
   * with no bound of its own, so a peer could send updates whose base never
   * comes until the node runs out of memory. Over this, the peer whose
   * updates added most of what is held is disconnected, what was held is
   * dropped, and the other peers are asked again for what the document
   * lacks, so nothing an honest peer holds is lost.
   * @default 2097152 (2 MiB)
   */
  maxPendingSize?: number;
  /**
   * Least time between two answers to one peer's sync step 1, in
   * milliseconds. Each answer encodes the whole document the peer lacks and
   * uploads it, so a peer asking in a loop could make the node do that
   * many times a second. Each peer has at most one answer in flight and one
   * per interval; asks that come meanwhile are coalesced into one answer to
   * the latest, sent when the interval ends, against the document as it is
   * then (an honest peer that asks again gets everything, only later). 0
   * keeps only the one-in-flight bound.
   * @default 1000
   */
  syncAnswerIntervalMs?: number;
  /**
   * Most bytes of step 2 answers encoded per second by all the providers of
   * the Playground together (one budget per Playground, node-wide). Per-peer
   * pacing bounds one peer; k documents and n peers could still make the
   * node encode and upload k x n answers per interval, and peers are cheap
   * to make. An answer starts while the budget holds anything (it holds at
   * most one second's worth) and is charged the bytes it encoded plus the
   * asker's state vector, at least 1 KiB. Asks over the budget wait,
   * coalesced per peer and document as above, and are answered round robin over peers, so a peer asking in a
   * loop does not starve the others; a peer that leaves gives up its turns.
   * The rate is the Playground's: a provider that leaves the option out
   * shares the budget as it is (made at the default if it is the first),
   * and one that passes a value sets it, so providers that pass one must
   * agree; `Number.POSITIVE_INFINITY` removes the bound.
   * @default 16777216 (16 MiB)
   */
  syncAnswerBytesPerSecond?: number;
  /**
   * Called with what went wrong: a peer's bad message (`BAD_UPDATE`, the
   * peer is disconnected) or a local update too large to send.
   * @default undefined (the disconnect still shows as `peer:left`)
   */
  onError?: (error: YjsError, peerId: string | undefined) => void;
}

/** Marks updates this provider applied, so they are forwarded, not echoed as local. */
interface Remote {
  readonly from: string;
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * Keeps a `Y.Doc` in sync with the documents of the same `name` on a
 * Playground's peers, as `y-protocols/sync` does: on join each side sends
 * its state vector (step 1) and gets back only what it lacks (step 2); then
 * every change goes to every peer, and changes learnt from one peer are
 * forwarded to the others, so peers that are not directly connected still
 * converge through the ones between them. Yjs ignores what it already has,
 * which ends the forwarding.
 *
 * Every byte from a peer is checked: a payload that is not a document
 * update within `maxUpdateSize` disconnects that peer, and `onError` gets
 * `XPPG_ERR_YJS_BAD_UPDATE`.
 */
export class PlaygroundProvider {
  readonly doc: Y.Doc;
  readonly name: string;
  readonly #pg: Playground;
  readonly #maxUpdateSize: number;
  readonly #maxPendingSize: number;
  readonly #answers: AnswerPacer;
  #budget: AnswerBudget | undefined;
  /** Bytes each peer's updates added to what Yjs holds aside, since it last held nothing. */
  readonly #charged = new Map<string, number>();
  readonly #off: (() => void)[] = [];
  readonly #onError: (error: YjsError, peerId: string | undefined) => void;

  constructor(pg: Playground, doc: Y.Doc, options: PlaygroundProviderOptions = {}) {
    if (!(doc instanceof Y.Doc)) throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, "new PlaygroundProvider(pg, doc) takes a Y.Doc as doc.");
    const name = options.name ?? "default";
    if (typeof name !== "string" || name.length === 0 || name.length > 256) {
      throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, "PlaygroundProvider option name must be a string of 1 to 256 characters.");
    }
    const maxUpdateSize = options.maxUpdateSize ?? DEFAULT_MAX_UPDATE_SIZE;
    if (!Number.isSafeInteger(maxUpdateSize) || maxUpdateSize < 1) {
      throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, "PlaygroundProvider option maxUpdateSize must be a positive integer.");
    }
    const maxPendingSize = options.maxPendingSize ?? DEFAULT_MAX_PENDING_SIZE;
    if (!Number.isSafeInteger(maxPendingSize) || maxPendingSize < 1) {
      throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, "PlaygroundProvider option maxPendingSize must be a positive integer.");
    }
    const syncAnswerIntervalMs = options.syncAnswerIntervalMs ?? DEFAULT_SYNC_ANSWER_INTERVAL_MS;
    if (!Number.isSafeInteger(syncAnswerIntervalMs) || syncAnswerIntervalMs < 0 || syncAnswerIntervalMs > MAX_SYNC_ANSWER_INTERVAL_MS) {
      throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, `PlaygroundProvider option syncAnswerIntervalMs must be an integer from 0 to ${MAX_SYNC_ANSWER_INTERVAL_MS}.`);
    }
    const syncAnswerBytesPerSecond = options.syncAnswerBytesPerSecond;
    if (syncAnswerBytesPerSecond !== undefined && syncAnswerBytesPerSecond !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(syncAnswerBytesPerSecond) || syncAnswerBytesPerSecond < 1)) {
      throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, "PlaygroundProvider option syncAnswerBytesPerSecond must be a positive integer or Number.POSITIVE_INFINITY.");
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new YjsError(YJS_ERROR_CODES.INVALID_ARGUMENT, "PlaygroundProvider option onError must be a function.");
    }
    const budget = acquireBudget(pg, syncAnswerBytesPerSecond, DEFAULT_SYNC_ANSWER_BYTES_PER_SECOND);
    if (budget === undefined) {
      throw new YjsError(
        YJS_ERROR_CODES.INVALID_ARGUMENT,
        `PlaygroundProvider option syncAnswerBytesPerSecond (${syncAnswerBytesPerSecond}) differs from the one another provider of this Playground passed (${budgetOf(pg)?.bytesPerSecond}); pass the same value, or leave the option out to share the Playground's budget as it is.`,
      );
    }
    this.#budget = budget;
    this.#onError = options.onError ?? (() => {});
    this.doc = doc;
    this.name = name;
    this.#pg = pg;
    this.#maxUpdateSize = maxUpdateSize;
    this.#maxPendingSize = maxPendingSize;
    this.#answers = new AnswerPacer(syncAnswerIntervalMs, (peerId, vector) => this.#sendStep2(peerId, vector), budget);
    const onUpdate = (update: Uint8Array, origin: unknown): void => this.#changed(update, origin);
    doc.on("update", onUpdate);
    this.#off.push(() => doc.off("update", onUpdate));
    this.#off.push(pg.events.on("peer:joined", (peer) => this.#step1(peer.peerId)));
    this.#off.push(
      pg.events.on("peer:left", (peer) => {
        this.#charged.delete(peer.peerId);
        this.#answers.forget(peer.peerId);
      }),
    );
    this.#off.push(pg.on(YJS_KIND.STEP1, (src, _kind, payload) => this.#answer(src, payload)));
    this.#off.push(pg.on(YJS_KIND.STEP2, (src, _kind, payload) => this.#take(src, payload)));
    this.#off.push(pg.on(YJS_KIND.UPDATE, (src, _kind, payload) => this.#take(src, payload)));
    for (const peer of pg.peers) this.#step1(peer.peerId);
  }

  /** Stops syncing (the document and the Playground carry on). */
  destroy(): void {
    for (const off of this.#off.splice(0)) off();
    this.#answers.clear();
    if (this.#budget !== undefined) releaseBudget(this.#pg, this.#budget);
    this.#budget = undefined;
  }

  #step1(peerId: string): void {
    void this.#pg.send(YJS_KIND.STEP1, { doc: this.name, vector: Y.encodeStateVector(this.doc) }, { to: peerId }).catch(() => {});
  }

  #changed(update: Uint8Array, origin: unknown): void {
    if (update.length > this.#maxUpdateSize) {
      this.#onError(
        new YjsError(YJS_ERROR_CODES.UPDATE_TOO_LARGE, `A Yjs update of ${update.length} bytes is over maxUpdateSize (${this.#maxUpdateSize}); it was not sent. Make smaller changes, or raise maxUpdateSize and limits.maxFrameSize on every peer.`),
        undefined,
      );
      return;
    }
    const from = (origin as Remote | null)?.from;
    // Local changes go to everyone; learnt ones to everyone but their sender.
    for (const peer of this.#pg.peers) {
      if (peer.peerId !== from) void this.#pg.send(YJS_KIND.UPDATE, { doc: this.name, update }, { to: peer.peerId }).catch(() => {});
    }
  }

  #answer(src: string, payload: unknown): void {
    const vector = this.#field(src, payload, "vector");
    if (vector === undefined) return;
    const unsound = scanStateVector(vector);
    if (unsound !== undefined) return void this.#bad(src, `a state vector Yjs cannot read (${unsound})`);
    // Paced per peer: at most one answer in flight and one per syncAnswerIntervalMs; asks meanwhile are coalesced.
    this.#answers.ask(src, vector);
  }

  /** Step 2 to a peer: what the document holds that `vector` lacks; `encoded` counts the bytes read and written, `taken` settles when the transports have taken it. */
  #sendStep2(src: string, vector: Uint8Array): Answered {
    let update: Uint8Array;
    try {
      update = Y.encodeStateAsUpdate(this.doc, vector);
    } catch (error) {
      this.#bad(src, "a state vector Yjs cannot read", error);
      return { encoded: vector.length, taken: Promise.resolve() };
    }
    // Charged what was read as well as what was written: a state vector of many made-up clients (up to
    // maxUpdateSize) is decoded into a map for an answer of a few bytes, some 13 ms of CPU per MiB read.
    return { encoded: vector.length + update.length, taken: this.#pg.send(YJS_KIND.STEP2, { doc: this.name, update }, { to: src }).catch(() => {}) };
  }

  #take(src: string, payload: unknown): void {
    const update = this.#field(src, payload, "update");
    if (update === undefined) return;
    // Yjs allocates by the counts an update declares: its shape is checked first.
    const unsound = scanUpdate(update);
    if (unsound !== undefined) return void this.#bad(src, `an update Yjs cannot read (${unsound})`);
    const before = this.#held();
    try {
      // A copy: Yjs keeps a Uint8Array nested in a value (a map's or array's plain data) as a view into the update
      // it read, and the payload's update is a view into the memory the message was read into (a 256 KiB read
      // buffer, or a frame of up to 1 MiB), which such a value would otherwise hold for as long as the document keeps it.
      Y.applyUpdate(this.doc, update.slice(), { from: src } satisfies Remote);
    } catch (error) {
      this.#bad(src, "an update Yjs cannot read", error);
      return;
    }
    this.#boundPending(src, before);
  }

  /** Bytes Yjs holds aside (updates waiting for their base); `pendingStructs` and `pendingDs` are public fields of Yjs 13's StructStore. */
  #held(): number {
    const store = this.doc.store;
    return (store.pendingStructs?.update.length ?? 0) + (store.pendingDs?.length ?? 0);
  }

  /**
   * Holds what Yjs keeps aside to maxPendingSize. Each peer is charged what
   * its updates added; over the bound, the peer charged most (not merely the
   * one that crossed it) is disconnected, what was held is dropped, and the
   * other peers are asked again for what the document lacks.
   */
  #boundPending(src: string, before: number): void {
    const held = this.#held();
    if (held === 0) {
      this.#charged.clear();
      return;
    }
    if (held > before) this.#charged.set(src, (this.#charged.get(src) ?? 0) + (held - before));
    if (held <= this.#maxPendingSize) return;
    let worst = src;
    for (const [peer, bytes] of this.#charged) if (bytes > (this.#charged.get(worst) ?? 0)) worst = peer;
    this.doc.store.pendingStructs = null;
    this.doc.store.pendingDs = null;
    this.#charged.clear();
    this.#bad(worst, `updates whose base never came (${held} bytes held aside, over maxPendingSize ${this.#maxPendingSize}; they were dropped)`);
    // What was dropped may have come from honest peers: ask them again.
    for (const peer of this.#pg.peers) if (peer.peerId !== worst) this.#step1(peer.peerId);
  }

  /** The bytes field of a message for this document; undefined (and the peer dropped) for a bad one, or for another document. */
  #field(src: string, payload: unknown, field: "vector" | "update"): Uint8Array | undefined {
    if (typeof payload !== "object" || payload === null) return this.#bad(src, "a payload that is not an object");
    const record = payload as Record<string, unknown>;
    if (record.doc !== this.name) return undefined;
    const bytes = record[field];
    if (!isBytes(bytes)) return this.#bad(src, `a ${field} that is not bytes`);
    if (bytes.length > this.#maxUpdateSize) return this.#bad(src, `a ${field} of ${bytes.length} bytes, over maxUpdateSize (${this.#maxUpdateSize})`);
    return bytes;
  }

  #bad(src: string, what: string, cause?: unknown): undefined {
    const error = new YjsError(YJS_ERROR_CODES.BAD_UPDATE, `The peer ${src} sent ${what} for document "${this.name}"; it is disconnected.`, cause === undefined ? undefined : { cause });
    this.#onError(error, src);
    this.#pg.disconnect(src, error.message);
    return undefined;
  }
}
