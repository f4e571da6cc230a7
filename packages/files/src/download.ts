/**
 * One download: find the manifest, then fetch chunks from every neighbour
 * that has them. Each source gets a number of requests in flight that grows
 * with its measured rate (faster peers get more); the rarest chunks go
 * first; a request that outlives its deadline is cancelled and its chunk
 * goes to another source (the slow one gets fewer slots); near the end an
 * idle source may fetch a chunk still in flight elsewhere. Every chunk is
 * hashed before it is written; a source that sends a wrong one is
 * penalised and dropped from the download.
 */

import { now as nowMs } from "@xppg/errors";
import { createHash } from "node:crypto";
import { ENDGAME_SHARE, MAX_PENDING_WRITES, MESSAGE_OVERHEAD } from "./constants.js";
import { Sources } from "./download-sources.js";
import { FILES_ERROR_CODES, FilesError, violation } from "./errors.js";
import { ManifestFetch } from "./manifest-fetch.js";
import { chunkHash, chunkLength, type Manifest } from "./manifest.js";
import { PartialFile } from "./partial-file.js";
import type { DownloadHooks, DownloadHost, DownloadResult, DownloadTunings, Req, Source } from "./download-types.js";
import { Progress } from "./progress.js";
import { safeFileName } from "./safe-name.js";
import { MSG, encodeBare, encodeRequest, encodeSlot } from "./wire.js";

/** A source is topped up once `slots >> REFILL_SHIFT` of its slots are free (a quarter). */
const REFILL_SHIFT = 2;

export type { DownloadHooks, DownloadHost, DownloadResult, DownloadTunings };

export class Download {
  readonly contentId: string;
  readonly dir: string;
  manifest: Manifest | undefined;
  file: PartialFile | undefined;
  readonly done: Promise<DownloadResult>;
  readonly #host: DownloadHost;
  readonly #t: DownloadTunings;
  readonly #sources = new Sources();
  readonly #requests = new Map<number, Req[]>();
  readonly #manifestFetch: ManifestFetch;
  #resolve!: (r: DownloadResult) => void;
  #reject!: (e: Error) => void;
  #finished = false;
  /** The partial file being opened: a failure waits for it, so nothing is created on disk after the download ended. */
  #opening: Promise<unknown> | undefined;
  /** Verified chunks on their way to the disk. */
  readonly #writing = new Set<number>();
  /** Chunk buffers for reuse: a download's memory stays a few chunks, however large the file. */
  readonly #pool: Buffer[] = [];
  #fetched = 0;
  #rejected = 0;
  #lastUsefulAt = nowMs();
  #lastTickAt = nowMs();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #progress: Progress;
  readonly #stopSignal: () => void;
  readonly #onChunk: ((index: number, from: string) => void) | undefined;
  readonly #accept: DownloadHooks["accept"];

