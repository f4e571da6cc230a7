/**
 * The browser's `#files-room` (Node's is `../files-room.ts`): a page has no
 * disk to share files from or download them into, so it does not offer
 * `files/2` (see `HOST_LACKS` in `host.ts`) and `pg.files` rejects in words.
 * Without `files/2` settled, a files message from a peer is a protocol
 * violation, as in Node.
 */

import type { FilesHostListener } from "@xppg/files";
import { NODE_ERROR_CODES, PlaygroundError } from "../errors.js";
import type { FilesRoomOptions, PlaygroundFiles } from "../files-room.js";
import type { PeerSession } from "../peer-session.js";
import type { SharedFile } from "../file-transfer.js";
import { notInBrowser } from "./file-transfer.js";
import { ERROR_TEXTS } from "@xppg/errors";

export type { FilesRoomOptions, PlaygroundFiles, PlaygroundFilesOptions } from "../files-room.js";

/** `pg.files` in a page: every call rejects with `XPPG_ERR_NOT_IN_BROWSER`. */
export class FilesRoom {
  readonly api: PlaygroundFiles = {
    share: () => Promise.reject(notInBrowser("pg.files.share")),
    download: () => Promise.reject(notInBrowser("pg.files.download")),
    unshare: () => Promise.reject(notInBrowser("pg.files.unshare")),
    uploaded: new Map(),
  };

  // Node's wiring (type-checked for a page too) hands it options: none is needed.
  constructor(_o?: Partial<FilesRoomOptions>) {}

  /** `pg.shareFile`: rejects any call in words, its arguments unread (nothing could pass; `String()` throws on a symbol). */
  shareFile(_path: unknown, _options: unknown, _targets: (to: string | undefined) => PeerSession[]): Promise<SharedFile> {
    return Promise.reject(notInBrowser("shareFile"));
  }

  listen(_listener: FilesHostListener): () => void {
    return () => {};
  }

  /** A page never settles `files/2`: a files message is a violation (the peer is dropped), as in Node. */
  receive(session: PeerSession, _payload: unknown): void {
    throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, ERROR_TEXTS ? `The peer ${session.peerId} sent a files message without settling files/2 (this node is a browser page). It is disconnected.` : [session.peerId]);
  }

  opened(_session: PeerSession): void {}

  ended(_session: PeerSession): void {}

  async close(): Promise<void> {}
}
