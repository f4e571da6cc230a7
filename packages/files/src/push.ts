/**
 * Pushing a file to neighbours (capability `files-push/1` of `@xppg/node`):
 * the sender shares it and offers its content id (`offer`); each receiver
 * downloads it the swarm way into its own folder (verified chunks, from every
 * neighbour that has them, resumable) and answers `offer-end` with done or
 * its reason for refusing. The sender may cancel (`offer-end` cancelled):
 * the receiver stops and deletes the partial download.
 */

import { createHash, type Hash } from "node:crypto";
import type { DownloadResult } from "./download-types.js";
import { FILES_ERROR_CODES, FilesError } from "./errors.js";
import type { Manifest } from "./manifest.js";
import { removePartial } from "./partial-file.js";
import { PushMeter, type PushProgress } from "./push-progress.js";
import { safeFileName } from "./safe-name.js";
import { MSG, OFFER_STATUS, encodeBare, encodeOfferEnd } from "./wire.js";

/** How this node takes files pushed to it (the `pushes` option of a `FileSwarm`); without it every push is refused. */
export interface PushReceiver {
  /** The folder pushed files go to. */
  readonly dir: string;
  /**
   * Most pushes from one neighbour at once; more are refused.
   * @default 4
   */
  readonly maxPerPeer?: number;
  /**
   * Whether this neighbour may push at all, asked before anything is fetched
   * (the node: only a peer that settled `files-push/1`); false ignores its
   * offers without an answer. @default every neighbour may
   */
  allowedFrom?(peer: string): boolean;
  /** Decides on a push once its manifest is known, before anything is written: undefined takes it, a sentence refuses it. */
  accept?(offer: { from: string; manifest: Manifest }): string | undefined;
  /** A pushed file is whole, verified, under its name; the sender is told once this settles. */
  received(from: string, result: DownloadResult): void | Promise<void>;
  /** A push was refused or failed (the sender is told why). */
  failed(from: string, error: FilesError, contentId: string): void;
}

/** What `push` resolves with. */
export interface PushResult {
  contentId: string;
  name: string;
  size: number;
  /** Hex SHA-256 of the whole file (read once, with the manifest). */
  sha256: string;
  /** The neighbours that now hold the whole file. */
  delivered: string[];
  /** Why each of the others does not (it refused, failed or left). */
  refusals: Map<string, string>;
}

/** What pushes need from their swarm. */
export interface PushHost {
  send(peer: string, bytes: Uint8Array): void;
  /** Sends, rejecting when the neighbour is gone. */
  sendOrFail(peer: string, bytes: Uint8Array): Promise<void>;
  share(path: string, signal: AbortSignal | undefined, whole: Hash): Promise<{ contentId: string; name: string; size: number }>;
  /** The push is done with a content it shared (unshared unless the user shares it too, or another push still runs). */
  release(contentId: string): Promise<void>;
  download(contentId: string, options: { dir: string; signal: AbortSignal; accept: (m: Manifest) => string | undefined }): Promise<DownloadResult>;
}

/** A push counts a receiver silent this long about the file (no request, no answer) as refusing it. */
export const PUSH_SILENCE_MS = 300_000;

interface Outgoing {
  contentId: string;
  heard(peer: string): void;
  /** This node served `bytes` of the content to `peer`. */
  sent(peer: string, bytes: number): void;
  end(peer: string, status: number, reason: string): void;
  close(error: FilesError): void;
}

interface Incoming {
  from: string;
  contentId: string;
  control: AbortController;
  cancelled: boolean;
  name?: string;
}

export class Pushes {
  readonly #host: PushHost;
  readonly #receiver: PushReceiver | undefined;
  readonly #out = new Set<Outgoing>();
  readonly #in = new Map<string, Incoming>();

  constructor(host: PushHost, receiver: PushReceiver | undefined) {
    this.#host = host;
    this.#receiver = receiver;
  }

