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

/** Memory for a frame being assembled, outside Node's pool. */
export function allocateUninitialized(size: number): Uint8Array {
  if (NodeBuffer === undefined) return new Uint8Array(size);
  const b = NodeBuffer.allocUnsafeSlow(size);
  // A plain Uint8Array over it: callers see one type, whatever the path.
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

/**
 * True where `scopeReads` ends a frame's envelope reads as the frame is read
 * (Node's receive path); a page's reads end at a microtask each, as its node
 * does not scope them, and the check costs it no bytes.
 */
export const SCOPED_READS = true;
