/**
 * `pg.shareFile`, the swarm way (capability `files-push/1`, issue 12): to a
 * peer that speaks it, the file is shared and its content id offered; the
 * peer downloads it with `@xppg/files` (verified chunks, from every peer that
 * has them, resumable) into its `downloadDir`, and answers. A peer without it
 * (a node of an earlier release) gets the whole-file stream of
 * `file-transfer.ts`, as before. Either way the receiver gets a `"file"`
 * message `{ name, size, sha256, path }` and the sender one `SharedFile`.
 */

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { FILES_ERROR_CODES, safeFileName, type FileSwarm, type FilesError, type PushProgress, type PushReceiver, type PushResult } from "@xppg/files";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { ReceivedFile, SharedFile } from "./file-transfer.js";
import type { PeerSession } from "./peer-session.js";

/** The whole-file stream (`file-transfer.ts`; in a page, its stand-in that refuses). */
export interface WholeFileSender {
  send(path: string, sessions: PeerSession[], signal?: AbortSignal): Promise<SharedFile>;
}

/** What a node does with files pushed to it. */
export interface PushOptions {
  readonly downloadDir: string;
  readonly maxIncomingPerPeer: number;
  acceptFile(offer: { from: string; name: string; size: number }): boolean;
  delivered(from: string, file: ReceivedFile): void;
  failed(error: PlaygroundError, from: string): void;
}

/** The swarm's `pushes` option for a node: the `acceptFile` check, a `"file"` message per file, an `error` event per failure. */
export function pushReceiver(o: PushOptions): PushReceiver {
  return {
    dir: o.downloadDir,
    maxPerPeer: o.maxIncomingPerPeer,
    accept: ({ from, manifest }) => {
      let ok: boolean;
      try {
        ok = o.acceptFile({ from, name: safeFileName(manifest.name), size: manifest.size });
      } catch {
        ok = false;
      }
      return ok ? undefined : "the receiver declined it";
    },
    received: async (from, r) => o.delivered(from, { name: r.name, size: r.size, sha256: await sha256Of(r.path), path: r.path }),
    failed: (from, error) => {
      const disk = error.code === FILES_ERROR_CODES.WRITE_FAILED || error.code === FILES_ERROR_CODES.DISK_FULL;
      const why = disk ? `it cannot be stored in ${o.downloadDir}: ${error.message}` : error.message;
      o.failed(new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `Receiving a file from ${from} failed: ${why}`, { cause: error }), from);
    },
  };
}

/**
 * Sends the file at `path` to `sessions`: through the swarm to those that
 * settled `files-push/1`, streamed whole to the others. Resolves with the
 * peers that hold it; rejects when none does, naming why.
 */
export async function shareFile(
  swarm: FileSwarm,
  legacy: WholeFileSender,
  pushes: (s: PeerSession) => boolean,
  path: string,
  sessions: PeerSession[],
  signal?: AbortSignal,
  onProgress?: (progress: PushProgress) => void,
): Promise<SharedFile> {
  const swarmPeers = sessions.filter(pushes);
  const streamed = sessions.filter((s) => !pushes(s));
  if (swarmPeers.length === 0) return legacy.send(path, streamed, signal);
  const [pushed, sent] = await Promise.allSettled([
    swarm.push(path, swarmPeers.map((s) => s.peerId!), { signal, ...(onProgress === undefined ? {} : { onProgress }) }).catch((error: FilesError) => Promise.reject(nodeError(error, path))),
    streamed.length > 0 ? legacy.send(path, streamed, signal) : Promise.resolve(undefined),
  ]);
  const failures = [pushed, sent].filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as PlaygroundError);
  const aborted = failures.find((e) => e.code === NODE_ERROR_CODES.ABORTED);
  if (aborted !== undefined) throw aborted;
  if (pushed.status === "rejected") throw pushed.reason;
  const r: PushResult = pushed.value;
  const peers = [...r.delivered, ...(sent.status === "fulfilled" ? (sent.value?.peers ?? []) : [])];
  if (peers.length === 0) {
    const reasons = [...r.refusals].map(([peer, why]) => `${peer} refused it (${why})`);
    if (sent.status === "rejected") reasons.push((sent.reason as Error).message);
    throw new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, `No peer received "${r.name}": ${reasons.join("; ")}.`, { details: { refusals: Object.fromEntries(r.refusals) } });
  }
  return { name: r.name, size: r.size, sha256: r.sha256, peers };
}

function nodeError(error: FilesError, path: string): PlaygroundError {
  if (error.code === FILES_ERROR_CODES.ABORTED) return new PlaygroundError(NODE_ERROR_CODES.ABORTED, `shareFile() was aborted by its signal; "${path}" was not sent completely (the receivers delete what they got).`, { cause: error });
  return new PlaygroundError(NODE_ERROR_CODES.FILE_TRANSFER_FAILED, error.message, { cause: error });
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
