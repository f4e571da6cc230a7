// Records cut to the maxFrameSize the connection below states: whatever that
// limit (from a little over the handshake's largest message up to more than
// a full record) and whatever the frames' sizes and how they share ticks,
// every frame arrives whole and in order, and the channel stays open (a
// record over the limit would be refused by the connection below and end it).
import { memoryTransport } from "@xppg/transport";
import { within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateIdentity, type SecureConnection } from "../src/index.js";
import { securePair } from "./helpers.js";

const KiB = 1024;

async function roundTrip(limit: number, ticks: number[][]): Promise<void> {
  const { server, client, listener } = await securePair(memoryTransport({ maxFrameSize: limit }), "memory://sizing", { identity: generateIdentity() }, { identity: generateIdentity() });
  await listener.close();
  const closing: SecureConnection[] = [server, client];
  try {
    const sent: Uint8Array[] = [];
    let seed = 0;
    for (const tick of ticks) {
      for (const size of tick) {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = (seed + i) % 251;
        sent.push(bytes);
        seed++;
      }
    }
    const got: Uint8Array[] = [];
    const all = new Promise<void>((resolve) => {
      if (sent.length === 0) resolve();
      server.read({
        frame: (f) => {
          got.push(f.slice());
          if (got.length === sent.length) resolve();
        },
      });
    });
    let at = 0;
    for (const tick of ticks) {
      // One tick's frames: the first sealed at once, the rest together at the tick's end.
      await Promise.all(tick.map(() => client.send(sent[at++]!)));
    }
    await within(all, `${sent.length} frames over frames of at most ${limit} bytes`);
    expect(got.map((f) => f.byteLength)).toEqual(sent.map((f) => f.byteLength));
    got.forEach((f, i) => expect(Buffer.compare(f, sent[i]!), `frame ${i}`).toBe(0));
    expect(client.isClosed).toBe(false);
    expect(server.isClosed).toBe(false);
  } finally {
    await Promise.all(closing.map((c) => c.close()));
  }
}

describe("records over a connection that states a maxFrameSize", () => {
  it("every frame arrives whole and in order, whatever the limit and the frames (property)", async () => {
    const size = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 300, max: 70 * KiB }), fc.integer({ min: 120 * KiB, max: 200 * KiB }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 1024, max: 4 * KiB }), fc.integer({ min: 4 * KiB, max: 70 * KiB }), fc.constantFrom(65_535, 65_536)),
        fc.array(fc.array(size, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        (limit, ticks) => roundTrip(limit, ticks),
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
