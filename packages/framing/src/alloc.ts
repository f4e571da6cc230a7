/**
 * Memory for frames and envelopes, in Node (the `#alloc` import; a page's is
 * `browser/alloc.ts`): Node's `Buffer` skips the zero-filling a
 * `Uint8Array` costs (as much as copying the bytes, which overwrite it anyway).
 */

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array; allocUnsafeSlow(size: number): Uint8Array } }).Buffer;

/** Memory for an envelope: `Buffer.allocUnsafe` (small ones from Node's pool). */
export function allocate(size: number): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.allocUnsafe(size) : new Uint8Array(size);
}

/**
 * Blocks from this size up to {@link HOLD_BELOW_BYTES} (excluded) are held
 * while they are the newest (see {@link allocateUninitialized}).
 */
export const HOLD_FROM_BYTES = 32 * 1024;

/**
 * glibc's default mapping threshold: a block this large or larger is mapped
 * on its own and unmapped when freed, never part of the heap, so holding it
 * would keep nothing in the heap. glibc raises the threshold to the largest
 * mapped block freed so far (up to 32 MiB), and a bulk receiver's is some
 * 260 to 350 KiB within its first messages: frames from here to there are
 * heap blocks too, but not held (their floods are left to the allocator's
 * settings; see `@xppg/node`'s README).
 */
export const HOLD_BELOW_BYTES = 128 * 1024;

/** The newest block of {@link HOLD_FROM_BYTES} or more (and under {@link HOLD_BELOW_BYTES}) handed out by this copy of the module (a property: a store no build drops). */
const held: { newest: Uint8Array | null } = { newest: null };

/**
 * Memory for a frame being assembled, outside Node's pool.
 *
 * The newest block of 32 KiB to 128 KiB handed out is held here until the
 * next one (one block per thread, whatever the connections; a worker, or a
 * second installed copy of this package, holds its own): in a flood it is
 * the block highest in malloc's heap (each one grew it), and a live block
 * there keeps the heap's free memory below it. Without it, a receiver of a
 * flood of 64 KiB messages (each a frame of its own memory, which the
 * handler drops and the collector frees some 300 at a time) had every frame
 * dead at once, newest included: glibc gave the memory freed at the top of
 * its heap back to the system (it trims a free top past its trim
 * threshold: 128 KiB by default, twice the mapping threshold once that is
 * raised, some 0.5 to 0.7 MiB in a bulk receiver; see
 * {@link HOLD_BELOW_BYTES}) and the next frames took it again page by page,
 * 2 to 6 page faults and about 10 to 15 us of CPU per message (issue 15:
 * encrypted bulk). Now the frames the collector frees stay in the heap for
 * the next ones. What is held is the frame's memory, which its owner may
 * still use; it is only collected one large frame later. A frame decoder
 * whose frames are released (up to 66 KiB: a 64 KiB message's) reuses their
 * memory and allocates none per frame: the hold is for frames kept.
 */
export function allocateUninitialized(size: number): Uint8Array {
  if (NodeBuffer === undefined) return new Uint8Array(size);
  const b = NodeBuffer.allocUnsafeSlow(size);
  // A plain Uint8Array over it: callers see one type, whatever the path.
  const block = new Uint8Array(b.buffer, b.byteOffset, size);
  if (size >= HOLD_FROM_BYTES && size < HOLD_BELOW_BYTES) held.newest = block;
  return block;
}

/**
 * True where `scopeReads` ends a frame's envelope reads as the frame is read
 * (Node's receive path); a page's reads end at a microtask each, as its node
 * does not scope them, and the check costs it no bytes.
 */
export const SCOPED_READS = true;

/** True where an envelope's parts are copied by {@link putShort} and {@link putBytes} (a page's build keeps its loop and `set`, and saves their bytes). */
export const STRAIGHT_COPIES = true;

/**
 * `TypedArray#set`, called through this reference: a sender's `out.set(...)`
 * site sees arrays of several kinds (Buffer, Uint8Array), and V8 then looks
 * `set` up through a generic inline cache on every message (some 80
 * instructions, about half a copy of 100 bytes).
 */
const setBytes = Uint8Array.prototype.set;

/** `out.set(bytes, at)`, without looking `set` up on `out`. */
export function putBytes(out: Uint8Array, at: number, bytes: Uint8Array): void {
  setBytes.call(out, bytes, at);
}

/** Longest part {@link putShort} copies by hand. */
export const SHORT_COPY_BYTES = 16;

/**
 * Copies `bytes` (at most {@link SHORT_COPY_BYTES}: a kind's header) into
 * `out` at `at`, one store per byte with no loop: TypedArray#set costs more
 * than the copy, and a loop checked both arrays again on every byte (some
 * 30 instructions each, where these straight stores take a few).
 */
export function putShort(out: Uint8Array, at: number, bytes: Uint8Array): void {
  /* eslint-disable no-fallthrough -- each case copies one byte and falls through to the next */
  switch (bytes.length) {
    case 16: out[at + 15] = bytes[15]!;
    case 15: out[at + 14] = bytes[14]!;
    case 14: out[at + 13] = bytes[13]!;
    case 13: out[at + 12] = bytes[12]!;
    case 12: out[at + 11] = bytes[11]!;
    case 11: out[at + 10] = bytes[10]!;
    case 10: out[at + 9] = bytes[9]!;
    case 9: out[at + 8] = bytes[8]!;
    case 8: out[at + 7] = bytes[7]!;
    case 7: out[at + 6] = bytes[6]!;
    case 6: out[at + 5] = bytes[5]!;
    case 5: out[at + 4] = bytes[4]!;
    case 4: out[at + 3] = bytes[3]!;
    case 3: out[at + 2] = bytes[2]!;
    case 2: out[at + 1] = bytes[1]!;
    case 1: out[at] = bytes[0]!;
  }
  /* eslint-enable no-fallthrough */
}
