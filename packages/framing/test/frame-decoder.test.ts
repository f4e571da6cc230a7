import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { EnvelopeCodec, FRAME_RELEASED, FrameDecoder, MAX_KIND_LENGTH, MAX_PEER_ID_LENGTH, SIGNATURE_LENGTH, encodeFrame, encodeFrames, FRAME_HEADER_SIZE } from "../src/index.js";

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) decoder.push(c, (f) => out.push(f.slice()));
  return out;
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

describe("encodeFrame", () => {
  it("writes a 4-byte big-endian length before the payload", () => {
    const f = encodeFrame(new Uint8Array([7, 8, 9]));
    expect([...f]).toEqual([0, 0, 0, 3, 7, 8, 9]);
  });

  it("refuses a payload over maxFrameSize with a code", () => {
    expect(() => encodeFrame(new Uint8Array(11), 10)).toThrowError(expect.objectContaining({ code: "XPPG_ERR_FRAME_TOO_LARGE" }));
  });

  it("encodeFrames coalesces frames into one buffer a decoder splits again", () => {
    const payloads = [new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])];
    const bytes = encodeFrames(payloads);
    expect(bytes.byteLength).toBe(3 + 3 * FRAME_HEADER_SIZE);
    expect(decodeAll(new FrameDecoder(), [bytes]).map((f) => [...f])).toEqual([[1], [], [2, 3]]);
  });
});

describe("FrameDecoder", () => {
  it("delivers frames inside one chunk as views, without copying", () => {
    const chunk = encodeFrames([new Uint8Array([1, 2]), new Uint8Array([3])]);
    const seen: Uint8Array[] = [];
    new FrameDecoder().push(chunk, (f) => seen.push(f));
    expect(seen[0]!.buffer).toBe(chunk.buffer);
    expect([...seen[1]!]).toEqual([3]);
  });

  it("zeroes the frames of a chunk released before one kept, and nothing else", () => {
    const chunk = encodeFrames([new Uint8Array(5).fill(0xaa), new Uint8Array(6).fill(0xbb), new Uint8Array(3).fill(0x11), new Uint8Array(4).fill(0xcc)]);
    let kept: Uint8Array | undefined;
    // The first two and the last are released (a handler that borrows), the third kept.
    new FrameDecoder().push(chunk, (f) => (f[0] === 0x11 ? void (kept = f) : FRAME_RELEASED) as never);
    expect([...kept!]).toEqual([0x11, 0x11, 0x11]);
    const memory = new Uint8Array(kept!.buffer);
    expect(memory.includes(0xaa) || memory.includes(0xbb)).toBe(false);
    // Frames after the kept one are the reader's to see (they came later).
    expect(memory.includes(0xcc)).toBe(true);
  });

  it("assembles a frame split byte by byte", () => {
    const bytes = encodeFrame(new Uint8Array([5, 6, 7, 8, 9]));
    const chunks = [...bytes].map((b) => new Uint8Array([b]));
    const d = new FrameDecoder();
    const frames = decodeAll(d, chunks);
    expect(frames.map((f) => [...f])).toEqual([[5, 6, 7, 8, 9]]);
    expect(d.idle).toBe(true);
  });

  it("rejects an oversized declared length before buffering its payload", () => {
    const d = new FrameDecoder({ maxFrameSize: 1024 });
    const header = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    let err: unknown;
    try {
      d.push(header, () => {});
    } catch (e) {
      err = e;
    }
    expect(isXppgError(err, "XPPG_ERR_FRAME_TOO_LARGE")).toBe(true);
    expect((err as { details: unknown }).details).toEqual({ size: 0xffffffff, maxFrameSize: 1024 });
    expect(d.bufferedBytes).toBe(0);
    expect(() => d.push(new Uint8Array(1), () => {})).toThrow(/after an error/);
  });

  it("delivers frames completed before an oversized one in the same chunk", () => {
    const good = encodeFrame(new Uint8Array([1]));
    const bad = new Uint8Array([0, 0, 4, 0]);
    const chunk = new Uint8Array([...good, ...bad]);
    const seen: number[][] = [];
    expect(() => new FrameDecoder({ maxFrameSize: 100 }).push(chunk, (f) => seen.push([...f]))).toThrow();
    expect(seen).toEqual([[1]]);
  });

  it("accepts a frame of exactly maxFrameSize", () => {
    const frames = decodeAll(new FrameDecoder({ maxFrameSize: 64 }), [encodeFrame(new Uint8Array(64).fill(1), 64)]);
    expect(frames[0]!.byteLength).toBe(64);
  });

  it("validates its own option: a RangeError with XPPG_ERR_INVALID_ARGUMENT naming maxFrameSize, what it got and the range", () => {
    for (const [value, shown] of [[-1, "-1"], [2 ** 32, "4294967296"], [1.5, "1.5"], ["big", '"big"']] as const) {
      let error: unknown;
      try {
        new FrameDecoder({ maxFrameSize: value as number });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RangeError);
      expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
      expect((error as Error).message).toBe(`FrameDecoder: maxFrameSize must be an integer from 0 to 4294967295, got ${shown}. Pass an integer from 0 to 4294967295, or leave maxFrameSize out for its default.`);
    }
  });

  it("property: any chunking of a frame stream yields the same frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, cuts) => {
          const stream = encodeFrames(payloads);
          const frames = decodeAll(new FrameDecoder(), splitAt(stream, cuts));
          expect(frames).toEqual(payloads.map((p) => Uint8Array.from(p)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("fuzz: random bytes either decode or throw a typed error, and never over-allocate", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), (chunks) => {
        const d = new FrameDecoder({ maxFrameSize: 256 });
        try {
          decodeAll(d, chunks);
        } catch (err) {
          expect(isXppgError(err, "XPPG_ERR_FRAME_TOO_LARGE")).toBe(true);
        }
        expect(d.bufferedBytes).toBeLessThanOrEqual(256 + FRAME_HEADER_SIZE);
      }),
      { numRuns: 500 },
    );
  });
});