  constructor(contentId: string, dir: string, host: DownloadHost, t: DownloadTunings, hooks: DownloadHooks) {
    const { onProgress, onChunk, signal, accept } = hooks;
    this.#onChunk = onChunk;
    this.#accept = accept;
    this.contentId = contentId;
    this.dir = dir;
    this.#host = host;
    this.#t = t;
    this.#progress = new Progress(contentId, onProgress);
    this.#manifestFetch = new ManifestFetch({
      contentId,
      maxMessageSize: host.maxMessageSize,
      maxFileSize: t.maxFileSize,
      requestTimeoutMs: t.requestTimeoutMs,
      send: (peer, bytes) => host.send(peer, bytes),
      invalid: (peer, why) => {
        this.#misbehaved(peer, new FilesError(FILES_ERROR_CODES.INVALID_MANIFEST, `The peer ${peer} sent an invalid manifest for ${contentId} (${why}). It is dropped; another peer is asked.`, { details: { peerId: peer } }));
        this.#askManifest();
      },
      got: (manifest) => void this.useManifest(manifest),
      fail: (error) => void this.fail(error),
    });
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setInterval(() => this.#tick(), 200);
    const onAbort = (): void => void this.fail(new FilesError(FILES_ERROR_CODES.ABORTED, `download(${contentId}) was aborted by its signal. The verified part is kept: download it again to resume.`, { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#stopSignal = () => signal?.removeEventListener("abort", onAbort);
  }

  /** Starts from a manifest already known (this node's sidecar, or given). */
  async useManifest(manifest: Manifest): Promise<void> {
    if (this.manifest !== undefined || this.#finished) return;
    this.manifest = manifest;
    this.#manifestFetch.stop();
    const refusal = this.#accept?.(manifest);
    if (refusal !== undefined) {
      return this.fail(new FilesError(FILES_ERROR_CODES.REFUSED, `Refused "${manifest.name.slice(0, 100)}" (${this.contentId}): ${refusal}. Nothing was written.`, { details: { contentId: this.contentId, reason: refusal } }));
    }
    try {
      const opening = PartialFile.open(manifest, this.dir, this.#t.maxFileSize);
      this.#opening = opening.catch(() => {});
      this.file = await opening;
    } catch (error) {
      return this.fail(error as Error);
    }
    if (this.#finished) {
      await this.file.close();
      return;
    }
    for (const s of this.#sources.start(manifest.chunkCount)) this.#misbehaved(s.id, violation(s.id, "a bitfield of the wrong size"));
    this.#progress.start(manifest.size, this.file.have.count, manifest.chunkSize, manifest.name);
    this.#host.ready(this);
    // An empty file has one empty chunk: nothing to fetch, only its hash to check.
    if (manifest.size === 0 && createHash("sha256").digest().equals(chunkHash(manifest, 0))) await this.file.write(0, new Uint8Array(0)).catch(() => {});
    if (this.file.have.complete) return this.#finish();
    this.#fill();
  }

  /** True when `peer` announced every chunk: it wants nothing from this node, so it is told of no new one. */
  holdsAll(peer: string): boolean {
    return this.#sources.get(peer)?.bits?.complete === true;
  }

  get finished(): boolean {
    return this.#finished;
  }

  onBitfield(peer: string, size: number, bits: Uint8Array): void {
    if (this.#sources.banned.has(peer) || this.#finished) return;
    if (this.manifest !== undefined && size !== this.manifest.chunkCount) return this.#misbehaved(peer, violation(peer, `a bitfield of ${size} chunks for ${this.manifest.chunkCount}`));
    this.#sources.setBits(this.#sources.source(peer), size, bits);
    if (this.manifest === undefined) this.#askManifest();
    else this.#fill();
  }

  onHave(peer: string, index: number): void {
    if (this.#sources.banned.has(peer) || this.#finished) return;
    const s = this.#sources.get(peer);
    if (s?.bits === undefined) return;
    if (index >= s.bits.size) return this.#misbehaved(peer, violation(peer, `a have of chunk ${index} of ${s.bits.size}`));
    if (this.#sources.have(s, index) && this.manifest !== undefined) this.#fill();
  }

  onManifest(peer: string, offset: number, total: number, data: Uint8Array): void {
    if (this.manifest === undefined && !this.#finished) this.#manifestFetch.onPiece(peer, offset, total, data);
  }

  onData(peer: string, index: number, offset: number, data: Uint8Array): void {
    const s = this.#sources.get(peer);
    const req = s?.inflight.get(index);
    // A block of a cancelled or timed-out request: too late, dropped.
    if (s === undefined || req === undefined || this.manifest === undefined) return;
    const block = this.#blockSize();
    const len = chunkLength(this.manifest, index);
    const slot = offset / block;
    if (!Number.isInteger(slot) || offset >= len || req.seen[slot] === 1 || data.length !== Math.min(block, len - offset)) {
      return this.#penalise(peer, index, `a block of ${data.length} bytes at ${offset} of chunk ${index}, which was not asked for`);
    }
    // A chunk in one block of a stable message is hashed and written from where it lies; blocks are copied into the chunk's buffer.
    req.buf?.set(data, offset);
    req.seen[slot] = 1;
    req.got++;
    s.bytesThisTick += data.length;
    if (req.got < req.seen.length) return;
    s.inflight.delete(index);
    this.#dropRequest(req);
    const chunk = req.buf ?? data;
    if (!createHash("sha256").update(chunk).digest().equals(chunkHash(this.manifest, index))) {
      this.#release(req.buf);
      return this.#penalise(peer, index, `chunk ${index}, whose hash does not match the manifest`);
    }
    s.slow = Math.max(0, s.slow - 1);
    this.#sources.delivered(s);
    // Other sources still fetching this chunk can stop.
    for (const other of this.#requests.get(index) ?? []) this.#cancel(other);
    this.#requests.delete(index);
    if (this.file!.have.has(index) || this.#writing.has(index)) {
      this.#release(req.buf);
      return this.#fill();
    }
    s.chunks++;
    this.#fetched++;
    void this.#write(index, chunk, req.buf, peer);
    this.#fill();
  }

  onReject(peer: string, index: number): void {
    const s = this.#sources.get(peer);
    const req = s?.inflight.get(index);
    if (s === undefined || req === undefined) return;
    // It announced a chunk it will not send (not held, or too busy): ask it no more for that one.
    s.inflight.delete(index);
    this.#dropRequest(req);
    this.#release(req.buf);
    this.#sources.refused(s, index, nowMs());
    s.slow = Math.min(4, s.slow + 1);
    this.#fill();
  }

  peerLeft(peer: string): void {
    const s = this.#sources.get(peer);
    if (s === undefined) return;
    this.#removeSource(s);
    if (this.#manifestFetch.peer === peer) {
      this.#manifestFetch.stop();
      this.#askManifest();
    }
    this.#fill();
  }

  /** Ends the download with `error`, keeping the verified part on disk. */
  async fail(error: Error): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#end();
    // A cancel that comes while the partial file is being opened must not leave a file created after it.
    await this.#opening;
    await this.file?.close();
    this.#reject(error);
  }

  #end(): void {
    clearInterval(this.#timer);
    this.#stopSignal();
    for (const s of this.#sources.values()) for (const r of s.inflight.values()) this.#cancel(r);
    this.#requests.clear();
  }

  /** Writes a verified chunk; `own` is its buffer (reused once written), undefined for a view of the message it came in. */
  async #write(index: number, data: Uint8Array, own: Buffer | undefined, from: string): Promise<void> {
    this.#writing.add(index);
    try {
      await this.file!.write(index, data);
    } catch (error) {
      return this.fail(error as Error);
    } finally {
      this.#writing.delete(index);
      this.#release(own);
    }
    if (this.#finished) return;
    this.#lastUsefulAt = nowMs();
    this.#progress.add(data.length);
    this.#host.gained(this, index);
    this.#onChunk?.(index, from);
    if (this.file!.have.complete && this.#writing.size === 0) return this.#finish();
    this.#fill();
  }

  async #finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#end();
    const m = this.manifest!;
    try {
      const path = await this.file!.finish();
      this.#progress.finish(this.#sources.withChunks);
      const sources: Record<string, number> = {};
      for (const s of this.#sources.values()) if (s.chunks > 0) sources[s.id] = s.chunks;
      this.#resolve({ contentId: this.contentId, name: safeFileName(m.name), size: m.size, path, resumedChunks: this.file!.resumed, fetchedChunks: this.#fetched, sources, rejectedChunks: this.#rejected });
    } catch (error) {
      this.#reject(error as Error);
    }
  }

  #removeSource(s: Source): void {
    for (const r of s.inflight.values()) {
      this.#dropRequest(r);
      this.#release(r.buf);
    }
    s.inflight.clear();
    this.#sources.clearBits(s);
    // Keep its count of chunks for the result; it is no longer asked.
  }

  #misbehaved(peer: string, error: FilesError): void {
    this.#sources.banned.add(peer);
    const s = this.#sources.get(peer);
    if (s !== undefined) this.#removeSource(s);
    this.#host.misbehaved(peer, error);
    this.#fill();
  }

  #penalise(peer: string, index: number, what: string): void {
    this.#rejected++;
    this.#misbehaved(peer, new FilesError(FILES_ERROR_CODES.BAD_CHUNK, `The peer ${peer} sent ${what} for ${this.contentId}. It was refused and the peer dropped; the chunk is fetched from another.`, { details: { peerId: peer, index } }));
  }

  /** Asks a source for the manifest: the first, or the one after `after` (which was too slow), in turn. */
  #askManifest(after?: string): void {
    if (this.manifest !== undefined || this.#manifestFetch.active || this.#finished) return;
    const holders = [...this.#sources.values()].filter((x) => x.bits !== undefined && !this.#sources.banned.has(x.id));
    const s = holders[(holders.findIndex((x) => x.id === after) + 1) % holders.length];
    if (s !== undefined) this.#manifestFetch.ask(s.id);
  }

  #blockSize(): number {
    return Math.min(this.manifest!.chunkSize, this.#host.maxMessageSize - MESSAGE_OVERHEAD);
  }

  #slots(s: Source): number {
    const chunk = this.manifest!.chunkSize;
    const base = s.rate > 0 ? Math.ceil((s.rate * 0.3) / chunk) + 1 : 4;
    return Math.max(1, Math.min(this.#t.maxInFlightPerPeer, base) >> s.slow);
  }

  /**
   * Hands out requests: faster sources first, each up to its slots. A source
   * with many slots is topped up only once a quarter of them are free, so
   * that its requests leave together (one bundle, one write to the socket)
   * rather than one after each chunk that arrives.
   */
  #fill(): void {
    if (this.#finished || this.file === undefined || this.#writing.size >= MAX_PENDING_WRITES) return;
    const sources = [...this.#sources.values()].filter((s) => s.bits !== undefined).sort((a, b) => b.rate - a.rate);
    for (const s of sources) {
      const slots = this.#slots(s);
      if (s.inflight.size > slots - Math.max(1, slots >> REFILL_SHIFT)) continue;
      while (s.inflight.size < slots) {
        const cursor = s.cursor;
        const index = this.#pick(s);
        if (index < 0) break;
        if (!this.#host.pace(s.id, chunkLength(this.manifest!, index))) {
          // Asked of it as fast as this node takes from it: the chunk waits for the next fill (the tick's, at the latest).
          s.cursor = cursor;
          break;
        }
        this.#request(s, index);
      }
    }
  }

  /**
   * The rarest missing chunk `s` has that nobody is fetching, the first such
   * after the last one asked of it (a random place the first time): a
   * source's chunks go in runs, each downloader starting elsewhere, so
   * downloaders still hold different parts to trade. Else (endgame) one
   * fetched too long elsewhere; else -1.
   */
  #pick(s: Source): number {
    const have = this.file!.have;
    const n = have.size;
    if (s.cursor < 0) s.cursor = Math.floor(Math.random() * n);
    const start = s.cursor;
    let best = -1;
    let bestAvail = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (have.has(i) || this.#requests.has(i) || this.#writing.has(i) || !s.bits!.has(i)) continue;
      const a = this.#sources.availability(i);
      if (a < bestAvail) {
        best = i;
        bestAvail = a;
        if (a <= 1) break;
      }
    }
    if (best >= 0) {
      s.cursor = (best + 1) % n;
      return best;
    }
    const now = nowMs();
    for (const [i, reqs] of this.#requests) {
      if (reqs.length >= 2 || s.inflight.has(i) || !s.bits!.has(i)) continue;
      const r = reqs[0]!;
      const other = this.#sources.get(r.peer);
      if (now - r.startedAt > (r.deadline - r.startedAt) * ENDGAME_SHARE || (other !== undefined && s.rate > 2 * other.rate)) return i;
    }
    return -1;
  }

  #request(s: Source, index: number): void {
    const len = chunkLength(this.manifest!, index);
    const block = this.#blockSize();
    const now = nowMs();
    const expectedMs = s.rate > 0 ? ((s.inflight.size + 1) * len * 1000) / s.rate : 0;
    const timeout = Math.min(Math.max(4 * expectedMs, this.#t.requestTimeoutMs), 60_000);
    // A chunk that comes in one block of a stable message needs no buffer of its own (see onData).
    const whole = len <= block && this.#host.stableMessages;
    const buf = whole ? undefined : len === this.manifest!.chunkSize ? (this.#pool.pop() ?? Buffer.allocUnsafe(len)) : Buffer.allocUnsafe(len);
    const req: Req = { peer: s.id, index, buf, seen: new Uint8Array(Math.ceil(len / block)), got: 0, startedAt: now, deadline: now + timeout };
    s.inflight.set(index, req);
    const list = this.#requests.get(index);
    if (list === undefined) this.#requests.set(index, [req]);
    else list.push(req);
    for (let off = 0; off < len; off += block) this.#host.send(s.id, encodeRequest(this.contentId, index, off, Math.min(block, len - off)));
  }

  #dropRequest(req: Req): void {
    const list = this.#requests.get(req.index);
    if (list === undefined) return;
    const at = list.indexOf(req);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#requests.delete(req.index);
  }

  #release(buf: Buffer | undefined): void {
    if (buf !== undefined && this.manifest !== undefined && buf.length === this.manifest.chunkSize && this.#pool.length < 64) this.#pool.push(buf);
  }

  #cancel(req: Req): void {
    this.#sources.get(req.peer)?.inflight.delete(req.index);
    this.#dropRequest(req);
    this.#release(req.buf);
    const block = this.manifest === undefined ? 1 : this.#blockSize();
    for (let slot = 0; slot < req.seen.length; slot++) if (req.seen[slot] === 0) this.#host.send(req.peer, encodeSlot(MSG.CANCEL, this.contentId, req.index, slot * block));
  }

  #tick(): void {
    const now = nowMs();
    const dt = (now - this.#lastTickAt) / 1000;
    this.#lastTickAt = now;
    for (const s of this.#sources.values()) {
      if (s.inflight.size > 0 || s.bytesThisTick > 0) {
        const sample = s.bytesThisTick / Math.max(dt, 0.05);
        s.rate = s.rate === 0 ? sample : 0.7 * s.rate + 0.3 * sample;
      }
      s.bytesThisTick = 0;
      for (const r of [...s.inflight.values()]) {
        if (now < r.deadline) continue;
        // Too slow: cancelled here, fetched elsewhere; the source gets fewer slots.
        this.#cancel(r);
        s.slow = Math.min(4, s.slow + 1);
      }
    }
    const late = this.#manifestFetch.expired(now);
    if (late !== undefined) {
      // Too slow to send the manifest: the next peer is asked. What it holds stays known: it would not say so again.
      this.#askManifest(late);
    }
    // A source that refused a chunk it announced is asked what it holds now (bounded: see download-sources.ts).
    for (const s of this.#sources.dueForRefresh(now)) this.#host.send(s.id, encodeBare(MSG.WANT, this.contentId));
    if (this.#useful()) this.#lastUsefulAt = now;
    else if (now - this.#lastUsefulAt > this.#t.findTimeoutMs) {
      void this.fail(new FilesError(FILES_ERROR_CODES.NOT_FOUND, `No connected peer has sent what is missing of ${this.contentId} for ${this.#t.findTimeoutMs} ms. The verified part is kept: join a peer that has it and download it again to resume.`, { details: { contentId: this.contentId } }));
      return;
    }
    this.#fill();
    if (this.file !== undefined) this.#progress.tick(this.#sources.withChunks);
  }

  /** True while some source can give what is missing (or a request or the manifest is on its way). */
  #useful(): boolean {
    if (this.#manifestFetch.active || this.#requests.size > 0 || this.#writing.size > 0) return true;
    if (this.file === undefined) return false;
    const have = this.file.have;
    return this.#sources.hasAnyOf(have.size, (i) => !have.has(i) && !this.#writing.has(i));
  }
}
