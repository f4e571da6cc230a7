/**
 * A push's progress, for its sender: how much of the file its receivers
 * hold. The sender hears of a receiver's chunks only through what it serves
 * it (a receiver tells a node that holds the whole file of no chunk), so a
 * receiver still downloading counts the bytes this node has sent it, and
 * one that answered done counts the whole file.
 */

import { RateMeter } from "./progress.js";

/** A push's progress, as its `onProgress` callback sees it. */
export interface PushProgress {
  contentId: string;
  /** The file's name, as shared. */
  name: string;
  /** Bytes the receivers hold: the whole file for each that has it, else what this node has sent it (parts fetched from other peers are not seen). */
  bytesDone: number;
  /** The file's size times the receivers taking it (one that refuses it or leaves is taken out). */
  total: number;
  /** Bytes of the file this node sent a second, over the last few seconds. */
  rate: number;
  /** Receivers still downloading it. */
  peers: number;
  /** Receivers that hold the whole file. */
  delivered: number;
  /** Time left at the current rate, in ms (Infinity while nothing is sent). */
  etaMs: number;
  /** True on the last event: every receiver answered or left, or the push was aborted or failed. */
  done: boolean;
}

/** Counts what a push's receivers got and reports at most every 200 ms (by `tick`), and once at the end. */
export class PushMeter {
  readonly #contentId: string;
  readonly #name: string;
  readonly #size: number;
  readonly #listener: (p: PushProgress) => void;
  /** Bytes sent to each receiver still downloading. */
  readonly #sent = new Map<string, number>();
  #delivered = 0;
  readonly #rate = new RateMeter();
  #lastReported = -1;

  constructor(contentId: string, name: string, size: number, peers: readonly string[], listener: (p: PushProgress) => void) {
    this.#contentId = contentId;
    this.#name = name;
    this.#size = size;
    this.#listener = listener;
    for (const p of peers) this.#sent.set(p, 0);
  }

  /** This node served `bytes` of the file to `peer`. */
  sent(peer: string, bytes: number): void {
    const before = this.#sent.get(peer);
    if (before === undefined) return;
    this.#sent.set(peer, before + bytes);
    this.#rate.add(bytes);
  }

  /** `peer` answered: it holds the file (`delivered`), or refused it or left. */
  ended(peer: string, delivered: boolean): void {
    if (!this.#sent.delete(peer)) return;
    if (delivered) this.#delivered++;
  }

  tick(): void {
    this.#rate.update();
    const done = this.#bytesDone();
    if (done === this.#lastReported && this.#rate.rate === 0) return;
    this.#lastReported = done;
    this.#emit(false);
  }

  /** The push ended: every receiver answered or left, or it was aborted or failed. */
  finish(): void {
    this.#emit(true);
  }

  #bytesDone(): number {
    let n = this.#delivered * this.#size;
    for (const bytes of this.#sent.values()) n += Math.min(this.#size, bytes);
    return n;
  }

  #emit(done: boolean): void {
    const bytesDone = this.#bytesDone();
    const total = (this.#delivered + this.#sent.size) * this.#size;
    const etaMs = this.#rate.etaMs(total - bytesDone);
    try {
      this.#listener({ contentId: this.#contentId, name: this.#name, bytesDone, total, rate: this.#rate.rate, peers: this.#sent.size, delivered: this.#delivered, etaMs, done });
    } catch {
      // A listener's failure is its own; the push carries on.
    }
  }
}