  /** Shares `path`, offers it to `peers` and resolves once each holds it, refused it or left; `onProgress` hears how far they are. */
  async push(path: string, peers: readonly string[], signal?: AbortSignal, onProgress?: (p: PushProgress) => void): Promise<PushResult> {
    const whole = createHash("sha256");
    const shared = await this.#host.share(path, signal, whole);
    const sha256 = whole.digest("hex");
    const delivered: string[] = [];
    const refusals = new Map<string, string>();
    const pending = new Set(peers);
    // When each receiver was last heard of about this file (any files message naming it): one silent for
    // PUSH_SILENCE_MS is counted as refusing, so a receiver that never answers cannot hold the push open.
    const heard = new Map(peers.map((p) => [p, Date.now()]));
    let watch: ReturnType<typeof setInterval> | undefined;
    const meter = onProgress === undefined ? undefined : new PushMeter(shared.contentId, shared.name, shared.size, peers, onProgress);
    const ticks = meter === undefined ? undefined : setInterval(() => meter.tick(), 200);
    ticks?.unref?.();
    let out: Outgoing | undefined;
    let stopSignal = (): void => {};
    try {
      await new Promise<void>((resolve, reject) => {
        out = {
          contentId: shared.contentId,
          heard: (peer) => void (heard.has(peer) && heard.set(peer, Date.now())),
          sent: (peer, bytes) => meter?.sent(peer, bytes),
          end: (peer, status, reason) => {
            if (!pending.delete(peer)) return;
            meter?.ended(peer, status === OFFER_STATUS.DONE);
            if (status === OFFER_STATUS.DONE) delivered.push(peer);
            else refusals.set(peer, reason);
            if (pending.size === 0) resolve();
          },
          close: reject,
        };
        const onAbort = (): void => {
          for (const peer of pending) this.#host.send(peer, encodeOfferEnd(shared.contentId, OFFER_STATUS.CANCELLED, "the sender cancelled it"));
          reject(new FilesError(FILES_ERROR_CODES.ABORTED, `push("${path}") was aborted by its signal; the receivers stop and discard what they got.`, { cause: signal?.reason }));
        };
        if (signal?.aborted === true) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        stopSignal = () => signal?.removeEventListener("abort", onAbort);
        this.#out.add(out);
        if (pending.size === 0) return resolve();
        watch = setInterval(() => {
          for (const peer of [...pending]) {
            if (Date.now() - (heard.get(peer) ?? 0) > PUSH_SILENCE_MS) out!.end(peer, OFFER_STATUS.REFUSED, `${peer} did not answer for ${PUSH_SILENCE_MS / 1000} s`);
          }
        }, Math.min(5_000, PUSH_SILENCE_MS / 2));
        watch.unref?.();
        // A neighbour that left while the file was read hears nothing: it is counted as gone, not waited for.
        for (const peer of [...pending]) this.#host.sendOrFail(peer, encodeBare(MSG.OFFER, shared.contentId)).catch(() => out!.end(peer, OFFER_STATUS.REFUSED, `${peer} left before it held the whole file`));
      });
    } finally {
      clearInterval(watch);
      clearInterval(ticks);
      // The last event, `done`, on every way out: delivered, refused, aborted or failed.
      meter?.finish();
      stopSignal();
      if (out !== undefined) this.#out.delete(out);
      await this.#host.release(shared.contentId);
    }
    return { contentId: shared.contentId, name: shared.name, size: shared.size, sha256, delivered, refusals };
  }

