/**
 * The browser's `#file-transfer` (Node's is `../file-transfer.ts`): a page
 * has no disk to stream files from or into. `shareFile` fails with a
 * sentence; an offer from a peer is answered with `xppg/file-abort`, so the
 * sender learns why and the connection stays.
 */

import { NODE_ERROR_CODES, PlaygroundError } from "../errors.js";
import type { FileHost, SharedFile } from "../file-transfer.js";
import type { PeerSession } from "../peer-session.js";
import { KIND_FILE_ABORT, KIND_FILE_OFFER, isRecord } from "../protocol.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** Most characters of a transfer id echoed back in an abort (the Node side sends 32). */
const MAX_TRANSFER_ID = 64;

/** `XPPG_ERR_NOT_IN_BROWSER` for a file call (`call`, as `pg.files.share`) in a page; its arguments never shown (any value may come). */
export function notInBrowser(call: string): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.NOT_IN_BROWSER,
    ERROR_TEXTS ? `${call}() reads and writes files on disk, which a browser page cannot do. Send the bytes in a message instead (pg.send("my-file", { name, data })), or share the file from a Node peer.` : [call],
  );
}

/** File transfers in a page: none. Same shape as Node's `FileTransfers`. */
export class FileTransfers {
  constructor(_host?: FileHost) {}

  /** Always rejects: a page has no files to read by path. */
  async send(_path: string, _sessions: PeerSession[], _signal?: AbortSignal): Promise<SharedFile> {
    throw notInBrowser("shareFile");
  }

  /** Refuses each offer with an abort; chunks and ends of refused transfers are ignored. */
  handle(session: PeerSession, kind: string, payload: unknown): void {
    if (kind !== KIND_FILE_OFFER || !isRecord(payload) || typeof payload.t !== "string" || payload.t.length > MAX_TRANSFER_ID) return;
    void session.sendMessage(KIND_FILE_ABORT, { t: payload.t, reason: "the peer is a browser page and takes no files" });
  }

  async sessionEnded(_session: PeerSession): Promise<void> {}

  async close(): Promise<void> {}
}
