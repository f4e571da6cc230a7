// A received record the layer releases may be reused at once by the connection below: no frame handed up
// may be a view of it. Records cut anywhere, from a raw Noise peer; the connection below overwrites each
// record as soon as it is released, and every frame handed up is checked at the end.
import { FRAME_RELEASED, memoryTransport, type Connection, type FrameSink } from "@xppg/transport";
import { patterned, sameBytes, within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { cryptoProvider, generateIdentity } from "../src/index.js";
import { plaintextOf, rawHandshake } from "./helpers.js";

const EMPTY = new Uint8Array(0);
/** The most plaintext one record carries. */
const RECORD_MAX_PLAINTEXT = 65_519;

/** `conn` whose records are overwritten with 0xEE as soon as the layer above releases them (as a transport that reuses its memory would). */
function overwritingReleased(conn: Connection): Connection {
  return new Proxy(conn, {
    get(target, key) {
      if (key === "read") {
        return (sink: FrameSink) =>
          target.read({
            frame: (record: Uint8Array) => {
              if ((sink.frame(record) as unknown) === FRAME_RELEASED) record.fill(0xee);
              return undefined;
            },
            close: (info) => sink.close?.(info),
          });
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Sends `frames` from a raw Noise peer, their stream cut into records of the lengths `cuts` gives (in turn,
 * again from the first when they run out, and records of the largest size after {@link MAX_CUT_RECORDS}, so
 * a long stream cut into bytes stays quick; the last record ends with the stream), to a secure connection
 * over {@link overwritingReleased}; resolves with the frames it handed up, as handed up. With `reentrant`, its
 * handler sends every third frame back from inside the callback.
 */
/** Records cut as asked before the rest of a stream goes in records of the largest size (a bound on a run's work). */
const MAX_CUT_RECORDS = 3000;

async function receivedThroughCuts(frames: Uint8Array[], cuts: number[], reentrant: boolean): Promise<Uint8Array[]> {
  const t = memoryTransport();
  let accepted!: Promise<Connection>;
  const listener = await t.listen("memory://", (c) => {
    accepted = secureConnectionWith(cryptoProvider, overwritingReleased(c), { identity: generateIdentity() });
  });
  try {
    const raw = await t.dial(listener.address);
    const { session } = await rawHandshake(raw, generateIdentity());
    const server = await within(accepted, "the server's handshake");
    const views: Uint8Array[] = [];
    let all!: () => void;
    const done = new Promise<void>((resolve) => (all = resolve));
    server.read({
      frame: (f) => {
        views.push(f);
        if (reentrant && views.length % 3 === 0) void server.send(f).catch(() => {});
        if (views.length === frames.length) all();
      },
    });
    const stream = plaintextOf(...frames);
    let from = 0;
    for (let i = 0; from < stream.byteLength; i++) {
      const to = Math.min(stream.byteLength, from + (i < MAX_CUT_RECORDS ? cuts[i % cuts.length]! : RECORD_MAX_PLAINTEXT));
      await raw.send(session.send.encryptWithAd(EMPTY, stream.subarray(from, to)));
      from = to;
    }
    await within(done, "every frame");
    await raw.close();
    return views;
  } finally {
    await listener.close();
  }
}

/** The indexes of the frames that did not arrive as sent. */
function rewritten(sent: Uint8Array[], got: Uint8Array[]): number[] {
  return sent.flatMap((f, i) => (got[i] !== undefined && sameBytes(got[i], f) ? [] : [i]));
}

describe("no frame handed up is a view of a record released to the connection below", () => {
  // [frame sizes, the stream's cuts (where each record ends)]
  const cases: Array<[string, number[], number[]]> = [
    ["a frame exactly filling a record", [10], [14]],
    ["a zero-length frame alone", [0], [4]],
    ["zero-length frames, then a frame, each in a record of its own", [0, 0, 5], [4, 8, 17]],
    ["zero-length frames and a frame in one record", [0, 0, 5], [17]],
    ["a length prefix split across records", [20, 7], [2, 35]],
    ["a record that ends a frame being assembled and starts the next", [20, 7], [10, 30, 35]],
    ["a record that exactly ends a frame being assembled", [20, 7], [10, 24, 35]],
    ["a record that ends a frame being assembled and holds a whole frame", [20, 7], [10, 35]],
    ["a record that ends a frame being assembled and holds a zero-length frame", [20, 0], [10, 28]],
    ["a record that ends a frame being assembled, holds a whole frame and starts another", [20, 3, 3], [10, 33, 38]],
    ["a large frame assembled over records, then a frame in the record that ends it", [40_000, 5], [100, 40_004, 40_013]],
    ["a large frame opened straight into its buffer, then the rest with two frames", [40_000, 5, 6], [100, 30_000, 40_013, 40_023]],
  ];
  for (const [name, sizes, ends] of cases) {
    it(name, async () => {
      const frames = sizes.map((n, i) => patterned(n, n + i + 1));
      expect(ends[ends.length - 1]).toBe(plaintextOf(...frames).byteLength);
      const cuts = ends.map((end, i) => end - (ends[i - 1] ?? 0));
      const got = await receivedThroughCuts(frames, cuts, false);
      expect(rewritten(frames, got)).toEqual([]);
    });
  }

  it("frames of any size cut into records of any length, with and without a handler that sends", async () => {
    // Empty, small, medium and large frames (those beyond 32 KiB are assembled in buffers of their own).
    const size = fc.oneof(
      { arbitrary: fc.constant(0), weight: 1 },
      { arbitrary: fc.nat(39), weight: 5 },
      { arbitrary: fc.nat(299), weight: 3 },
      { arbitrary: fc.integer({ min: 32 * 1024, max: 72 * 1024 }), weight: 1 },
    );
    // Records of one byte, a few, up to a short frame, up to a medium one, up to the largest.
    const cut = fc.oneof(
      { arbitrary: fc.constant(1), weight: 1 },
      { arbitrary: fc.integer({ min: 2, max: 7 }), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 80 }), weight: 3 },
      { arbitrary: fc.integer({ min: 1, max: 2000 }), weight: 2 },
      { arbitrary: fc.integer({ min: 1, max: RECORD_MAX_PLAINTEXT }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(size, fc.nat(255)), { minLength: 1, maxLength: 8 }),
        fc.array(cut, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        async (shapes, cuts, reentrant) => {
          const frames = shapes.map(([n, seed]) => patterned(n, seed));
          expect(rewritten(frames, await receivedThroughCuts(frames, cuts, reentrant))).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
