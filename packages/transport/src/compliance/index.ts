import { XPPG_ERROR_CODES, isXppgError } from "@xppg/errors";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Connection } from "../connection.js";
import { DEFAULT_MAX_FRAME_SIZE } from "../constants.js";
import { TRANSPORT_CONTRACT_ERROR_CODES, TRANSPORT_ERROR_CODES, TransportError } from "../errors.js";
import type { Listener, Transport } from "../transport.js";
import type { ComplianceSetup } from "./setup.js";
import { Collector, deferred, isPending, LyingBytes, numberOf, numbered, patterned, sameBytes, turns, within } from "./helpers.js";

export { Collector, deferred, isPending, LyingBytes, lyingBytes, numberOf, numbered, patterned, sameBytes, turns, within } from "./helpers.js";
export type { Deferred } from "./helpers.js";
export type { ComplianceSetup } from "./setup.js";

interface Pair {
  listener: Listener;
  dialer: Connection;
  accepted: Connection;
}

const CODES = TRANSPORT_ERROR_CODES;

/** What the transport under test says of itself, where the tests cannot find it out before they run. */
export interface ComplianceOptions {
  /**
   * Its connections lend room of their send buffer (`lendRoom` with
   * `sendLent`, optional): the lending tests run, and fail if a connection
   * lends nothing. Without it, one test checks that a connection lends
   * nothing (no `lendRoom`, or one that answers `undefined`).
   */
  lends?: boolean;
}

/** The connection lends room (`lendRoom` with `sendLent`, and a room when asked). */
function lends(c: Connection): c is Connection & Required<Pick<Connection, "lendRoom" | "sendLent">> {
  return c.lendRoom !== undefined && c.sendLent !== undefined && c.lendRoom(1, 1) !== undefined;
}

