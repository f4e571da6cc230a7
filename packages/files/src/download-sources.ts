/**
 * The neighbours a download fetches from: which chunks each announced, how
 * many sources hold each chunk (rarest first), how fast each is, and a
 * bounded refresh of what they hold. A neighbour that refuses a chunk it
 * announced (busy, or it lost it) is asked no more for that chunk, until
 * its next bitfield: every so often (backing off while nothing changes) it is
 * sent `want` again and answers with what it holds now, so a chunk it
 * obtained, or can serve again, comes back.
 */

import { Bitfield } from "./bitfield.js";
import type { Source } from "./download-types.js";

/** The first refresh of a source that refused a chunk comes this long after the refusal; each later one twice as long after the last. */
export const REFRESH_FIRST_MS = 1_000;
/** The longest wait between two refreshes of one source. */
export const REFRESH_MAX_MS = 30_000;

export class Sources {
  readonly #map = new Map<string, Source>();
  /** Neighbours dropped from this download for lying or breaking the protocol. */
  readonly banned = new Set<string>();
  /** How many sources announced each chunk (once the manifest is known). */
  #availability: Uint16Array | undefined;

  get(peer: string): Source | undefined {
    return this.#map.get(peer);
  }

  values(): IterableIterator<Source> {
    return this.#map.values();
  }

  /** The source of `peer`, made if new. */
  source(peer: string): Source {
    let s = this.#map.get(peer);
    if (s === undefined) {
      s = { id: peer, bits: undefined, inflight: new Map(), rate: 0, bytesThisTick: 0, slow: 0, chunks: 0, refreshAt: undefined, refreshEveryMs: REFRESH_FIRST_MS, cursor: -1 };
      this.#map.set(peer, s);
    }
    return s;
  }

  /** Forgets `peer` (its count of chunks goes too). */
  delete(peer: string): void {
    const s = this.#map.get(peer);
    if (s !== undefined) this.clearBits(s);
    this.#map.delete(peer);
  }

  /** The manifest is known: counts what every source announced; returns those whose bitfield has the wrong size. */
  start(chunkCount: number): Source[] {
    this.#availability = new Uint16Array(chunkCount);
    const wrong: Source[] = [];
    for (const s of this.#map.values()) {
      if (s.bits === undefined) continue;
      if (s.bits.size !== chunkCount) wrong.push(s);
      else this.#count(s.bits, 1);
    }
    return wrong;
  }

  availability(index: number): number {
    return this.#availability?.[index] ?? 0;
  }

  /** A bitfield from `s`: it replaces what it announced before (and answers any refresh). */
  setBits(s: Source, size: number, bits: Uint8Array): void {
    if (s.bits !== undefined) this.#count(s.bits, -1);
    s.bits = new Bitfield(size, bits);
    s.refreshAt = undefined;
    this.#count(s.bits, 1);
  }

  /** `s` now holds chunk `index`; true when that is news. */
  have(s: Source, index: number): boolean {
    if (s.bits?.set(index) !== true) return false;
    if (this.#availability !== undefined) this.#availability[index]!++;
    return true;
  }

  /** `s` refused chunk `index`: not asked for it again until its next bitfield, which a refresh asks for. */
  refused(s: Source, index: number, now: number): void {
    if (s.bits?.clear(index) === true && this.#availability !== undefined) this.#availability[index]!--;
    s.refreshAt ??= now + s.refreshEveryMs;
  }

  /** `s` delivered a chunk: it is answering, so its refreshes start again from the shortest wait. */
  delivered(s: Source): void {
    s.refreshEveryMs = REFRESH_FIRST_MS;
  }

  /** The sources due for a refresh now (each at most once per its wait, the wait doubling up to `REFRESH_MAX_MS`). */
  dueForRefresh(now: number): Source[] {
    const due: Source[] = [];
    for (const s of this.#map.values()) {
      if (s.refreshAt === undefined || s.bits === undefined || now < s.refreshAt) continue;
      s.refreshEveryMs = Math.min(REFRESH_MAX_MS, s.refreshEveryMs * 2);
      s.refreshAt = now + s.refreshEveryMs;
      due.push(s);
    }
    return due;
  }

  /** Forgets what `s` announced (it left or was dropped). */
  clearBits(s: Source): void {
    if (s.bits !== undefined) this.#count(s.bits, -1);
    s.bits = undefined;
    s.refreshAt = undefined;
  }

  /** Sources that announced at least one chunk. */
  get withChunks(): number {
    let n = 0;
    for (const s of this.#map.values()) if (s.bits !== undefined && s.bits.count > 0) n++;
    return n;
  }

  /** True when some source announced a chunk `lacks(i)` says is missing. */
  hasAnyOf(size: number, lacks: (i: number) => boolean): boolean {
    for (const s of this.#map.values()) {
      if (s.bits === undefined) continue;
      for (let i = 0; i < size; i++) if (lacks(i) && s.bits.has(i)) return true;
    }
    return false;
  }

  #count(bits: Bitfield, delta: 1 | -1): void {
    const a = this.#availability;
    if (a === undefined || bits.size !== a.length) return;
    for (let i = 0; i < bits.size; i++) if (bits.has(i)) a[i]! += delta;
  }
}
