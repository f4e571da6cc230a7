// The relay's TCP port fed arbitrary and mutated-valid bytes on raw sockets
// (fast-check): frames of random bytes, control messages with a field changed,
// declared lengths past the limit, bytes after a valid request. The relay
// never throws, closes what it refuses, and keeps taking a good reservation.
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelayService } from "../src/relay-service.js";
import { relayTransport } from "../src/relay-transport.js";
import { MAX_CONTROL_BYTES } from "../src/relay-wire.js";

let relay: RelayService;
let address: string;
let port: number;
const crashes: unknown[] = [];
const onCrash = (error: unknown): void => void crashes.push(error);

beforeAll(async () => {
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  // No dial-backs: a fuzzed port must not make the relay dial this machine's services.
  relay = new RelayService({ setupTimeoutMs: 500, dialbacksPerIpPerMinute: 0, maxReservationsPerIp: 1000, maxReservations: 1000 });
  const tcp = await relay.start("tcp://127.0.0.1:0");
  address = tcp.replace("tcp://", "relay://");
  port = Number(tcp.split(":").at(-1));
});
afterAll(async () => {
  await relay.close();
  process.off("uncaughtException", onCrash);
  process.off("unhandledRejection", onCrash);
});

const anyJson = fc.jsonValue({ maxDepth: 2 });
const valid = [{ t: "reserve", id: "fuzz-peer" }, { t: "connect", to: "nobody" }, { t: "accept", circuit: "0".repeat(32) }, { t: "dialback", port: 9 }];
const control = fc.constantFrom(...valid).chain((v) =>
  fc.oneof(
    fc.constant<unknown>(v),
    fc.tuple(fc.constantFrom(...Object.keys(v)), anyJson).map(([k, x]) => ({ ...v, [k]: x })),
  ),
);
const frameOf = (payload: Uint8Array, declared = payload.length): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(declared >>> 0);
  return Buffer.concat([head, payload]);
};
const chunk = fc.oneof(
  control.map((c) => frameOf(Buffer.from(JSON.stringify(c)))),
  fc.uint8Array({ maxLength: 200 }).map((b) => frameOf(b)),
  fc.constantFrom(MAX_CONTROL_BYTES + 1, 0xffffffff, 0).map((n) => frameOf(new Uint8Array(8), n)),
  fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
);

/** Writes `chunks`, ends its side, and waits until the relay closed the socket (or its setup time is long past). */
function session(chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, "127.0.0.1", () => {
      for (const c of chunks) s.write(c);
      s.end();
    });
    s.on("error", () => {});
    s.resume();
    const cut = setTimeout(() => s.destroy(), 3_000);
    s.on("close", () => {
      clearTimeout(cut);
      resolve();
    });
  });
}

describe("the relay's port on hostile sockets", () => {
  it("never throws, closes every fuzzed socket, and still takes a good reservation after each batch", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(chunk, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), async (sessions) => {
        await Promise.all(sessions.map(session));
        // The listener resolves once the relay answered "reserved".
        const good = await relayTransport({ peerId: `good-${++n}` }).listen(address, () => {});
        await good.close();
        expect(crashes).toEqual([]);
      }),
      { numRuns: 200 },
    );
    expect(relay.stats.refused).toBeGreaterThan(0);
    // Every fuzzed reservation ended with its socket.
    await expect.poll(() => relay.stats.reservations, { timeout: 5_000 }).toBe(0);
  }, 120_000);
});
