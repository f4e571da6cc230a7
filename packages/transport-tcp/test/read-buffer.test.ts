import { connect, createServer, type Socket } from "node:net";
import { once } from "node:events";
import { FRAME_RELEASED, encodeFrames } from "@xppg/framing";
import { isXppgError } from "@xppg/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MIN_READ_BYTES, READ_BUFFER_BYTES } from "../src/constants.js";
import { ReadBuffer, readIntoBuffer } from "../src/read-buffer.js";

/** Feeds `wire` to `reader` as reads of the given sizes (each at most what `next()` offers), as a socket would. */
/** A loopback TCP connection, its accepted and dialled ends, to `use`; both ends and the server closed after. */
async function withSocketPair(use: (accepted: Socket, dialled: Socket) => Promise<void>): Promise<void> {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const dialled = connect(port, "127.0.0.1");
  await once(dialled, "connect");
  await expect.poll(() => accepted.length).toBe(1);
  try {
    await use(accepted[0]!, dialled);
  } finally {
    dialled.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  }
}

function feed(reader: ReadBuffer, wire: Uint8Array, sizes: number[], onFrame: (frame: Uint8Array) => unknown): Set<ArrayBufferLike> {
  const memory = new Set<ArrayBufferLike>();
  let at = 0;
  let i = 0;
  while (at < wire.byteLength) {
    const room = reader.next();
    // The socket is never offered no memory (a read of 0 bytes is the end of the stream).
    expect(room.byteLength).toBeGreaterThan(0);
    memory.add(room.buffer);
    const n = Math.min(room.byteLength, wire.byteLength - at, Math.max(1, sizes[i++ % sizes.length]!));
    room.set(wire.subarray(at, at + n));
    at += n;
    reader.received(n, onFrame);
  }
  return memory;
}

const frameArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 2, arbitrary: fc.integer({ min: 1000, max: 70_000 }) },
  // One frame per buffer, or two: a buffer sized to whole frames of these holds one or two.
  { weight: 1, arbitrary: fc.integer({ min: 70_000, max: READ_BUFFER_BYTES }) },
  { weight: 1, arbitrary: fc.integer({ min: READ_BUFFER_BYTES - 10, max: READ_BUFFER_BYTES + 70_000 }) },
);

// Read sizes, cycled: tiny and large ones mixed, with at least one large one per cycle, so that a stream of
// several large frames is never fed a few bytes at a time (hundreds of thousands of reads: a run took 45 s).
const readSizesArb = fc
  .tuple(fc.integer({ min: 1000, max: 300_000 }), fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1000, max: 300_000 })), { maxLength: 19 }))
  .chain(([large, rest]) => fc.shuffledSubarray([large, ...rest], { minLength: rest.length + 1, maxLength: rest.length + 1 }));

/**
 * Reads `frames` into `reader` as a socket with much waiting would: each read fills what `next()` offers, or, with
 * `perFrame`, stops at the end of a frame (each sent on its own, one read each). All are kept. Counts the reads and
 * the bytes of the buffers read into, and the bytes of frames begun in one buffer that were moved to the next.
 */
function readAll(reader: ReadBuffer, frames: Uint8Array[], perFrame = false): { reads: number; allocated: number; received: number; buffers: ArrayBufferLike[]; moved: number } {
  const wire = encodeFrames(frames);
  const ends: number[] = [];
  let end = 0;
  for (const frame of frames) ends.push((end += frame.byteLength + 4));
  const buffers: ArrayBufferLike[] = [];
  const kept: Uint8Array[] = [];
  let reads = 0;
  let moved = 0;
  let last: ArrayBufferLike | undefined;
  let at = 0;
  let index = 0;
  while (at < wire.byteLength) {
    const held = reader.bufferedBytes;
    const room = reader.next();
    // Bytes of a frame begun in one buffer, moved to a new one.
    if (held > 0 && room.buffer !== last) moved += held;
    last = room.buffer;
    if (!buffers.includes(room.buffer)) buffers.push(room.buffer);
    while (perFrame && ends[index]! <= at) index++;
    const n = Math.min(room.byteLength, (perFrame ? ends[index]! : wire.byteLength) - at);
    room.set(wire.subarray(at, at + n));
    at += n;
    reads++;
    reader.received(n, (frame) => void kept.push(frame));
  }
  expect(kept).toHaveLength(frames.length);
  kept.forEach((frame, i) => expect(Buffer.from(frame).equals(Buffer.from(frames[i]!)), `frame ${i}`).toBe(true));
  const allocated = buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0);
  return { reads, allocated, received: wire.byteLength, buffers, moved };
}

