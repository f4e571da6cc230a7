// A hand-driven neighbour: it answers the files messages with whatever the
// test tells it to, so each kind of bad input can be sent on purpose. The
// manifest layout is written out here independently of the package.
import { createHash } from "node:crypto";
import { MSG, allocData, decodeMessage, encodeBitfield, encodeManifest, encodeSlot, DATA_HEADER, type FilesMessage } from "../../src/wire.js";
import type { MemoryHost } from "./memory-net.js";

/** Manifest bytes for `data` under `name`, or with the fields given (for absurd ones). */
export function craftManifest(name: string, data: Uint8Array, chunkSize: number, fields: { size?: number; hashes?: number } = {}): { bytes: Uint8Array; contentId: string } {
  const nameBytes = Buffer.from(name);
  const size = fields.size ?? data.length;
  const count = fields.hashes ?? Math.max(1, Math.ceil(data.length / chunkSize));
  const head = Buffer.alloc(4 + 2 + nameBytes.length + 8 + 4);
  head.write("XPF2", 0);
  head.writeUInt16BE(nameBytes.length, 4);
  nameBytes.copy(head, 6);
  head.writeUInt32BE(Math.floor(size / 2 ** 32), 6 + nameBytes.length);
  head.writeUInt32BE(size >>> 0, 10 + nameBytes.length);
  head.writeUInt32BE(chunkSize, 14 + nameBytes.length);
  const hashes = [];
  for (let i = 0; i < count; i++) hashes.push(createHash("sha256").update(data.subarray(i * chunkSize, (i + 1) * chunkSize)).digest());
  const bytes = Buffer.concat([head, ...hashes]);
  return { bytes, contentId: createHash("sha256").update(bytes).digest("hex") };
}

export interface RawBehaviour {
  manifest: Uint8Array;
  /** The chunk count announced in the bitfield (all set). */
  chunks: number;
  /** Answers a request; undefined sends nothing. */
  answer?: (m: Extract<FilesMessage, { type: typeof MSG.REQUEST }>) => Uint8Array | undefined;
}

export function rawPeer(host: MemoryHost, b: RawBehaviour): { requests: number; wants: number } {
  const seen = { requests: 0, wants: 0 };
  host.listen({
    message: (peer, bytes) => {
      const m = decodeMessage(bytes);
      if (typeof m === "string") return;
      if (m.type === MSG.WANT) seen.wants++;
      if (m.type === MSG.WANT) void host.send(peer, encodeBitfield(m.cid, b.chunks, new Uint8Array(Math.ceil(b.chunks / 8)).fill(0xff))).catch(() => {});
      if (m.type === MSG.MANIFEST_REQUEST) {
        const piece = b.manifest.subarray(m.offset, m.offset + m.length);
        void host.send(peer, encodeManifest(m.cid, m.offset, b.manifest.length, piece)).catch(() => {});
      }
      if (m.type === MSG.REQUEST) {
        seen.requests++;
        const reply = b.answer?.(m);
        if (reply !== undefined) void host.send(peer, reply).catch(() => {});
      }
    },
    joined: () => {},
    left: () => {},
  });
  return seen;
}

/** A DATA message carrying `data` for a request. */
export function dataFor(m: { cid: string; index: number; offset: number }, data: Uint8Array): Uint8Array {
  const bytes = allocData(m.cid, m.index, m.offset, data.length);
  bytes.set(data, DATA_HEADER);
  return bytes;
}

export function rejectFor(m: { cid: string; index: number; offset: number }): Uint8Array {
  return encodeSlot(MSG.REJECT, m.cid, m.index, m.offset);
}
