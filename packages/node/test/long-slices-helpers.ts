// What the long-slice tests feed a BundleReader and how they count what it hands on.
import type { BundleSink } from "../src/bundle-reader.js";

/** A bundle of `count` envelopes of 4 bytes, each's first byte its number (mod 256), numbered from `first`. */
export function bundle(count: number, first = 0): Uint8Array {
  const out = new Uint8Array(count * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    view.setUint32(i * 8, 4);
    out[i * 8 + 4] = (first + i) & 0xff;
  }
  return out;
}

/** A session's side of the reader: counts what it is handed, and calls `onEnvelope` with each envelope's index. */
export function sink(onEnvelope: (index: number) => void = () => {}): BundleSink & { count: number; dropped: number } {
  return {
    count: 0,
    dropped: 0,
    unread(count) {
      this.dropped += count;
    },
    envelope(data, start) {
      if (data[start] !== (this.count & 0xff)) throw new Error(`envelope ${this.count} out of order`);
      onEnvelope(this.count++);
      return true;
    },
    violation(what) {
      throw new Error(what as string);
    },
    pause: () => {},
    resume: () => {},
    isClosed: () => false,
  };
}