describe("the TCP read buffer", () => {
  it("cuts any stream, read in any sizes, into the frames sent; a frame kept by the sink is never written over", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 30 }), readSizesArb, fc.array(fc.boolean(), { minLength: 1 }), (sizes, reads, keeps) => {
        const frames = sizes.map((n, i) => new Uint8Array(n).fill((i * 7 + 1) & 0xff));
        const reader = new ReadBuffer(1024 * 1024);
        const kept: Array<[Uint8Array, Uint8Array]> = [];
        let index = 0;
        const memory = feed(reader, encodeFrames(frames), reads, (frame) => {
          const sent = frames[index]!;
          expect(Buffer.from(frame).equals(Buffer.from(sent))).toBe(true);
          const keep = keeps[index++ % keeps.length]!;
          if (keep) kept.push([frame, sent]);
          return keep ? undefined : FRAME_RELEASED;
        });
        expect(index).toBe(frames.length);
        expect(reader.bufferedBytes).toBe(0);
        for (const [frame, sent] of kept) expect(Buffer.from(frame).equals(Buffer.from(sent))).toBe(true);
        // Bounded per connection: no buffer is larger than a full one, or than the largest frame with its header and
        // room for a full read (a buffer that kept frames has that room before where its reads stop).
        const bound = Math.max(READ_BUFFER_BYTES, ...sizes.map((n) => n + 4 + MIN_READ_BYTES));
        for (const buffer of memory) expect(buffer.byteLength).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 60 },
    );
  });

  it("leaves a kept frame's memory holding no byte of a frame released before it, read in any sizes (nor memory used before)", () => {
    // Released frames are filled with 0xa5 and kept ones with 0x11: once the sink has returned, a kept frame's whole
    // buffer shows no run of 0xa5 outside the bytes of this read from the frame on (frames read with it, after it).
    const RELEASED = 0xa5;
    const releasedRun = (bytes: Uint8Array, from: number, to: number): number => {
      for (let i = from, run = 0; i < to; i++) {
        run = bytes[i] === RELEASED ? run + 1 : 0;
        if (run === 4) return i - 3;
      }
      return -1;
    };
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 30 }), readSizesArb, fc.array(fc.boolean(), { minLength: 1 }), (sizes, reads, keeps) => {
        const keep = (i: number): boolean => keeps[i % keeps.length]!;
        const frames = sizes.map((n, i) => new Uint8Array(n).fill(keep(i) ? 0x11 : RELEASED));
        const reader = new ReadBuffer(1024 * 1024);
        const wire = encodeFrames(frames);
        let index = 0;
        let at = 0;
        for (let r = 0; at < wire.byteLength; r++) {
          const room = reader.next();
          const n = Math.min(room.byteLength, wire.byteLength - at, Math.max(1, reads[r % reads.length]!));
          room.set(wire.subarray(at, at + n));
          at += n;
          const keptNow: Uint8Array[] = [];
          const readEnd = room.byteOffset + n;
          reader.received(n, (frame) => {
            // After a kept frame the sink is handed the next with nothing past the bytes read but zeros already.
            if (index > 0 && keep(index - 1) && frame.buffer === room.buffer) {
              expect(releasedRun(new Uint8Array(frame.buffer), readEnd, frame.buffer.byteLength), "past the bytes read, as the frame is handed over").toBe(-1);
            }
            if (!keep(index++)) return FRAME_RELEASED;
            keptNow.push(frame);
            return undefined;
          });
          for (const frame of keptNow) {
            const memory = new Uint8Array(frame.buffer);
            expect(releasedRun(memory, 0, frame.byteOffset), "before the kept frame").toBe(-1);
            if (frame.buffer === room.buffer) expect(releasedRun(memory, readEnd, memory.byteLength), "past the bytes read").toBe(-1);
          }
        }
        expect(index).toBe(frames.length);
      }),
      { numRuns: 60 },
    );
  });

  it("reads a stream of released frames into one buffer, however the frames straddle the reads", () => {
    const frames = Array.from({ length: 64 }, (_, i) => new Uint8Array(65_532).fill(i));
    const reader = new ReadBuffer(1024 * 1024);
    let count = 0;
    const memory = feed(reader, encodeFrames(frames), [MIN_READ_BYTES, 50_000, 65_536, 1000], () => (count++, FRAME_RELEASED));
    expect(count).toBe(frames.length);
    expect(memory.size).toBe(1);
  });

  it("hands the socket the same memory for every read of a ping-pong of released frames, and new memory after a kept frame", () => {
    const reader = new ReadBuffer(1024 * 1024);
    const wire = encodeFrames([new Uint8Array(100).fill(7)]);
    const handedOut = new Set<Uint8Array>();
    for (let i = 0; i < 50; i++) {
      const room = reader.next();
      handedOut.add(room);
      room.set(wire);
      reader.received(wire.byteLength, () => FRAME_RELEASED);
    }
    // One object for 50 reads: no Buffer is made per read.
    expect(handedOut.size).toBe(1);
    const [released] = handedOut;

    // A kept frame's bytes are the sink's: the next read goes after them, into other memory.
    const room = reader.next();
    expect(room).toBe(released);
    room.set(wire);
    let kept: Uint8Array | undefined;
    reader.received(wire.byteLength, (frame) => void (kept = frame));
    const after = reader.next();
    expect(after).not.toBe(released);
    expect(after.byteOffset).toBeGreaterThanOrEqual(released!.byteOffset + wire.byteLength);
    // A plain view of the same memory, not a Buffer (a Buffer's subarray calls the slow `buffer` getter on every such read).
    expect(Buffer.isBuffer(after)).toBe(false);
    expect(after.buffer).toBe(released!.buffer);
    after.fill(0xee);
    expect(Array.from(kept!).every((b) => b === 7)).toBe(true);
    // And it is handed out again while nothing more was read.
    expect(reader.next()).toBe(after);
  });

  it("reads small frames that are kept one after the other into one buffer, not a buffer per read", () => {
    const frames = Array.from({ length: 1000 }, (_, i) => new Uint8Array(100).fill(i & 0xff));
    const reader = new ReadBuffer(1024 * 1024);
    const kept: Uint8Array[] = [];
    // One frame per read, as a ping-pong reads them.
    const memory = feed(reader, encodeFrames(frames), [104], (frame) => void kept.push(frame));
    expect(kept.length).toBe(frames.length);
    expect(memory.size).toBe(1);
    kept.forEach((frame, i) => expect(Buffer.from(frame).equals(Buffer.from(frames[i]!)), `frame ${i}`).toBe(true));
  });

  it("reads a flood of kept large frames of one size into buffers of whole frames: no frame's start is moved to the next buffer", () => {
    // 64 KiB messages as a plaintext node's bundles carry them, each read filling what it is offered (a socket with much waiting).
    const frames = Array.from({ length: 60 }, (_, i) => new Uint8Array(65_547).fill(i));
    const { moved } = readAll(new ReadBuffer(1024 * 1024), frames);
    // Only the first buffer, made before any frame's size was known, ends inside a frame.
    expect(moved).toBeLessThan(frames[0]!.byteLength);
  });

  it("reads a flood of kept frames larger than the buffer, of several sizes, without moving the start of one to another buffer", () => {
    // A plaintext node's flood of small messages: bundles of up to 264 KiB, a tick's last ones smaller; each read
    // fills what it is offered (a socket with much waiting). In buffers of 256 KiB nearly every bundle was read in
    // part and then moved whole to a buffer of its size: three quarters of the bytes were copied once more.
    const pattern = [270_285, 270_285, 270_285, 245_000, 16_000, 300, 270_285, 100];
    const frames = Array.from({ length: 64 }, (_, i) => new Uint8Array(pattern[i % pattern.length]!).fill(i));
    const { moved, reads } = readAll(new ReadBuffer(1024 * 1024), frames);
    // Only the first buffer, made before any frame's size was known, ends inside a frame.
    expect(moved).toBeLessThanOrEqual(READ_BUFFER_BYTES);
    // A read stops at a frame's end where the next frame could not fit after it: at most about one more read per frame.
    expect(reads).toBeLessThanOrEqual(2 * frames.length + 2);
  });

  it("reads a flood of kept frames of 64 KiB into buffers of whole frames, each filled by one read", () => {
    // A plaintext bulk receiver's 64 KiB messages. With each buffer 256 KiB and its reads stopped 64 KiB before its
    // end, every buffer took a second read of about 100 B, and its last 64 KiB were never used: 199 reads for 300
    // frames, 1.33 times the bytes received allocated.
    const frames = Array.from({ length: 300 }, (_, i) => new Uint8Array(65_547).fill(i));
    const { reads, allocated, received } = readAll(new ReadBuffer(1024 * 1024), frames);
    // Three frames a read (the first buffer, made before any frame's size was known, ends inside the fourth).
    expect(reads).toBeLessThanOrEqual(frames.length / 3 + 1);
    // Each buffer used to its end: only the first one's tail is read into twice.
    expect(allocated).toBeLessThanOrEqual(received + READ_BUFFER_BYTES);
  });

  it("after a frame of 1 MiB, reads the small kept frames that follow into buffers of the usual size", () => {
    // The room kept at a buffer's end for a frame as large as the last ones is not kept for a frame larger than a
    // send batch: it gets a buffer of its own anyway. It was: every buffer after one was 1 MiB and 64 KiB more, of
    // which the small frames used 64 KiB, and a kept 100 B frame held on to all of it.
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) frames.push(new Uint8Array(1024 * 1024).fill(i), ...Array.from({ length: 3 }, () => new Uint8Array(100).fill(i)));
    const { allocated, received, buffers } = readAll(new ReadBuffer(2 * 1024 * 1024), frames, true);
    // A buffer of the frame's size for each large frame, and one of the usual size for the small frames after it.
    for (const buffer of buffers) expect([READ_BUFFER_BYTES, 1024 * 1024 + 4]).toContain(buffer.byteLength);
    expect(allocated).toBeLessThanOrEqual(1.3 * received);
  });

  it("reads a flood of kept frames of one size from 128 KiB to 256 KiB one frame a read, into buffers of that size", () => {
    // Only frames of which two fit in 256 KiB gave buffers of whole frames; one of 128 KiB with its header got a
    // buffer of its size and 64 KiB more, its reads stopped 128 KiB before the end: two reads a frame, 2.00 times the
    // bytes received allocated.
    for (const size of [131_072, 163_836, 262_140]) {
      const frames = Array.from({ length: 100 }, (_, i) => new Uint8Array(size).fill(i));
      for (const perFrame of [false, true]) {
        const { reads, allocated, received } = readAll(new ReadBuffer(1024 * 1024), frames, perFrame);
        expect(reads, `${size} B frames`).toBeLessThanOrEqual(frames.length + 1);
        expect(allocated, `${size} B frames`).toBeLessThanOrEqual(1.05 * received);
      }
    }
  });

  it("after a large kept frame, reads the small ones that follow on to the buffer's end", () => {
    // The room kept at a buffer's end for a frame as large as the largest of the last ones was kept after small frames
    // too: a new buffer of 328 KiB after a frame of 264 KiB, its small frames read into the first 64 KiB (a 264 KiB
    // frame, then 128 KiB of 100 B frames, over and over: 2.37 times the bytes received allocated). Main's reader,
    // which keeps no such room, allocates 1.16 to 1.36 times for these streams; this one, up to 16 KiB more a buffer
    // for that room and a frame after small ones moved as main's are, 1.18 to 1.48.
    const K = 1024;
    const cases: Array<[number, number, boolean]> = [
      [264 * K - 4, 128 * K, true],
      [200 * K, 128 * K, true],
      [264 * K - 4, 192 * K, false],
      [64 * K, 630 * 104, true],
    ];
    for (const [large, small, perFrame] of cases) {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 12; i++) frames.push(new Uint8Array(large).fill(i), ...Array.from({ length: Math.floor(small / 104) }, () => new Uint8Array(100).fill(i)));
      const { allocated, received } = readAll(new ReadBuffer(1024 * 1024), frames, perFrame);
      expect(allocated / received, `${large} B, then ${small} B of 100 B frames`).toBeLessThanOrEqual(1.5);
    }
  });

  it("reads small kept frames after 64 KiB ones, one a read, until a few KiB are left in the buffer", () => {
    // A buffer of kept frames is read into while MIN_KEPT_READ_BYTES (16 KiB) are free: with 64 KiB, as for frames
    // not kept, the last 64 KiB of each buffer of small frames went unused (1.33 times the bytes received allocated).
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) frames.push(...Array.from({ length: 3 }, () => new Uint8Array(65_543).fill(i)), ...Array.from({ length: 1000 }, () => new Uint8Array(1000).fill(i)));
    const { allocated, received } = readAll(new ReadBuffer(1024 * 1024), frames, true);
    expect(allocated).toBeLessThanOrEqual(1.15 * received);
  });

  it("reads a frame larger than the buffer into one buffer of its size, not moved again for its last bytes", () => {
    const frame = new Uint8Array(1024 * 1024 + 100).fill(9);
    const reader = new ReadBuffer(2 * 1024 * 1024);
    const got: Uint8Array[] = [];
    // Reads of 64 KiB: the last one is short, as a socket's often is.
    const memory = feed(reader, encodeFrames([frame]), [65_536], (f) => void got.push(f));
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]!).equals(Buffer.from(frame))).toBe(true);
    // The first buffer, then one of the frame's size: no third one for the frame's end.
    expect(memory.size).toBe(2);
  });

  it("refuses a declared length over the limit before keeping any of it", () => {
    const reader = new ReadBuffer(1000);
    const room = reader.next();
    room.set([0, 0, 0x10, 0]);
    let error: unknown;
    try {
      reader.received(4, () => FRAME_RELEASED);
    } catch (err) {
      error = err;
    }
    expect(isXppgError(error, "XPPG_ERR_FRAME_TOO_LARGE")).toBe(true);
  });

  it("is what both ends of a connection read into on this Node (dialled and accepted sockets)", async () => {
    await withSocketPair(async (accepted, dialled) => {
      const got: number[] = [];
      const reader = new ReadBuffer(1024);
      expect(readIntoBuffer(accepted, () => reader.next(), (n) => reader.received(n, (f) => got.push(f.byteLength)))).toBe(true);
      expect(readIntoBuffer(dialled, () => reader.next(), () => {})).toBe(true);
      dialled.write(encodeFrames([new Uint8Array(3), new Uint8Array(500)]));
      await expect.poll(() => got).toEqual([3, 500]);
    });
  });

  it("takes reads from Node after kept frames, into views of its memory, one read after another, and keeps the kept frames' bytes", async () => {
    await withSocketPair(async (accepted, dialled) => {
      const kept: Uint8Array[] = [];
      const reader = new ReadBuffer(1024 * 1024);
      // Every frame is kept (the sink returns nothing), as an encrypted ping-pong's are: each read lands after the last.
      expect(readIntoBuffer(accepted, () => reader.next(), (n) => reader.received(n, (f) => void kept.push(f)))).toBe(true);
      for (let i = 0; i < 20; i++) {
        dialled.write(encodeFrames([new Uint8Array(100 + i).fill(i)]));
        await expect.poll(() => kept.length).toBe(i + 1);
      }
      kept.forEach((frame, i) => {
        expect(frame.byteLength).toBe(100 + i);
        expect(frame.every((b) => b === i)).toBe(true);
      });
    });
  });
});
