/**
 * A walk over a peer's Yjs update (format V1) that checks its shape before
 * Yjs reads it. Yjs allocates by the counts an update declares: a 5-byte
 * update declaring 29 million structs made it allocate some 230 MB and take
 * about a second before finding the update cut short, so a peer could stall
 * a node with a few bytes a message. Here every count is held to the bytes
 * that remain (each element takes at least one byte), every length to the
 * update's own end, every integer to 53 bits, and nesting to
 * {@link MAX_ANY_DEPTH}; nothing is allocated. The layout followed is Yjs
 * 13's `readClientsStructRefs`, `readItemContent` and `readDeleteSet` with
 * lib0's `readAny`; a state vector's, `readStateVector`.
 */

/** Deepest nesting of a JSON-like value (`ContentAny`, a sub-document's options) the walk follows. */
export const MAX_ANY_DEPTH = 100;

class Cut extends Error {}

class Reader {
  pos = 0;
  /** `what` names the bytes in the sentence of a cut: "update", "state vector". */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  get left(): number {
    return this.bytes.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.bytes.length) throw new Cut(`the ${this.what} ends early`);
    return this.bytes[this.pos++]!;
  }

  /**
   * lib0's varuint: 7 bits a byte, at most 53 bits (`Number.MAX_SAFE_INTEGER`).
   * lib0 checks the bound only before a byte that says more follow: eight
   * bytes read up to 2^56, and a varint padded with 0x80 bytes past eight
   * as 2e242 or NaN. Past 2^53 a clock's sums are no longer exact.
   */
  varUint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) break;
        return value;
      }
      scale *= 128;
    }
    throw new Cut("an integer past 53 bits");
  }

  /** A count of elements of at least `each` bytes: more than the bytes left is a lie. */
  count(each = 1): number {
    const n = this.varUint();
    if (n > this.left / each) throw new Cut(`a count of ${n} where ${this.left} bytes remain`);
    return n;
  }

  skip(n: number): void {
    if (n > this.left) throw new Cut(`a length of ${n} where ${this.left} bytes remain`);
    this.pos += n;
  }

  /**
   * lib0's varint: the sign and 6 bits in the first byte, then 7 a byte; bit
   * 8 says more follow. At most 53 bits, as {@link Reader.varUint} (lib0's
   * `writeAny` writes only integers of 31 bits this way).
   */
  varInt(): void {
    let b = this.u8();
    let value = b & 0x3f;
    let scale = 64;
    for (let i = 0; i < 8; i++) {
      if (b < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) break;
        return;
      }
      b = this.u8();
      value += (b & 0x7f) * scale;
      scale *= 128;
    }
    throw new Cut("an integer past 53 bits");
  }

  /** Two varuints: an id (client, clock), or a deleted range (clock, length). */
  id(): void {
    this.varUint();
    this.varUint();
  }

  bytesField(): void {
    this.skip(this.varUint());
  }

  /** lib0's `readAny`. */
  any(depth: number): void {
    if (depth > MAX_ANY_DEPTH) throw new Cut(`values nested deeper than ${MAX_ANY_DEPTH}`);
    const type = this.u8();
    switch (type) {
      case 127: // undefined
      case 126: // null
      case 121: // false
      case 120: // true
        return;
      case 125: // integer
        return this.varInt();
      case 124: // float32
        return this.skip(4);
      case 123: // float64
      case 122: // bigint64
        return this.skip(8);
      case 119: // string
      case 116: // Uint8Array
        return this.bytesField();
      case 118: {
        // object: key, value (at least two bytes each)
        const n = this.count(2);
        for (let i = 0; i < n; i++) {
          this.bytesField();
          this.any(depth + 1);
        }
        return;
      }
      case 117: {
        const n = this.count();
        for (let i = 0; i < n; i++) this.any(depth + 1);
        return;
      }
      default:
        throw new Cut(`an unknown value type ${type}`);
    }
  }
}

const BITS5 = 0x1f;
const BIT6 = 0x20;
const BIT7 = 0x40;
const BIT8 = 0x80;
/** Yjs' type refs whose content carries a name: YXmlElement, YXmlHook. */
const NAMED_TYPES = new Set([3, 5]);
const TYPE_REFS = 7;

function content(r: Reader, ref: number): void {
  switch (ref) {
    case 1: // deleted: a length
      r.varUint();
      return;
    case 2: {
      // JSON: strings
      const n = r.count();
      for (let i = 0; i < n; i++) r.bytesField();
      return;
    }
    case 3: // binary
    case 4: // string
    case 5: // embed (JSON text)
      r.bytesField();
      return;
    case 6: // format: key, JSON text
      r.bytesField();
      r.bytesField();
      return;
    case 7: {
      const type = r.varUint();
      if (type >= TYPE_REFS) throw new Cut(`an unknown type ref ${type}`);
      if (NAMED_TYPES.has(type)) r.bytesField();
      return;
    }
    case 8: {
      // any: values
      const n = r.count();
      for (let i = 0; i < n; i++) r.any(0);
      return;
    }
    case 9: // sub-document: guid, options
      r.bytesField();
      r.any(0);
      return;
    default:
      throw new Cut(`an unknown content ref ${ref}`);
  }
}

/**
 * Walks a V1 update. Returns undefined when its shape is sound (Yjs may
 * still refuse it, e.g. for JSON it cannot parse), else a sentence saying
 * what is wrong.
 */
export function scanUpdate(update: Uint8Array): string | undefined {
  const r = new Reader(update, "update");
  try {
    const clients = r.count();
    for (let c = 0; c < clients; c++) {
      // Each struct takes at least its info byte.
      const structs = r.count();
      r.varUint(); // client
      r.varUint(); // clock
      for (let s = 0; s < structs; s++) {
        const info = r.u8();
        const ref = info & BITS5;
        if (ref === 0 || ref === 10) {
          // GC, Skip: a length
          r.varUint();
          continue;
        }
        if (info & BIT8) r.id(); // origin
        if (info & BIT7) r.id(); // right origin
        if ((info & (BIT7 | BIT8)) === 0) {
          if (r.varUint() === 1) r.bytesField(); // parent's name
          else r.id(); // parent's id
          if (info & BIT6) r.bytesField(); // parent's key
        }
        content(r, ref);
      }
    }
    // The delete set: clients, each with (clock, length) pairs.
    const deleters = r.count(2);
    for (let c = 0; c < deleters; c++) {
      r.varUint();
      const deletes = r.count(2);
      // (clock, length)
      for (let d = 0; d < deletes; d++) r.id();
    }
    return undefined;
  } catch (error) {
    if (error instanceof Cut) return error.message;
    throw error;
  }
}

/**
 * Walks a state vector (V1: a count, then a client and its clock for each).
 * Returns undefined when its shape is sound, else a sentence saying what is
 * wrong. lib0 reads a clock of a padded varint as 2e242 or NaN, unchecked.
 */
export function scanStateVector(vector: Uint8Array): string | undefined {
  const r = new Reader(vector, "state vector");
  try {
    // (client, clock): at least two bytes each.
    const clients = r.count(2);
    for (let c = 0; c < clients; c++) r.id();
    return undefined;
  } catch (error) {
    if (error instanceof Cut) return error.message;
    throw error;
  }
}