/** The transport said it lends (`options.lends`): its connection must. */
function assertLends(c: Connection): asserts c is Connection & Required<Pick<Connection, "lendRoom" | "sendLent">> {
  expect(lends(c), "the transport says it lends ({ lends: true }), but its connection lends no room").toBe(true);
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  let error: unknown;
  try {
    await within(promise, `a rejection with ${code}`);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a rejection with ${code}`).toBeDefined();
  expect((error as { code?: unknown }).code, String((error as Error).message)).toBe(code);
  expect(isXppgError(error, code)).toBe(true);
}

/**
 * Registers a `describe` block of tests every transport must pass: addresses,
 * ordered byte-exact delivery, limits, pause and backpressure, close from
 * either side, and dial errors. Call it from a test file:
 *
 * ```ts
 * transportComplianceTests("tcp", () => ({ transport: tcpTransport(), listenAddress: "tcp://127.0.0.1:0" }));
 * ```
 *
 * A transport that only dials passes a `listenTransport` to accept its dials.
 * `setup` runs once before the tests; `teardown` (if returned) once after.
 * The tests assert no timings: they wait for events, with generous bounds.
 */
export function transportComplianceTests(name: string, setup: () => ComplianceSetup | Promise<ComplianceSetup>, options: ComplianceOptions = {}): void {
  // The lending tests are registered for a transport that says its connections lend, and only for it.
  const lendingIt = (options.lends === true ? it : Object.assign(() => {}, { for: () => () => {} })) as typeof it;
  describe(`transport compliance: ${name}`, () => {
    let ctx: ComplianceSetup;
    let transport: Transport;
    let listening: Transport;
    let maxFrameSize: number;
    const listeners: Listener[] = [];
    const connections: Connection[] = [];

    beforeAll(async () => {
      ctx = await setup();
      transport = ctx.transport;
      listening = ctx.listenTransport ?? transport;
      maxFrameSize = ctx.maxFrameSize ?? transport.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    });

    afterEach(async () => {
      const cs = connections.splice(0);
      const ls = listeners.splice(0);
      await Promise.allSettled(cs.map((c) => within(c.close(), "a connection to close in cleanup")));
      await Promise.allSettled(ls.map((l) => l.close()));
    });

    afterAll(async () => {
      await ctx?.teardown?.();
    });

    async function listen(onConnection: (c: Connection) => void = () => {}): Promise<Listener> {
      const listener = await listening.listen(ctx.listenAddress, (c) => {
        connections.push(c);
        onConnection(c);
      });
      listeners.push(listener);
      return listener;
    }

    async function pair(): Promise<Pair> {
      const accepted = deferred<Connection>();
      const listener = await listen((c) => accepted.resolve(c));
      const dialer = await within(transport.dial(listener.address), `a dial to ${listener.address}`);
      connections.push(dialer);
      return { listener, dialer, accepted: await within(accepted.promise, "the listener to accept") };
    }

    /** A listener address where, a moment ago, something listened and now nothing does. */
    async function deadAddress(): Promise<string> {
      const listener = await listening.listen(ctx.listenAddress, (c) => void c.close());
      await listener.close();
      return listener.address;
    }

    it("listens on a fresh address and dials the reported address", async () => {
      const { listener, dialer, accepted } = await pair();
      expect(typeof listener.address).toBe("string");
      expect(listener.address.startsWith(`${transport.name}://`)).toBe(true);
      expect(transport.canDial(listener.address)).toBe(true);
      for (const c of [dialer, accepted]) {
        expect(c.transport).toBe(transport.name);
        expect(c.remoteAddress.length).toBeGreaterThan(0);
        expect(c.localAddress.length).toBeGreaterThan(0);
        expect(c.isClosed).toBe(false);
      }
      expect(dialer.outbound).toBe(true);
      expect(accepted.outbound).toBe(false);
    });

    it("reports the peer's host without port as remoteHost, the same on every connection", async () => {
      const first = await pair();
      const second = await pair();
      for (const c of [first.dialer, first.accepted, second.dialer, second.accepted]) {
        expect(typeof c.remoteHost).toBe("string");
        expect(c.remoteHost.length).toBeGreaterThan(0);
        // No brackets, no scheme, no path: a host, not an address.
        expect(c.remoteHost).not.toMatch(/[[\]/]/);
        if (ctx.remoteHost !== undefined) expect(c.remoteHost).toBe(ctx.remoteHost);
      }
      expect(second.accepted.remoteHost).toBe(first.accepted.remoteHost);
      expect(second.dialer.remoteHost).toBe(first.dialer.remoteHost);
    });

    it("two listeners on the same listen address get distinct addresses", async () => {
      const a = await listen();
      const b = await listen();
      expect(a.address).not.toBe(b.address);
    });

    it("delivers frames both ways whole, byte-exact and in order (empty, 1 byte, maxFrameSize)", async () => {
      const { dialer, accepted } = await pair();
      const sizes = [0, 1, 2, 1000, maxFrameSize, 0, 65_537 > maxFrameSize ? 1 : 65_537, maxFrameSize - 1];
      const fromDialer = sizes.map((s, i) => patterned(s, i + 1));
      const fromAccepted = sizes.map((s, i) => patterned(s, i + 100));
      const atAccepted = new Collector(accepted);
      const atDialer = new Collector(dialer);
      await Promise.all([...fromDialer.map((f) => dialer.send(f)), ...fromAccepted.map((f) => accepted.send(f))]);
      await Promise.all([atAccepted.waitFor(sizes.length), atDialer.waitFor(sizes.length)]);
      expect(atAccepted.frames.map((f) => f.byteLength)).toEqual(sizes);
      expect(atDialer.frames.map((f) => f.byteLength)).toEqual(sizes);
      fromDialer.forEach((f, i) => expect(sameBytes(atAccepted.frames[i]!, f), `frame ${i} dialer->accepted`).toBe(true));
      fromAccepted.forEach((f, i) => expect(sameBytes(atDialer.frames[i]!, f), `frame ${i} accepted->dialer`).toBe(true));
    });

    it("lets the sender reuse its buffer as soon as send returns", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      const buf = new Uint8Array(16);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 5; i++) {
        buf.fill(i);
        sends.push(dialer.send(buf));
      }
      await Promise.all(sends);
      await at.waitFor(5);
      at.frames.forEach((f, i) => expect(sameBytes(f, new Uint8Array(16).fill(i))).toBe(true));
    });

    it("delivers 10,000 small frames sent without awaiting, in order", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 10_000; i++) sends.push(dialer.send(numbered(i, i % 7)));
      await within(Promise.all(sends), "10,000 sends");
      await at.waitFor(10_000);
      expect(at.frames.length).toBe(10_000);
      at.frames.forEach((f, i) => {
        if (numberOf(f) !== i || f.byteLength !== 4 + (i % 7)) expect.fail(`frame ${i} arrived as ${numberOf(f)} (${f.byteLength} bytes)`);
      });
    });

    it("sendParts delivers its parts joined as one frame, in order with send's frames", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      const big = Math.min(40_000, Math.floor(maxFrameSize / 2) - 8);
      // Empty parts, small parts, parts large enough to go by reference, and a frame of maxFrameSize.
      const frames: Uint8Array[][] = [
        [],
        [patterned(0, 1)],
        [patterned(5, 2)],
        [patterned(3, 3), patterned(0, 4), patterned(7, 5)],
        [patterned(big, 6), patterned(16, 7), patterned(big, 8)],
        [patterned(maxFrameSize - 3, 9), patterned(3, 10)],
      ];
      const sends: Promise<void>[] = [];
      frames.forEach((parts, i) => {
        sends.push(dialer.sendParts(parts));
        sends.push(dialer.send(numbered(i)));
      });
      await within(Promise.all(sends), "the sends");
      await at.waitFor(frames.length * 2);
      frames.forEach((parts, i) => {
        const joined = at.frames[i * 2]!;
        const expected = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        let offset = 0;
        for (const p of parts) {
          expected.set(p, offset);
          offset += p.byteLength;
        }
        expect(sameBytes(joined, expected), `frame ${i} from parts`).toBe(true);
        expect(numberOf(at.frames[i * 2 + 1]!)).toBe(i);
      });
    });

    // Optional (`lendRoom` with `sendLent`): these run for a transport that says it lends (`options.lends`), the next one for the others.
    if (options.lends !== true) {
      it("lends no room of its send buffer (it does not say it lends): no lendRoom, or one that answers undefined; send carries every frame", async () => {
        const { dialer, accepted } = await pair();
        expect(dialer.lendRoom === undefined || dialer.lendRoom(1, 1) === undefined, "a connection that lends: pass { lends: true } to run the lending tests").toBe(true);
        const at = new Collector(accepted);
        await within(dialer.send(numbered(1)), "the send");
        await at.waitFor(1);
        expect(numberOf(at.frames[0]!)).toBe(1);
      });
    }
    lendingIt("lendRoom/sendLent: frames written in place arrive as written, in order with send's; a send ends the loan", async () => {
      const { dialer, accepted } = await pair();
      assertLends(dialer);
      const at = new Collector(accepted);
      const big = Math.min(40_000, maxFrameSize);
      const sizes = [0, 1, 100, 5000, big, maxFrameSize];
      const sends: Promise<void>[] = [];
      sizes.forEach((size, i) => {
        const room = dialer.lendRoom(size, maxFrameSize)!;
        expect(room.length, `room for ${size} bytes`).toBeGreaterThanOrEqual(size);
        expect(room.length).toBeLessThanOrEqual(Math.max(size, maxFrameSize));
        room.set(patterned(size, i), 0);
        sends.push(dialer.sendLent(size));
        sends.push(dialer.send(numbered(i)));
      });
      await within(Promise.all(sends), "the sends");
      await at.waitFor(sizes.length * 2);
      sizes.forEach((size, i) => {
        expect(sameBytes(at.frames[i * 2]!, patterned(size, i)), `lent frame ${i}`).toBe(true);
        expect(numberOf(at.frames[i * 2 + 1]!)).toBe(i);
      });
      // A send between the loan and sendLent ends the loan: what was written cannot go, and the connection closes with a typed error.
      dialer.lendRoom(10, 10)!.set(patterned(10, 99), 0);
      void dialer.send(numbered(100)).catch(() => {});
      await expectCode(dialer.sendLent(10), TRANSPORT_CONTRACT_ERROR_CODES.CONTRACT_BROKEN);
      await within(dialer.closed, "the close");
      expect(dialer.lendRoom(1, 1)).toBeUndefined();
    });

    // A loan kept open across turns while the socket writes what came before it: the room lent stays the connection's
    // (no write's completion may hand its batch back to a pool another connection takes from), with the socket
    // backed up (the receiver paused: the earlier frames stay unwritten) or flowing (their writes complete meanwhile).
    lendingIt.for(["paused", "flowing"] as const)(
      "lendRoom: a loan kept open over several turns while earlier frames are written and a second connection sends, receiver %s",
      async (receiver) => {
        const a = await pair();
        const b = await pair();
        const { dialer } = a;
        assertLends(dialer);
        const atA = new Collector(a.accepted);
        const atB = new Collector(b.accepted);
        const sendsA: Promise<void>[] = [];
        const sendsB: Promise<void>[] = [];
        // What each connection sent, in order (a frame's bytes are compared whole).
        const sentA: Uint8Array[] = [];
        const sentB: Uint8Array[] = [];
        const sendA = (frame: Uint8Array): Promise<void> => (sentA.push(frame), dialer.send(frame));
        if (receiver === "paused") {
          a.accepted.pause();
          const frameSize = Math.max(8, Math.min(16 * 1024, maxFrameSize));
          const limit = ctx.backpressureLimitBytes ?? 64 * 1024 * 1024;
          let backedUp = false;
          for (let sent = 0; sent < limit && !backedUp; sent += frameSize) {
            const p = sendA(numbered(sendsA.length, frameSize - 4));
            sendsA.push(p);
            backedUp = await isPending(p, 1);
          }
          expect(backedUp, `no send was pending after ${limit} bytes to a paused receiver`).toBe(true);
        }
        // Earlier frames in this turn, then the loan right behind them.
        for (let i = 0; i < 3; i++) sendsA.push(sendA(numbered(sendsA.length, 100 * i)));
        const before = sendsA.length;
        const size = Math.min(3000, maxFrameSize);
        const room = dialer.lendRoom(size, maxFrameSize)!;
        expect(room.length).toBeGreaterThanOrEqual(size);
        // Several turns with the loan open: the other connection sends frames of a few sizes in each.
        for (let turn = 0; turn < 8; turn++) {
          for (const extra of [0, 2000, 9000]) {
            const frame = numbered(sendsB.length, Math.min(extra, maxFrameSize - 4));
            sentB.push(frame);
            sendsB.push(b.dialer.send(frame));
          }
          await turns(1);
        }
        room.set(patterned(size, 7), 0);
        sentA.push(patterned(size, 7));
        sendsA.push(dialer.sendLent(size));
        sendsA.push(sendA(numbered(before + 1)));
        if (receiver === "paused") a.accepted.resume();
        await within(Promise.all([...sendsA, ...sendsB]), "the sends on both connections", 30_000);
        await atA.waitFor(sendsA.length);
        await atB.waitFor(sendsB.length);
        expect(atA.frames).toHaveLength(sendsA.length);
        atA.frames.forEach((f, i) => {
          if (!sameBytes(f, sentA[i]!)) expect.fail(`frame ${i} on the lending connection arrived changed or out of order${i === before ? " (the one written in place)" : ""}`);
        });
        expect(atB.frames).toHaveLength(sendsB.length);
        atB.frames.forEach((f, i) => {
          if (!sameBytes(f, sentB[i]!)) expect.fail(`frame ${i} on the second connection arrived changed or out of order`);
        });
        expect(dialer.isClosed).toBe(false);
        expect(b.dialer.isClosed).toBe(false);
      },
    );

    lendingIt("sendLent over maxFrameSize rejects, sends nothing and ends the loan; the connection stays usable", async () => {
      const { dialer, accepted } = await pair();
      assertLends(dialer);
      const at = new Collector(accepted);
      dialer.lendRoom(1, maxFrameSize)!.fill(7);
      await expectCode(dialer.sendLent(maxFrameSize + 1), CODES.FRAME_TOO_LARGE);
      // Still usable: a send, then a loan sent.
      await dialer.send(numbered(1));
      const room = dialer.lendRoom(3, 3)!;
      room.set(patterned(3, 2), 0);
      await dialer.sendLent(3);
      await at.waitFor(2);
      expect(numberOf(at.frames[0]!)).toBe(1);
      expect(sameBytes(at.frames[1]!, patterned(3, 2))).toBe(true);
      expect(dialer.isClosed).toBe(false);
      // The refusal ended the loan: a sendLent right after it has none to send (the caller's mistake: the connection closes).
      dialer.lendRoom(3, 3)!.fill(8);
      await expectCode(dialer.sendLent(maxFrameSize + 1), CODES.FRAME_TOO_LARGE);
      await expectCode(dialer.sendLent(3), TRANSPORT_CONTRACT_ERROR_CODES.CONTRACT_BROKEN);
      await within(dialer.closed, "the close");
      await within(accepted.closed, "the peer's close");
      expect(at.frames).toHaveLength(2);
    });

    lendingIt("lendRoom checks its arguments: a bad min or max throws XPPG_ERR_INVALID_ARGUMENT and the connection stays open; min over maxFrameSize lends nothing", async () => {
      const { dialer, accepted } = await pair();
      assertLends(dialer);
      const at = new Collector(accepted);
      for (const [min, max] of [
        [-1, -1],
        [-1, 10],
        [Number.NaN, 10],
        [1, Number.NaN],
        [1.5, 10],
        [10, 9],
        [Infinity, Infinity],
        ["4" as unknown as number, 8],
      ]) {
        let error: unknown;
        try {
          dialer.lendRoom(min!, max!);
        } catch (e) {
          error = e;
        }
        expect((error as { code?: unknown } | undefined)?.code, `lendRoom(${min}, ${max})`).toBe(XPPG_ERROR_CODES.INVALID_ARGUMENT);
        expect(error).toBeInstanceOf(RangeError);
        expect(dialer.isClosed, `lendRoom(${min}, ${max}) closed the connection`).toBe(false);
      }
      // Past maxFrameSize no frame could be sent: nothing is lent (and nothing allocated), the connection stays open.
      expect(dialer.lendRoom(maxFrameSize + 1, maxFrameSize + 1)).toBeUndefined();
      expect(dialer.lendRoom(2 ** 40, 2 ** 40)).toBeUndefined();
      expect(dialer.isClosed).toBe(false);
      // Zero is a minimum like any other; the connection still lends and sends.
      const room = dialer.lendRoom(0, 3)!;
      expect(room.length).toBeLessThanOrEqual(3);
      const lent = dialer.lendRoom(3, 3)!;
      lent.set(patterned(3, 5), 0);
      await dialer.sendLent(3);
      await at.waitFor(1);
      expect(sameBytes(at.frames[0]!, patterned(3, 5))).toBe(true);
      expect(dialer.isClosed).toBe(false);
    });

    lendingIt.for([
      ["past the room lent", (c: Connection) => c.sendLent!(c.lendRoom!(10, 10)!.length + 1)],
      ["with no loan taken", (c: Connection) => c.sendLent!(5)],
      ["after close()", (c: Connection) => (c.lendRoom!(10, 10), void c.close(), c.sendLent!(10))],
    ] as const)("sendLent %s rejects with a code, and the receiver got only the frames before it", async ([name, misuse]) => {
      const { dialer, accepted } = await pair();
      assertLends(dialer);
      const at = new Collector(accepted);
      const room = dialer.lendRoom(4, 4)!;
      room.set(patterned(4, 1), 0);
      await dialer.sendLent(4);
      await expectCode(misuse(dialer), name === "after close()" ? CODES.CONNECTION_CLOSED : TRANSPORT_CONTRACT_ERROR_CODES.CONTRACT_BROKEN);
      await within(dialer.closed, "the close");
      await within(accepted.closed, "the peer's close");
      expect(at.frames).toHaveLength(1);
      expect(sameBytes(at.frames[0]!, patterned(4, 1))).toBe(true);
    });

    it("sendParts rejects a total over maxFrameSize or a non-array, and stays usable", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      const half = Math.ceil((maxFrameSize + 1) / 2);
      await expectCode(dialer.sendParts([new Uint8Array(half), new Uint8Array(maxFrameSize + 1 - half)]), CODES.FRAME_TOO_LARGE);
      await expect(dialer.sendParts("bytes" as unknown as Uint8Array[])).rejects.toThrow(TypeError);
      await expectCode(dialer.sendParts("bytes" as unknown as Uint8Array[]), XPPG_ERROR_CODES.INVALID_ARGUMENT);
      await expect(dialer.sendParts([new Uint8Array(1), [1, 2] as unknown as Uint8Array])).rejects.toThrow(TypeError);
      expect(dialer.isClosed).toBe(false);
      await dialer.sendParts([numbered(9)]);
      await at.waitFor(1);
      expect(at.frames.length).toBe(1);
      expect(numberOf(at.frames[0]!)).toBe(9);
    });

    it("a frame or part whose length, byteLength or slice lies arrives as the bytes it holds; a Proxy is refused with XPPG_ERR_INVALID_ARGUMENT and the connection stays open", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      // The memory right after the frame's bytes, in the same buffer: where a copy by the claimed size would reach.
      const lying = (real: number, claimed: number, seed: number): Uint8Array => {
        const memory = new Uint8Array(real + claimed + 64).fill(0xee);
        const frame = new LyingBytes(memory.buffer, 0, real);
        frame.set(patterned(real, seed));
        frame.claimed = claimed;
        return frame;
      };
      await expectCode(dialer.send(new Proxy(patterned(5, 1), {})), XPPG_ERROR_CODES.INVALID_ARGUMENT);
      await expectCode(dialer.sendParts([new Proxy(patterned(5, 1), {})]), XPPG_ERROR_CODES.INVALID_ARGUMENT);
      await expectCode(dialer.send(Object.setPrototypeOf({ length: 300 }, Uint8Array.prototype) as Uint8Array), XPPG_ERROR_CODES.INVALID_ARGUMENT);
      expect(dialer.isClosed).toBe(false);
      await dialer.send(lying(3, 300, 61));
      await dialer.send(lying(300, 3, 62));
      await dialer.sendParts([lying(3, 300, 63), patterned(2, 64)]);
      await at.waitFor(3);
      expect(at.frames.map((f) => f.length)).toEqual([3, 300, 5]);
      expect(sameBytes(at.frames[0]!, patterned(3, 61))).toBe(true);
      expect(sameBytes(at.frames[1]!, patterned(300, 62))).toBe(true);
      expect(sameBytes(at.frames[2]!.subarray(0, 3), patterned(3, 63))).toBe(true);
      expect(sameBytes(at.frames[2]!.subarray(3), patterned(2, 64))).toBe(true);
    });

    it("sendParts leaves the caller's parts as they were, and rejects with XPPG_ERR_CONNECTION_CLOSED once closed", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      const third = Math.min(20_000, Math.floor(maxFrameSize / 3));
      const parts = [patterned(third, 41), patterned(Math.min(10, third), 42), patterned(third, 43)];
      const before = parts.map((p) => p.slice());
      await dialer.sendParts(parts);
      await at.waitFor(1);
      parts.forEach((p, i) => expect(sameBytes(p, before[i]!), `part ${i}`).toBe(true));
      await dialer.close();
      await expectCode(dialer.sendParts([numbered(1)]), CODES.CONNECTION_CLOSED);
    });

    it("rejects a frame over maxFrameSize with XPPG_ERR_FRAME_TOO_LARGE and stays usable", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      await expectCode(dialer.send(new Uint8Array(maxFrameSize + 1)), CODES.FRAME_TOO_LARGE);
      expect(dialer.isClosed).toBe(false);
      await dialer.send(numbered(7));
      await at.waitFor(1);
      expect(at.frames.length).toBe(1);
      expect(numberOf(at.frames[0]!)).toBe(7);
    });

    it("holds frames that arrive before read() and delivers them once read is called", async () => {
      const { dialer, accepted } = await pair();
      await Promise.all([0, 1, 2].map((i) => dialer.send(numbered(i))));
      await turns(20);
      const at = new Collector(accepted);
      await at.waitFor(3);
      expect(at.frames.map(numberOf)).toEqual([0, 1, 2]);
    });

    it("pause stops delivery (even from inside the sink) and resume restarts it with nothing lost", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      at.onFrame = (_f, index) => {
        if (index === 2) accepted.pause();
      };
      await Promise.all(Array.from({ length: 50 }, (_, i) => dialer.send(numbered(i))));
      await at.waitFor(3);
      await turns(20);
      expect(at.frames.length).toBe(3);
      at.onFrame = undefined;
      accepted.resume();
      await at.waitFor(50);
      expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      // And a pause from outside the sink.
      accepted.pause();
      await Promise.all(Array.from({ length: 10 }, (_, i) => dialer.send(numbered(50 + i))));
      await turns(20);
      expect(at.frames.length).toBe(50);
      accepted.resume();
      await at.waitFor(60);
      expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    });

    it("applies backpressure: with the receiver paused a send stays pending, and everything arrives after resume", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      accepted.pause();
      const frameSize = Math.max(1, Math.min(64 * 1024, maxFrameSize));
      const limit = ctx.backpressureLimitBytes ?? 64 * 1024 * 1024;
      const sends: Promise<void>[] = [];
      let pending: Promise<void> | undefined;
      for (let sent = 0; sent < limit; sent += frameSize) {
        const p = dialer.send(numbered(sends.length, frameSize - 4));
        sends.push(p);
        if (await isPending(p, 1)) {
          pending = p;
          break;
        }
      }
      expect(pending, `no send was pending after ${limit} bytes to a paused receiver`).toBeDefined();
      expect(at.frames.length).toBe(0);
      accepted.resume();
      await within(Promise.all(sends), "the pending sends to resolve after resume", 30_000);
      await at.waitFor(sends.length);
      expect(at.frames.length).toBe(sends.length);
      at.frames.forEach((f, i) => {
        if (numberOf(f) !== i || f.byteLength !== frameSize) expect.fail(`frame ${i} arrived as ${numberOf(f)}`);
      });
    });

    for (const closer of ["dialer", "accepted"] as const) {
      it(`close by the ${closer} resolves closed on both sides with the right initiator and closes each sink once`, async () => {
        const p = await pair();
        const local = p[closer];
        const remote = closer === "dialer" ? p.accepted : p.dialer;
        const atLocal = new Collector(local);
        const atRemote = new Collector(remote);
        await local.close();
        const [localInfo, remoteInfo] = await Promise.all([within(local.closed, "local closed"), within(remote.closed, "remote closed")]);
        expect(localInfo.initiator).toBe("local");
        expect(localInfo.error).toBeUndefined();
        expect(remoteInfo.initiator).toBe("remote");
        expect(remoteInfo.error).toBeUndefined();
        expect(local.isClosed).toBe(true);
        expect(remote.isClosed).toBe(true);
        expect((await atLocal.sinkClosed()).initiator).toBe("local");
        expect((await atRemote.sinkClosed()).initiator).toBe("remote");
        // close is idempotent and the sinks hear of it once.
        await within(local.close(), "a second close");
        await within(remote.close(), "a close after the peer closed");
        await turns(5);
        expect(atLocal.closeCalls).toBe(1);
        expect(atRemote.closeCalls).toBe(1);
        await expectCode(local.send(numbered(1)), CODES.CONNECTION_CLOSED);
        await expectCode(remote.send(numbered(1)), CODES.CONNECTION_CLOSED);
      });
    }

    it("when the peer closes, frames it sent are all delivered in order before the sink's close, even to a paused sink, and before closed resolves", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      // A consumer that has paused, and pauses again on every frame it is handed: no resume ever comes.
      accepted.pause();
      at.onFrame = () => accepted.pause();
      const sinkClosesBefore = accepted.closed.then(() => at.closeCalls);
      const count = 200;
      for (let i = 0; i < count; i++) void dialer.send(numbered(i, 64));
      await within(dialer.close(), "the dialer's close");
      const info = await at.sinkClosed();
      expect(info.initiator).toBe("remote");
      expect(at.frames.map(numberOf)).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(await within(sinkClosesBefore, "the accepted side's closed"), "the sink's close is called before closed resolves").toBe(1);
      await turns(5);
      expect(at.closeCalls).toBe(1);
    });

    it("close() flushes frames already sent before the peer sees the close", async () => {
      const { dialer, accepted } = await pair();
      const at = new Collector(accepted);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) sends.push(dialer.send(numbered(i, 1024)));
      const closing = dialer.close();
      await within(Promise.all(sends), "sends before close");
      await within(closing, "close");
      const info = await at.sinkClosed();
      expect(info.initiator).toBe("remote");
      expect(info.error).toBeUndefined();
      expect(at.frames.map(numberOf)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    it("close(error) reports that error locally and closes the peer", async () => {
      const { dialer, accepted } = await pair();
      const atDialer = new Collector(dialer);
      const atAccepted = new Collector(accepted);
      const error = new TransportError(CODES.PROTOCOL, "compliance test: closing with an error");
      await within(dialer.close(error), "close(error)");
      const localInfo = await within(dialer.closed, "local closed");
      expect(localInfo.initiator).toBe("local");
      expect(localInfo.error).toBe(error);
      expect((await atDialer.sinkClosed()).error).toBe(error);
      const remoteInfo = await within(accepted.closed, "remote closed");
      expect(remoteInfo.initiator).toBe("remote");
      if (remoteInfo.error !== undefined) expect(isXppgError(remoteInfo.error)).toBe(true);
      expect(atAccepted.closeCalls).toBeLessThanOrEqual(1);
      await expectCode(dialer.send(numbered(1)), CODES.CONNECTION_CLOSED);
    });

    it("rejects a dial to an address nobody listens on with XPPG_ERR_DIAL_FAILED", async () => {
      await expectCode(transport.dial(await deadAddress()), CODES.DIAL_FAILED);
    });

    it("rejects malformed addresses with XPPG_ERR_BAD_ADDRESS", async () => {
      const bad = ctx.badAddresses ?? ["not an address", `${transport.name}://`];
      for (const address of bad) {
        expect(transport.canDial(address)).toBe(false);
        await expectCode(transport.dial(address), CODES.BAD_ADDRESS);
      }
      await expectCode(listening.listen("not an address", () => {}), CODES.BAD_ADDRESS);
    });

    it("rejects a dial with an aborted AbortSignal with XPPG_ERR_ABORTED", async () => {
      const listener = await listen();
      await expectCode(transport.dial(listener.address, { signal: AbortSignal.abort() }), CODES.ABORTED);
    });

    it("aborts a dial in flight with XPPG_ERR_ABORTED and keeps no connection", async () => {
      const accepted: Connection[] = [];
      const listener = await listen((c) => accepted.push(c));
      const controller = new AbortController();
      const dialing = transport.dial(listener.address, { signal: controller.signal });
      controller.abort(new Error("compliance test: abort"));
      await expectCode(dialing, CODES.ABORTED);
      // The listener may have accepted the socket before the abort landed: it must close.
      await turns(20);
      await Promise.all(accepted.map((c) => within(c.closed, "an accepted connection of an aborted dial to close")));
    });

    it("Symbol.asyncDispose closes a connection and a listener (await using)", async () => {
      const { listener, dialer, accepted } = await pair();
      await within(dialer[Symbol.asyncDispose](), "dispose of the dialer");
      expect(dialer.isClosed).toBe(true);
      expect((await within(dialer.closed, "local closed")).initiator).toBe("local");
      expect((await within(accepted.closed, "remote closed")).initiator).toBe("remote");
      await within(listener[Symbol.asyncDispose](), "dispose of the listener");
      await expectCode(transport.dial(listener.address), CODES.DIAL_FAILED);
    });

    it("after listener.close() new dials fail and existing connections still work", async () => {
      const { listener, dialer, accepted } = await pair();
      const atDialer = new Collector(dialer);
      const atAccepted = new Collector(accepted);
      await within(listener.close(), "listener.close()");
      await within(listener.close(), "a second listener.close()");
      await expectCode(transport.dial(listener.address), CODES.DIAL_FAILED);
      await dialer.send(numbered(1));
      await accepted.send(numbered(2));
      await Promise.all([atAccepted.waitFor(1), atDialer.waitFor(1)]);
      expect(numberOf(atAccepted.frames[0]!)).toBe(1);
      expect(numberOf(atDialer.frames[0]!)).toBe(2);
      expect(dialer.isClosed || accepted.isClosed).toBe(false);
    });

    it("serves many connections at once, each with its own frames", async () => {
      const conns: Connection[] = [];
      const listener = await listen((c) => {
        // Echo every frame back on the connection it came from.
        c.read({ frame: (f) => void c.send(f).catch(() => {}) });
      });
      const collectors: Collector[] = [];
      for (let i = 0; i < 8; i++) {
        const c = await within(transport.dial(listener.address), "a dial");
        connections.push(c);
        conns.push(c);
        collectors.push(new Collector(c));
      }
      await Promise.all(conns.map((c, i) => Promise.all([0, 1, 2].map((j) => c.send(numbered(i * 10 + j))))));
      await Promise.all(collectors.map((col) => col.waitFor(3)));
      collectors.forEach((col, i) => expect(col.frames.map(numberOf)).toEqual([i * 10, i * 10 + 1, i * 10 + 2]));
    });
  });
}

