import { connect, createServer, type Socket } from "node:net";
import { once } from "node:events";
import { FrameDecoder, encodeFrames } from "@xppg/framing";
import type { Connection } from "@xppg/transport";
import { Collector, deferred, sameBytes, within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpTransport } from "../src/index.js";

const MAX = 16 * 1024;
const transport = tcpTransport({ maxFrameSize: MAX });

const framesArb = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 2, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 3000 }) },
    { weight: 1, arbitrary: fc.integer({ min: MAX - 8, max: MAX }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
  ),
  { maxLength: 25 },
);

/** Cuts `bytes` at the given (unsorted, possibly repeated) positions. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.byteLength]) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  return out;
}

function write(socket: Socket, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => socket.write(chunk, (err) => (err ? reject(err) : resolve())));
}

describe("tcp framing through a real socket (property)", () => {
  it("decodes any stream of valid frames, cut into any chunks, to the same frames", async () => {
    let next = deferred<Connection>();
    const listener = await transport.listen("tcp://127.0.0.1:0", (c) => next.resolve(c));
    try {
      await fc.assert(
        fc.asyncProperty(framesArb, fc.array(fc.nat(), { maxLength: 40 }), async (frames, cuts) => {
          next = deferred<Connection>();
          const socket = connect({ host: "127.0.0.1", port: listener.port!, noDelay: true });
          socket.on("error", () => {});
          try {
            await once(socket, "connect");
            const conn = await within(next.promise, "accept");
            const at = new Collector(conn);
            for (const chunk of split(encodeFrames(frames), cuts)) {
              await write(socket, chunk);
              // Give the receiver a chance to read each chunk on its own.
              await new Promise((r) => setImmediate(r));
            }
            await at.waitFor(frames.length);
            expect(at.frames.length).toBe(frames.length);
            frames.forEach((f, i) => expect(sameBytes(at.frames[i]!, f)).toBe(true));
            await conn.close();
          } finally {
            socket.destroy();
          }
        }),
        { numRuns: 40, interruptAfterTimeLimit: 30_000 },
      );
    } finally {
      await listener.close();
    }
  });

  describe("the write path", () => {
    let server: ReturnType<typeof createServer>;
    let received: Uint8Array[] = [];
    let wanted = 0;
    let got = deferred<void>();
    beforeAll(async () => {
      server = createServer((s) => {
        const decoder = new FrameDecoder({ maxFrameSize: MAX });
        s.on("data", (chunk) =>
          decoder.push(chunk, (f) => {
            received.push(f.slice());
            if (received.length === wanted) got.resolve();
          }),
        );
        s.on("error", () => {});
      });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
    });
    afterAll(() => {
      server.close();
    });

    it("writes any sequence of sends, awaited or not, as valid frames in order", async () => {
      const port = (server.address() as { port: number }).port;
      await fc.assert(
        fc.asyncProperty(framesArb, fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }), async (frames, awaitIt) => {
          received = [];
          wanted = frames.length;
          got = deferred<void>();
          if (wanted === 0) got.resolve();
          const conn = await transport.dial(`tcp://127.0.0.1:${port}`);
          try {
            const pending: Promise<void>[] = [];
            for (const [i, f] of frames.entries()) {
              const p = conn.send(f);
              if (awaitIt[i]) await p;
              else pending.push(p);
            }
            await Promise.all(pending);
            await within(got.promise, `${wanted} frames at the raw server`);
            expect(received.length).toBe(frames.length);
            frames.forEach((f, i) => expect(sameBytes(received[i]!, f)).toBe(true));
          } finally {
            await conn.close();
          }
        }),
        { numRuns: 40, interruptAfterTimeLimit: 30_000 },
      );
    });
  });
});