describe("FrameDecoder: writing a frame's body in place", () => {
  it("any mix of pushed bytes and bytes written into bodyWindow gives the same frames (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        (payloads, cuts, direct) => {
          const decoder = new FrameDecoder();
          const out: Uint8Array[] = [];
          const onFrame = (f: Uint8Array): void => void out.push(f.slice());
          splitAt(encodeFrames(payloads), cuts).forEach((chunk, i) => {
            const room = decoder.pendingBodyBytes;
            if (direct[i] === true && chunk.byteLength > 0 && chunk.byteLength <= room) {
              decoder.bodyWindow(chunk.byteLength).set(chunk);
              decoder.commitBody(chunk.byteLength, onFrame);
            } else decoder.push(chunk, onFrame);
          });
          expect(out.map((f) => [...f])).toEqual(payloads.map((p) => [...p]));
          expect(decoder.idle).toBe(true);
        },
      ),
    );
  });

  it("has no window between frames, and none past what the frame lacks", () => {
    const decoder = new FrameDecoder();
    expect(decoder.pendingBodyBytes).toBe(0);
    expect(() => decoder.bodyWindow(1)).toThrow(RangeError);
    decoder.push(encodeFrame(new Uint8Array(10)).subarray(0, 7), () => {});
    expect(decoder.pendingBodyBytes).toBe(7);
    expect(() => decoder.bodyWindow(8)).toThrow(RangeError);
    expect(() => decoder.commitBody(8, () => {})).toThrow(RangeError);
    expect(decoder.bodyWindow(7).byteLength).toBe(7);
  });
});