  /** A neighbour sent a files message naming `contentId`: a push of it to that neighbour is alive. */
  heard(peer: string, contentId: string): void {
    for (const o of this.#out) if (o.contentId === contentId) o.heard(peer);
  }

  /** This node served `bytes` of `contentId` to `peer`: a push of it counts them. */
  sent(peer: string, contentId: string, bytes: number): void {
    for (const o of this.#out) if (o.contentId === contentId) o.sent(peer, bytes);
  }

  /** True while a push of `contentId` runs (its share is kept). */
  pushing(contentId: string): boolean {
    for (const o of this.#out) if (o.contentId === contentId) return true;
    return false;
  }

  /** An `offer-end`: a receiver's answer, or the sender's cancel. */
  ended(peer: string, contentId: string, status: number, reason: string): void {
    if (status === OFFER_STATUS.CANCELLED) {
      const i = this.#in.get(`${peer} ${contentId}`);
      if (i === undefined) return;
      i.cancelled = true;
      i.control.abort();
      return;
    }
    for (const o of this.#out) if (o.contentId === contentId) o.end(peer, status, visible(reason));
  }

  /** An `offer`: download it, if this node takes pushes. */
  offered(from: string, contentId: string): void {
    const r = this.#receiver;
    const key = `${from} ${contentId}`;
    if (this.#in.has(key) || r?.allowedFrom?.(from) === false) return;
    const refuse = (reason: string): void => {
      this.#host.send(from, encodeOfferEnd(contentId, OFFER_STATUS.REFUSED, reason));
      r?.failed(from, new FilesError(FILES_ERROR_CODES.REFUSED, `Refused the file ${contentId} pushed by ${from}: ${reason}.`, { details: { peerId: from, contentId } }), contentId);
    };
    if (r === undefined) return refuse("this node takes no pushed files");
    let running = 0;
    for (const i of this.#in.values()) if (i.from === from) running++;
    if (running >= (r.maxPerPeer ?? 4)) return refuse(`${running} transfers from this peer are already running`);
    const i: Incoming = { from, contentId, control: new AbortController(), cancelled: false };
    this.#in.set(key, i);
    const accept = (manifest: Manifest): string | undefined => {
      i.name = manifest.name;
      return r.accept?.({ from, manifest });
    };
    this.#host
      .download(contentId, { dir: r.dir, signal: i.control.signal, accept })
      .then(
        async (result) => {
          try {
            await r.received(from, result);
          } catch (cause) {
            this.#host.send(from, encodeOfferEnd(contentId, OFFER_STATUS.REFUSED, "the receiver could not take it"));
            return r.failed(from, new FilesError(FILES_ERROR_CODES.WRITE_FAILED, `Receiving "${safeFileName(result.name).slice(0, 100)}" from ${from} failed after its download: ${(cause as Error).message}. The file is at ${result.path}.`, { cause }), contentId);
          }
          this.#host.send(from, encodeOfferEnd(contentId, OFFER_STATUS.DONE, ""));
        },
        async (error: FilesError) => {
          // A push cancelled by its sender or declined leaves nothing; a failure keeps the verified part for `download` to resume.
          if (i.cancelled || error.code === FILES_ERROR_CODES.REFUSED) await removePartial(r.dir, contentId);
          const what = i.name === undefined ? contentId : `"${safeFileName(i.name).slice(0, 100)}"`;
          if (i.cancelled) error = new FilesError(FILES_ERROR_CODES.ABORTED, `Receiving ${what} from ${from} stopped: the sender cancelled it. The partial download is deleted.`, { details: { peerId: from, contentId } });
          else this.#host.send(from, encodeOfferEnd(contentId, OFFER_STATUS.REFUSED, reasonOf(error)));
          r.failed(from, error, contentId);
        },
      )
      .finally(() => this.#in.delete(key))
      // A `received` or `failed` callback that throws has nowhere left to report to; it must not end the process.
      .catch(() => {});
  }

  /** A neighbour left: pushes to it end (it does not hold the file); its pushes to us go on from any other source. */
  left(peer: string): void {
    for (const o of [...this.#out]) o.end(peer, OFFER_STATUS.REFUSED, `${peer} left before it held the whole file`);
  }

  /** The swarm closed: pushes fail with `error`. */
  close(error: FilesError): void {
    for (const o of [...this.#out]) o.close(error);
  }
}

/** The short reason a receiver gives its sender. */
function reasonOf(error: FilesError): string {
  const d = error.details as { size?: number; maxFileSize?: number } | undefined;
  if (error.code === FILES_ERROR_CODES.TOO_LARGE && d?.size !== undefined) return `it is ${d.size} bytes, over this node's maxFileSize of ${d.maxFileSize}`;
  const reason = (error.details as { reason?: unknown } | undefined)?.reason;
  if (error.code === FILES_ERROR_CODES.REFUSED && typeof reason === "string") return reason;
  return `${error.code}: ${error.message}`;
}

/** A reason from a peer, shown to a user: one line, no control or bidi characters. */
function visible(reason: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = reason.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, " ").trim();
  return clean.length > 0 ? clean : "no reason given";
}
