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

export type { FilesRoomOptions, PlaygroundFiles, PlaygroundFilesOptions } from "../files-room.js";

function notInBrowser(call: string): PlaygroundError {
  return new PlaygroundError(
    NODE_ERROR_CODES.NOT_IN_BROWSER,
    `pg.files.${call}() reads and writes files on disk, which a browser page cannot do. Send the bytes in a message instead (pg.send("my-file", { name, data })), or share the file from a Node peer.`,
  );
}

/** `pg.files` in a page: every call rejects with `XPPG_ERR_NOT_IN_BROWSER`. */
export class FilesRoom {
  readonly api: PlaygroundFiles = {
    share: () => Promise.reject(notInBrowser("share")),
    download: () => Promise.reject(notInBrowser("download")),
    unshare: () => Promise.reject(notInBrowser("unshare")),
    uploaded: new Map(),
  };

  readonly #o: Pick<FilesRoomOptions, "legacy">;

  constructor(o: Pick<FilesRoomOptions, "legacy"> & Partial<FilesRoomOptions>) {
    this.#o = o;
  }

  /** `pg.shareFile`: the page's file transfer, which rejects any call in words (its arguments unchecked: nothing could pass). */
  shareFile(path: unknown, _options: unknown, _targets: (to: string | undefined) => PeerSession[]): Promise<SharedFile> {
    // `String()` throws on a symbol or an object without `toString`: the answer is the same for any path.
    return this.#o.legacy.send(typeof path === "string" ? path : "…", [], undefined);
  }

  listen(_listener: FilesHostListener): () => void {
    return () => {};
  }

  /** A page never settles `files/2`: a files message is a violation (the peer is dropped), as in Node. */
  receive(session: PeerSession, _payload: unknown): void {
    throw new PlaygroundError(NODE_ERROR_CODES.PROTOCOL_VIOLATION, `The peer ${session.peerId} sent a files message without settling files/2 (this node is a browser page). It is disconnected.`);
  }

  opened(_session: PeerSession): void {}

  ended(_session: PeerSession): void {}

  async close(): Promise<void> {}
}