describe("FrameDecoder: reusing the memory of released frames", () => {
  const payload = (size: number, seed: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);

  it("a frame the callback keeps is never written again; a released one lends its memory to a later frame (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 30_000, max: 70_000 }), fc.constantFrom<unknown>(FRAME_RELEASED, undefined, true, 1)), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1000, max: 70_000 }),
        (frames, chunkSize) => {
          const payloads = frames.map(([size], i) => payload(size, i));
          const bytes = encodeFrames(payloads);
          const decoder = new FrameDecoder();
          const kept: Array<[Uint8Array, number]> = [];
          let index = 0;
          const onFrame = (f: Uint8Array): unknown => {
            const answer = frames[index]![1];
            if (answer === FRAME_RELEASED) expect(sameContent(f, payloads[index]!), `frame ${index}`).toBe(true);
            else kept.push([f, index]);
            index++;
            return answer;
          };
          for (let at = 0; at < bytes.byteLength; at += chunkSize) decoder.push(bytes.slice(at, at + chunkSize), onFrame);
          expect(index).toBe(frames.length);
          // Only the marker releases a frame: `true` or a number (an emitter's or an array's return) does not.
          for (const [f, i] of kept) expect(sameContent(f, payloads[i]!), `kept frame ${i}`).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("reuses a released buffer for the next frame split across chunks, once its reader releases frames", () => {
    const decoder = new FrameDecoder();
    const bytes = encodeFrames([payload(40_000, 1), payload(40_000, 2), payload(40_000, 3)]);
    const seen: ArrayBufferLike[] = [];
    for (let at = 0; at < bytes.byteLength; at += 30_000) {
      decoder.push(bytes.slice(at, at + 30_000), (f) => {
        seen.push(f.buffer);
        return FRAME_RELEASED;
      });
    }
    expect(seen).toHaveLength(3);
    expect(seen[2]).toBe(seen[1]);
  });

  it("gives a reader that keeps its frames buffers of their own size", () => {
    const decoder = new FrameDecoder();
    const bytes = encodeFrames([payload(40_000, 1), payload(40_000, 2)]);
    const sizes: number[] = [];
    for (let at = 0; at < bytes.byteLength; at += 30_000) decoder.push(bytes.slice(at, at + 30_000), (f) => void sizes.push(f.buffer.byteLength));
    expect(sizes).toEqual([40_000, 40_000]);
  });
});

describe("FrameDecoder: reusing the memory of 64 KiB messages' frames", () => {
  const payload = (size: number, seed: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);
  /** A 64 KiB message's frame body: 64 KiB and a few bytes of envelope head. */
  const BULK = 65_536 + 10;
  /** The plaintext of a full encrypted record, as a secure link cuts its stream. */
  const RECORD = 65_516;

  /** Pushes `frames` through `decoder` in chunks of `chunk` bytes; `answer(i, frame)` is the callback's return for frame i. */
  function decode(decoder: FrameDecoder, frames: Uint8Array[], chunk: number, answer: (i: number, frame: Uint8Array) => unknown): void {
    const bytes = encodeFrames(frames);
    let i = 0;
    for (let at = 0; at < bytes.byteLength; at += chunk) decoder.push(bytes.slice(at, at + chunk), (f) => answer(i++, f));
    expect(i).toBe(frames.length);
  }

  /** A decoder that released a frame it assembled: its next frames may take spares. */
  function releasing(): FrameDecoder {
    const decoder = new FrameDecoder();
    decode(decoder, [payload(40_000, 0)], 30_000, () => FRAME_RELEASED);
    return decoder;
  }

  /** Starts a frame of `size` bytes on `decoder` (its first byte pushed): the buffer it is assembled in. */
  function start(decoder: FrameDecoder, size: number): ArrayBufferLike {
    decoder.push(encodeFrame(payload(size, 1)).subarray(0, FRAME_HEADER_SIZE + 1), () => expect.unreachable());
    return decoder.bodyWindow(0).buffer;
  }

  /** Takes every spare: decoders left assembling a frame in them. */
  function drainSpares(): void {
    for (let i = 0; i < 8; i++) start(releasing(), 40_000);
  }

  it("reuses a released frame's buffer for frames of 64 KiB messages with the largest envelope head, cut as records are", () => {
    // The largest head: kind, source and destination at their longest, each character three bytes in UTF-8, and a signature.
    const wide = (n: number): string => "\u20ac".repeat(n);
    const envelope = new EnvelopeCodec().encodeSigned(
      { version: 1, kind: wide(MAX_KIND_LENGTH), source: wide(MAX_PEER_ID_LENGTH), destination: wide(MAX_PEER_ID_LENGTH), id: 1, hopLimit: 3, payload: payload(65_536, 9) },
      () => new Uint8Array(SIGNATURE_LENGTH),
    );
    expect(envelope.byteLength).toBeGreaterThan(65_536 + 2000);
    for (const frames of [[envelope, envelope, envelope, envelope], [payload(BULK, 1), payload(BULK, 2), payload(BULK, 3), payload(BULK, 4)]]) {
      const seen: ArrayBufferLike[] = [];
      decode(new FrameDecoder(), frames, RECORD, (i, f) => {
        expect(sameContent(f, frames[i]!), `frame ${i}`).toBe(true);
        seen.push(f.buffer);
        return FRAME_RELEASED;
      });
      // The first frame went to a buffer of its own (its reader had released nothing yet); the next ones share one.
      expect(seen[2]).toBe(seen[1]);
      expect(seen[3]).toBe(seen[1]);
    }
  });

  it("gives a frame past 66 KiB a buffer of its own, released or not", () => {
    const size = 66 * 1024 + 1;
    const seen: ArrayBufferLike[] = [];
    decode(new FrameDecoder(), [payload(size, 1), payload(size, 2), payload(size, 3)], RECORD, (_i, f) => {
      seen.push(f.buffer);
      return FRAME_RELEASED;
    });
    expect(new Set(seen).size).toBe(3);
    for (const buffer of seen) expect(buffer.byteLength).toBe(size);
  });

  it("never lends a spare to a reader that keeps its frames, nor reuses a kept frame's buffer", () => {
    // Spares wait: released by another decoder.
    const spares = new Set<ArrayBufferLike>();
    decode(releasing(), [payload(BULK, 1), payload(BULK, 2), payload(BULK, 3)], RECORD, (_i, f) => {
      spares.add(f.buffer);
      return FRAME_RELEASED;
    });
    const kept: Uint8Array[] = [];
    const frames = Array.from({ length: 6 }, (_, i) => payload(BULK, 10 + i));
    decode(new FrameDecoder(), frames, RECORD, (_i, f) => void kept.push(f));
    for (const [i, f] of kept.entries()) {
      expect(spares.has(f.buffer), `kept frame ${i}`).toBe(false);
      expect(f.buffer.byteLength).toBe(BULK);
    }
    // A releasing reader's frames after them take none of their buffers, and leave their bytes as they were.
    const keptBuffers = new Set(kept.map((f) => f.buffer));
    decode(releasing(), Array.from({ length: 6 }, (_, i) => payload(BULK, 20 + i)), RECORD, (_i, f) => {
      expect(keptBuffers.has(f.buffer)).toBe(false);
      return FRAME_RELEASED;
    });
    for (const [i, f] of kept.entries()) expect(sameContent(f, frames[i]!), `kept frame ${i}`).toBe(true);
  });

  it("lends a spare with nothing past the new frame: a kept frame's buffer holds no byte of another decoder's frames", () => {
    drainSpares();
    // Another connection's decoder releases frames of 64 KiB messages (their buffers become spares), then one of
    // 40,000 bytes; this one, releasing too, keeps a smaller frame, assembled in one of those spares.
    const secret = (size: number): Uint8Array => new Uint8Array(size).fill(0xa5);
    const other = releasing();
    decode(other, [secret(BULK), secret(BULK), secret(40_000)], RECORD, () => FRAME_RELEASED);
    const spares = new Set<ArrayBufferLike>();
    const probe = releasing();
    for (const size of [35_000, 60_000, BULK - 1]) {
      const frame = new Uint8Array(size).fill(0x11);
      let kept: Uint8Array | undefined;
      decode(probe, [frame], 30_000, (_i, f) => void (kept = f));
      spares.add(kept!.buffer);
      const memory = new Uint8Array(kept!.buffer);
      expect(memory.byteLength).toBe(66 * 1024);
      expect(sameContent(kept!, frame)).toBe(true);
      expect(memory.indexOf(0xa5), `frame of ${size}`).toBe(-1);
      // The next frame may take a spare again: the kept one's is not among them.
      decode(probe, [payload(40_000, 3)], 30_000, () => FRAME_RELEASED);
    }
    expect(spares.size).toBe(3);
  });

  it("keeps at most four released buffers for reuse, whatever the decoders", () => {
    drainSpares();
    const decoders = Array.from({ length: 6 }, releasing);
    drainSpares();
    // Six frames assembled at once, then all released: four of their buffers wait, two are dropped.
    const released = decoders.map((d) => start(d, BULK));
    expect(new Set(released).size).toBe(6);
    const rest = encodeFrame(payload(BULK, 1)).subarray(FRAME_HEADER_SIZE + 1);
    for (const d of decoders) d.push(rest, () => FRAME_RELEASED);
    const next = decoders.map((d) => start(d, BULK));
    expect(next.filter((b) => released.includes(b))).toHaveLength(4);
    expect(new Set(next).size).toBe(6);
  });
});

function sameContent(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}
