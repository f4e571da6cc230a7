/**
 * Serving chunks: each neighbour's requests wait in a queue of their own
 * (at most `MAX_QUEUED_REQUESTS`; more are refused), answered in order:
 * read the block from disk, send it, and wait for the transport to take it
 * before the next is sent (the send's promise is the back-pressure), the
 * next block read meanwhile. So memory per neighbour is two blocks, and a
 * neighbour that reads slowly slows only its own queue. An optional
 * node-wide upload rate paces every queue.
 */

import { MAX_QUEUED_REQUESTS, MAX_UPLOAD_STATS, MESSAGE_OVERHEAD } from "./constants.js";
import type { Content } from "./content.js";
import { violation } from "./errors.js";
import type { FilesHost } from "./host.js";
import { chunkLength } from "./manifest.js";
import { DATA_HEADER, MSG, allocData, encodeSlot, setDataHeader } from "./wire.js";

interface Request {
  cid: string;
  index: number;
  offset: number;
  length: number;
}

export class Uploader {
  readonly #host: FilesHost;
  readonly #content: (cid: string) => Content | undefined;
  readonly #queues = new Map<string, Request[]>();
  readonly #rate: number;
  #tokens: number;
  #refilledAt = performance.now();
  /** Bytes sent, per neighbour (for stats and tests): the `MAX_UPLOAD_STATS` served most lately, in that order. */
  readonly sent = new Map<string, number>();

  constructor(host: FilesHost, content: (cid: string) => Content | undefined, uploadBytesPerSecond: number) {
    this.#host = host;
    this.#content = content;
    this.#rate = uploadBytesPerSecond;
    this.#tokens = uploadBytesPerSecond;
  }

  /** A request from `peer`; throws a violation for a range no honest peer asks for. */
  request(peer: string, r: Request): void {
    const content = this.#content(r.cid);
    const maxBlock = this.#host.maxMessageSize - MESSAGE_OVERHEAD;
    // A block over this node's own message limit is refused like one it lacks (the asker's limit may be larger).
    if (content === undefined || !content.have.has(r.index) || r.length > maxBlock) {
      void this.#host.send(peer, encodeSlot(MSG.REJECT, r.cid, r.index, r.offset)).catch(() => {});
      return;
    }
    if (r.length === 0 || r.offset + r.length > chunkLength(content.manifest, r.index)) {
      throw violation(peer, `a request for ${r.length} bytes at ${r.offset} of chunk ${r.index}`);
    }
    let queue = this.#queues.get(peer);
    if (queue !== undefined && queue.length >= MAX_QUEUED_REQUESTS) {
      void this.#host.send(peer, encodeSlot(MSG.REJECT, r.cid, r.index, r.offset)).catch(() => {});
      return;
    }
    if (queue === undefined) {
      queue = [];
      this.#queues.set(peer, queue);
      queue.push(r);
      void this.#serve(peer, queue);
      return;
    }
    queue.push(r);
  }

  cancel(peer: string, cid: string, index: number, offset: number): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    const at = queue.findIndex((r) => r.cid === cid && r.index === index && r.offset === offset);
    if (at >= 0) queue.splice(at, 1);
  }

  /** The neighbour left: its queue is dropped. */
  left(peer: string): void {
    const queue = this.#queues.get(peer);
    if (queue !== undefined) queue.length = 0;
    this.#queues.delete(peer);
  }

  /**
   * Answers a queue in order, reading one block ahead: the next block comes
   * off the disk (on the thread pool) while this one is encrypted and sent,
   * so the sender's loop never waits for the disk between two blocks.
   */
  async #serve(peer: string, queue: Request[]): Promise<void> {
    // Two buffers per queue, taken in turn: the host copies a message before `send` resolves.
    const spare: Uint8Array[] = [];
    let next: { r: Request; bytes: Promise<Uint8Array | undefined> } | undefined;
    try {
      for (;;) {
        // Requests that came while the last block was sent are in the queue now.
        const r = next?.r ?? queue.shift();
        if (r === undefined) break;
        const bytes = await (next?.bytes ?? this.#load(peer, r, spare));
        const ahead = queue.shift();
        next = ahead === undefined ? undefined : { r: ahead, bytes: this.#load(peer, ahead, spare) };
        if (bytes === undefined) continue;
        await this.#host.send(peer, bytes);
        spare.push(bytes);
        this.#count(peer, r.length);
      }
    } catch {
      // The neighbour is gone; `left` drops its queue.
    } finally {
      if (this.#queues.get(peer) === queue) this.#queues.delete(peer);
    }
  }

  /** Reads a requested block into a `DATA` message (a spare buffer when one fits); undefined when it cannot be served (a reject is sent). */
  async #load(peer: string, r: Request, spare: Uint8Array[]): Promise<Uint8Array | undefined> {
    const content = this.#content(r.cid);
    if (content === undefined) return undefined;
    await this.#pace(r.length);
    const old = spare.pop();
    const buf = old !== undefined && old.buffer.byteLength >= DATA_HEADER + r.length ? new Uint8Array(old.buffer, 0, old.buffer.byteLength) : allocData(r.cid, r.index, r.offset, r.length);
    const bytes = buf.subarray(0, DATA_HEADER + r.length);
    setDataHeader(bytes, r.cid, r.index, r.offset);
    try {
      await content.read(r.index, r.offset, r.length, bytes, DATA_HEADER);
      return bytes;
    } catch {
      void this.#host.send(peer, encodeSlot(MSG.REJECT, r.cid, r.index, r.offset)).catch(() => {});
      return undefined;
    }
  }

  /** Adds to a neighbour's count, moving it last; the neighbour served longest ago goes past `MAX_UPLOAD_STATS` (many short visits must not grow the map). */
  #count(peer: string, bytes: number): void {
    const before = this.sent.get(peer) ?? 0;
    this.sent.delete(peer);
    this.sent.set(peer, before + bytes);
    if (this.sent.size > MAX_UPLOAD_STATS) this.sent.delete(this.sent.keys().next().value!);
  }

  /** Waits until the node-wide upload rate allows `bytes` more. */
  async #pace(bytes: number): Promise<void> {
    if (!(this.#rate > 0 && Number.isFinite(this.#rate))) return;
    for (;;) {
      const now = performance.now();
      this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
      this.#refilledAt = now;
      if (this.#tokens >= Math.min(bytes, this.#rate)) {
        this.#tokens -= bytes;
        return;
      }
      const waitMs = ((Math.min(bytes, this.#rate) - this.#tokens) / this.#rate) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, waitMs)));
    }
  }
}
