/**
 * Caches of the short strings every envelope repeats (kind, source,
 * destination), so the hot path neither re-encodes nor re-decodes them.
 * Both are bounded; an attacker who sends many distinct strings only causes
 * cache misses.
 */

const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder("utf-8", { fatal: true });

/** Largest string (in bytes) the decode cache keeps. */
const MAX_CACHED_BYTES = 64;

/** String → UTF-8 bytes, for encoding. */
export class EncodeCache {
  readonly #map = new Map<string, Uint8Array>();
  readonly #max: number;

  constructor(max = 1024) {
    this.#max = max;
  }

  get(text: string): Uint8Array {
    let bytes = this.#map.get(text);
    if (bytes === undefined) {
      bytes = encoder.encode(text);
      if (this.#map.size >= this.#max) this.#map.clear();
      this.#map.set(text, bytes);
    }
    return bytes;
  }
}

/**
 * The engine's one shared copy of `text` (V8 keeps property names
 * internalized): a message's kind then compares with a constant, and looks
 * up its handlers, by identity instead of character by character. Only on
 * a cache miss; the engine forgets strings no longer used.
 */
function internalize(text: string): string {
  // A dictionary (no prototype): any text is a plain key, "__proto__" too, and no hidden class is made per key.
  const holder = Object.create(null) as Record<string, number>;
  holder[text] = 0;
  return Object.keys(holder)[0] ?? text;
}

interface Slot {
  bytes: Uint8Array;
  text: string;
}

/**
 * UTF-8 bytes → string, for decoding. A direct-mapped table indexed by a
 * hash of the bytes; a hit is confirmed byte by byte. Invalid UTF-8 throws
 * (a `TypeError` from the fatal decoder; the caller turns it into a typed
 * error).
 */
export class DecodeCache {
  readonly #slots: (Slot | undefined)[];
  readonly #mask: number;

  constructor(size = 256) {
    this.#slots = new Array<Slot | undefined>(size);
    this.#mask = size - 1;
  }

  get(buf: Uint8Array, start: number, end: number): string {
    const length = end - start;
    if (length > MAX_CACHED_BYTES) return fatalDecoder.decode(buf.subarray(start, end));
    // FNV-1a
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const index = (h >>> 0) & this.#mask;
    const slot = this.#slots[index];
    if (slot !== undefined && slot.bytes.byteLength === length) {
      const b = slot.bytes;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (b[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return slot.text;
    }
    const bytes = buf.slice(start, end);
    const text = internalize(fatalDecoder.decode(bytes));
    this.#slots[index] = { bytes, text };
    return text;
  }
}
