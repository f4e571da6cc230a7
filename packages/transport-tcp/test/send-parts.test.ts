import type { Connection } from "@xppg/transport";
import { Collector, deferred, sameBytes, within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BATCH_BYTES, BY_REFERENCE_BYTES } from "../src/constants.js";
import { tcpTransport } from "../src/index.js";

// Parts around the by-reference threshold and frames that overflow a batch
// mid-frame: the pieces must still leave in order.
const partArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 2, arbitrary: fc.integer({ min: BY_REFERENCE_BYTES - 2, max: BY_REFERENCE_BYTES + 2 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50_000, max: 120_000 }) },
);
const frameArb = fc.record({ parts: fc.array(partArb, { maxLength: 5 }), viaParts: fc.boolean(), seed: fc.integer({ min: 1, max: 255 }) });

function build(sizes: number[], seed: number): Uint8Array[] {
  return sizes.map((size, i) => new Uint8Array(size).fill((seed + i) & 0xff));
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

describe("tcp sendParts (property)", () => {
  const transport = tcpTransport();
  let client: Connection;
  let server: Connection;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const accepted = deferred<Connection>();
    const listener = await transport.listen("tcp://127.0.0.1:0", (c) => accepted.resolve(c));
    client = await transport.dial(listener.address);
    server = await within(accepted.promise, "accept");
    close = async () => {
      await Promise.allSettled([client.close(), server.close()]);
      await listener.close();
    };
  });
  afterAll(() => close());

  it("delivers any mix of send and sendParts in one tick, byte-exact and in order", async () => {
    expect(BATCH_BYTES).toBeGreaterThan(BY_REFERENCE_BYTES);
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 30 }), async (frames) => {
        const at = new Collector(server);
        const expected: Uint8Array[] = [];
        const sends: Promise<void>[] = [];
        for (const { parts, viaParts, seed } of frames) {
          const built = build(parts, seed);
          const joined = join(built);
          expected.push(joined);
          sends.push(viaParts ? client.sendParts(built) : client.send(joined));
        }
        await within(Promise.all(sends), "the sends");
        await at.waitFor(expected.length);
        expect(at.frames.length).toBe(expected.length);
        expected.forEach((f, i) => {
          if (!sameBytes(at.frames[i]!, f)) expect.fail(`frame ${i} (${f.byteLength} bytes) arrived changed`);
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe("tcp send batches", () => {
  it("are recycled only once written: two connections sharing the pool, receivers paused, many ticks", async () => {
    const transport = tcpTransport();
    const pairs: Array<{ client: Connection; server: Connection }> = [];
    const accepted: Connection[] = [];
    const acceptedAll = deferred<void>();
    const server = await transport.listen("tcp://127.0.0.1:0", (c) => {
      accepted.push(c);
      if (accepted.length === 2) acceptedAll.resolve();
    });
    try {
      const clients = [await transport.dial(server.address), await transport.dial(server.address)];
      await within(acceptedAll.promise, "two accepts");
      for (let i = 0; i < 2; i++) pairs.push({ client: clients[i]!, server: accepted[i]! });
      const collectors = pairs.map((p) => new Collector(p.server));
      for (const p of pairs) p.server.pause();
      // Each tick both connections fill fresh batches (small frames are
      // copied) while earlier batches still sit unwritten behind a full
      // socket: one recycled too early would be overwritten by the other
      // connection's next tick.
      const expected: Uint8Array[][] = [[], []];
      const sends: Promise<void>[] = [];
      for (let tick = 0; tick < 40; tick++) {
        for (let c = 0; c < 2; c++) {
          for (let k = 0; k < 60; k++) {
            const frame = new Uint8Array(4000 + k).fill((tick * 7 + c * 3 + k) & 0xff);
            expected[c]!.push(frame);
            sends.push(k % 2 === 0 ? pairs[c]!.client.send(frame) : pairs[c]!.client.sendParts([frame.slice(0, 1000), frame.slice(1000)]));
          }
        }
        await new Promise((r) => setImmediate(r));
      }
      for (const p of pairs) p.server.resume();
      await within(Promise.all(sends), "the sends");
      await Promise.all(collectors.map((col, c) => col.waitFor(expected[c]!.length)));
      collectors.forEach((col, c) =>
        expected[c]!.forEach((f, i) => {
          if (!sameBytes(col.frames[i]!, f)) expect.fail(`connection ${c}, frame ${i} arrived changed`);
        }),
      );
    } finally {
      await Promise.allSettled([...pairs.flatMap((p) => [p.client.close(), p.server.close()])]);
      await server.close();
    }
  });
});
