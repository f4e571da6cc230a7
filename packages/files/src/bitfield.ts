/** A fixed-size set of chunk indexes, one bit each (the wire's `bitfield`). */
export class Bitfield {
  readonly size: number;
  readonly bytes: Uint8Array;
  #count = 0;

  constructor(size: number, bytes?: Uint8Array) {
    this.size = size;
    this.bytes = new Uint8Array(Math.ceil(size / 8));
    if (bytes !== undefined) {
      this.bytes.set(bytes.subarray(0, this.bytes.length));
      // Bits past `size` mean nothing: clear them so counts stay right.
      const extra = this.bytes.length * 8 - size;
      if (extra > 0) this.bytes[this.bytes.length - 1]! &= 0xff << extra;
      for (const b of this.bytes) this.#count += popcount(b);
    }
  }

  /** A bitfield with every bit set. */
  static full(size: number): Bitfield {
    const f = new Bitfield(size, new Uint8Array(Math.ceil(size / 8)).fill(0xff));
    return f;
  }

  get count(): number {
    return this.#count;
  }

  get complete(): boolean {
    return this.#count === this.size;
  }

  has(i: number): boolean {
    return i >= 0 && i < this.size && (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0;
  }

  clear(i: number): boolean {
    if (!this.has(i)) return false;
    this.bytes[i >> 3]! &= ~(0x80 >> (i & 7));
    this.#count--;
    return true;
  }

  set(i: number): boolean {
    if (i < 0 || i >= this.size || this.has(i)) return false;
    this.bytes[i >> 3]! |= 0x80 >> (i & 7);
    this.#count++;
    return true;
  }
}

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x !== 0; x &= x - 1) n++;
  return n;
}
