// Records cut to the maxFrameSize the connection below states: whatever that
// limit (enforced by the transport from 1 KiB up to more than a full record;
// stated by the connection after the handshake from 17 bytes, a record of one
// plaintext byte and its tag, up) and whatever the frames' sizes and how they share ticks,
// every frame arrives whole and in order, and the channel stays open (a
// record over the limit would be refused by the connection below and end it).
import { memoryTransport } from "@xppg/transport";
import { within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { securePair, statingLimit } from "./helpers.js";

const KiB = 1024;

/** A pair whose client's connection states `limit` from the handshake on (a limit the handshake's messages exceed, or no integer). */
async function pairStating(limit: number): Promise<{ server: SecureConnection; client: SecureConnection }> {
  const transport = memoryTransport();
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((resolve) => (accept = resolve));
  const listener = await transport.listen("memory://stated", (conn) => void secureConnection(conn, { identity: generateIdentity() }).then(accept, () => {}));
  try {
    const client = await secureConnection(statingLimit(await transport.dial(listener.address), limit), { identity: generateIdentity() });
    return { server: await within(accepted, "the listener's handshake"), client };
  } finally {
    await listener.close();
  }
}

/**
 * `ticks` of frames (their sizes) from client to server over frames of at most `limit` bytes: enforced by a
 * memory transport made with it, or (`stated`) only stated by the client's connection after the handshake (the
 * record layer refuses a record over it before sealing, which ends the channel).
 */
async function roundTrip(limit: number, ticks: number[][], stated = false): Promise<void> {
  let server: SecureConnection;
  let client: SecureConnection;
  if (stated) ({ server, client } = await pairStating(limit));
  else {
    const pair = await securePair(memoryTransport({ maxFrameSize: limit }), "memory://sizing", { identity: generateIdentity() }, { identity: generateIdentity() });
    await pair.listener.close();
    ({ server, client } = pair);
  }
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

describe("records over a connection that states a small maxFrameSize (after the handshake)", () => {
  it("every frame arrives whole and in order, from records of one plaintext byte (17) to a tag and a frame header apart (property)", async () => {
    // 17: one plaintext byte and the tag; 20, 21: a frame's 4-byte header and the tag, and one byte more.
    const size = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 40, max: 2 * KiB }));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(17, 18, 20, 21, 33, 101, 1023),
        fc.array(fc.array(size, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
        (limit, ticks) => roundTrip(limit, ticks, true),
      ),
      { numRuns: 30 },
    );
  }, 120_000);

  it.each([17, 18, 20, 21, 33, 101, 1023])("with a limit of %i: frames of 0, 1, 3, 4, 5 and 1,000 bytes, alone and in one tick", async (limit) => {
    await roundTrip(limit, [[0], [1], [3, 4, 5], [1000, 0, 1]], true);
  }, 60_000);
});

describe("a connection that states a fractional maxFrameSize", () => {
  it("is taken at its floor: frames of every size arrive (records end on whole bytes)", async () => {
    await roundTrip(1000.5, [[1], [983], [984, 985], [5000], [70 * KiB, 3]], true);
  }, 60_000);
});
