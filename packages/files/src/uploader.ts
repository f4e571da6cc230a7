/**
 * Serving chunks: each neighbour's requests wait in a queue of their own
 * (at most `MAX_QUEUED_REQUESTS`; more are refused), answered in order:
 * read a run of consecutive blocks from disk (at most `RUN_BYTES`), send
 * them, and wait for the transport to take them before the next run is sent
 * (the send's promise is the back-pressure), the next run read meanwhile.
 * So memory per neighbour is two runs, and a neighbour that reads slowly
 * slows only its own queue. An optional node-wide upload rate paces every
 * queue.
 */

import { now as nowMs } from "@xppg/errors";
import { MAX_QUEUED_REQUESTS, MAX_UPLOAD_STATS, MESSAGE_OVERHEAD } from "./constants.js";
import type { Content } from "./content.js";
import { violation } from "./errors.js";
import type { FilesHost } from "./host.js";
import { chunkLength } from "./manifest.js";
import { DATA_HEADER, MSG, allocData, encodeSlot, setDataHeader } from "./wire.js";

/** Most bytes of consecutive blocks read in one call and sent together. */
const RUN_BYTES = 1024 * 1024;

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
  #refilledAt = nowMs();
  /** Bytes sent, per neighbour (for stats and tests): the `MAX_UPLOAD_STATS` served most lately, in that order. */
  readonly sent = new Map<string, number>();

  readonly #onSent: (peer: string, cid: string, bytes: number) => void;

  /** `onSent`: told of the bytes of each block once the transport took them. */
  constructor(host: FilesHost, content: (cid: string) => Content | undefined, uploadBytesPerSecond: number, onSent: (peer: string, cid: string, bytes: number) => void = () => {}) {
    this.#onSent = onSent;
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
   * Answers a queue in order, a run at a time: consecutive blocks of one
   * content at the queue's head (a downloader asks for its chunks in runs)
   * are read with one call and sent back to back, so the channel packs them
   * into full records. The next run comes off the disk (on the thread pool)
   * while this one is sent, so the loop never waits for the disk between two.
   */
  async #serve(peer: string, queue: Request[]): Promise<void> {
    // The buffers of two runs, taken in turn: the host copies a message before `send` resolves.
    const spare: Uint8Array[] = [];
    let next: { run: Request[]; messages: Promise<Uint8Array[] | undefined> } | undefined;
    try {
      for (;;) {
        // Requests that came while the last run was sent are in the queue now.
        const run = next?.run ?? this.#take(queue);
        if (run === undefined) break;
        const messages = await (next?.messages ?? this.#load(peer, run, spare));
        const ahead = this.#take(queue);
        next = ahead === undefined ? undefined : { run: ahead, messages: this.#load(peer, ahead, spare) };
        if (messages === undefined) continue;
        await Promise.all(messages.map((m) => this.#host.send(peer, m)));
        spare.push(...messages);
        for (const r of run) {
          this.#count(peer, r.length);
          this.#onSent(peer, r.cid, r.length);
        }
      }
    } catch {
      // The neighbour is gone; `left` drops its queue.
    } finally {
      if (this.#queues.get(peer) === queue) this.#queues.delete(peer);
    }
  }

  /** The request at the queue's head and those right after it that continue it in the same file (at most `RUN_BYTES`). */
  #take(queue: Request[]): Request[] | undefined {
    const first = queue.shift();
    if (first === undefined) return undefined;
    const run = [first];
    const chunkSize = this.#content(first.cid)?.manifest.chunkSize ?? 0;
    let end = first.index * chunkSize + first.offset + first.length;
    let bytes = first.length;
    for (let r = queue[0]; r !== undefined && r.cid === first.cid && r.index * chunkSize + r.offset === end && bytes + r.length <= RUN_BYTES; r = queue[0]) {
      run.push(queue.shift()!);
      end += r.length;
      bytes += r.length;
    }
    return run;
  }

  /** Reads a run into `DATA` messages (spare buffers when they fit); undefined when it cannot be served (rejects are sent). */
  async #load(peer: string, run: Request[], spare: Uint8Array[]): Promise<Uint8Array[] | undefined> {
    const first = run[0]!;
    const content = this.#content(first.cid);
    if (content === undefined) return undefined;
    await this.#pace(run.reduce((n, r) => n + r.length, 0));
    const messages = run.map((r) => {
      const old = spare.pop();
      const buf = old !== undefined && old.buffer.byteLength >= DATA_HEADER + r.length ? new Uint8Array(old.buffer, 0, old.buffer.byteLength) : allocData(r.cid, r.index, r.offset, r.length);
      const bytes = buf.subarray(0, DATA_HEADER + r.length);
      setDataHeader(bytes, r.cid, r.index, r.offset);
      return bytes;
    });
    try {
      await content.read(first.index * content.manifest.chunkSize + first.offset, messages.map((m) => m.subarray(DATA_HEADER)));
      return messages;
    } catch {
      spare.push(...messages);
      for (const r of run) void this.#host.send(peer, encodeSlot(MSG.REJECT, r.cid, r.index, r.offset)).catch(() => {});
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
      const now = nowMs();
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
