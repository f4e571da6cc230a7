import { now as nowMs } from "@xppg/errors";

/** A download's progress, as the `onProgress` callback and the `progress` event see it. */
export interface DownloadProgress {
  contentId: string;
  /** The sharer's name for the file (untrusted: shown safe by the caller). */
  name: string;
  /** Verified bytes on disk, resumed ones included. */
  bytesDone: number;
  /** The file's size. */
  total: number;
  /** Bytes a second over the last few seconds. */
  rate: number;
  /** Neighbours that hold some of the content. */
  peers: number;
  /** Time left at the current rate, in ms (Infinity while nothing arrives). */
  etaMs: number;
  /** True on the last event, when the file is in place. */
  done: boolean;
}

/**
 * Bytes a second over the last few seconds: a sample every half second or
 * more, smoothed. Under a byte a second counts as none (the smoothing alone
 * never reaches zero, and a reporter would go on reporting a stalled
 * transfer every tick). Shared by a download's and a push's progress.
 */
export class RateMeter {
  rate = 0;
  #windowBytes = 0;
  #windowStart = nowMs();

  add(bytes: number): void {
    this.#windowBytes += bytes;
  }

  /** Takes a sample when half a second or more has passed since the last one. */
  update(now = nowMs()): void {
    const dt = (now - this.#windowStart) / 1000;
    if (dt < 0.5) return;
    const sample = this.#windowBytes / dt;
    this.rate = this.rate === 0 ? sample : 0.6 * this.rate + 0.4 * sample;
    if (this.rate < 1) this.rate = 0;
    this.#windowBytes = 0;
    this.#windowStart = now;
  }

  /** Time left for `left` bytes at the current rate, in ms: 0 when none is left, Infinity while nothing moves. */
  etaMs(left: number): number {
    return left === 0 ? 0 : this.rate > 0 ? (left / this.rate) * 1000 : Infinity;
  }
}

/** Counts bytes and reports at most every 200 ms (and once at the end). */
export class Progress {
  readonly #contentId: string;
  readonly #listener: ((p: DownloadProgress) => void) | undefined;
  #name = "";
  #total = 0;
  #done = 0;
  readonly #rate = new RateMeter();
  #lastReported = -1;

  constructor(contentId: string, listener: ((p: DownloadProgress) => void) | undefined) {
    this.#contentId = contentId;
    this.#listener = listener;
  }

  start(total: number, chunksHeld: number, chunkSize: number, name: string): void {
    this.#total = total;
    this.#done = Math.min(total, chunksHeld * chunkSize);
    this.#name = name;
  }

  add(bytes: number): void {
    this.#done = Math.min(this.#total, this.#done + bytes);
    this.#rate.add(bytes);
  }

  tick(peers: number): void {
    this.#rate.update();
    if (this.#done === this.#lastReported && this.#rate.rate === 0) return;
    this.#lastReported = this.#done;
    this.#emit(peers, false);
  }

  finish(peers: number): void {
    this.#done = this.#total;
    this.#emit(peers, true);
  }

  #emit(peers: number, done: boolean): void {
    if (this.#listener === undefined) return;
    const etaMs = this.#rate.etaMs(this.#total - this.#done);
    try {
      this.#listener({ contentId: this.#contentId, name: this.#name, bytesDone: this.#done, total: this.#total, rate: this.#rate.rate, peers, etaMs, done });
    } catch {
      // A listener's failure is its own; the download carries on.
    }
  }
}
