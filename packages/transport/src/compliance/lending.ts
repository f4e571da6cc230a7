import { XPPG_ERROR_CODES } from "@xppg/errors";
import { expect, it } from "vitest";
import type { Connection } from "../connection.js";
import { TRANSPORT_CONTRACT_ERROR_CODES, TRANSPORT_ERROR_CODES } from "../errors.js";
import { Collector, isPending, numberOf, numbered, patterned, sameBytes, turns, within } from "./helpers.js";
import type { ComplianceOptions } from "./setup.js";
import { expectCode, type Suite } from "./suite.js";

const CODES = TRANSPORT_ERROR_CODES;

/** The connection lends room (`lendRoom` with `sendLent`, and a room when asked). */
function lends(c: Connection): c is Connection & Required<Pick<Connection, "lendRoom" | "sendLent">> {
  return c.lendRoom !== undefined && c.sendLent !== undefined && c.lendRoom(1, 1) !== undefined;
}

/** The transport said it lends (`options.lends`): its connection must. */
function assertLends(c: Connection): asserts c is Connection & Required<Pick<Connection, "lendRoom" | "sendLent">> {
  expect(lends(c), "the transport says it lends ({ lends: true }), but its connection lends no room").toBe(true);
}

/**
 * Lending (`lendRoom` with `sendLent`, optional): frames written in place, loans kept open, misuse. A transport that does
 * not say it lends (`options.lends`) gets one check instead: that it lends nothing.
 */
export function lendingTests(suite: Suite, options: ComplianceOptions): void {
  const { pair } = suite;
  // The lending tests are registered for a transport that says its connections lend, and only for it.
  const lendingIt = (options.lends === true ? it : Object.assign(() => {}, { for: () => () => {} })) as typeof it;

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
    const big = Math.min(40_000, suite.maxFrameSize);
    const sizes = [0, 1, 100, 5000, big, suite.maxFrameSize];
    const sends: Promise<void>[] = [];
    sizes.forEach((size, i) => {
      const room = dialer.lendRoom(size, suite.maxFrameSize)!;
      expect(room.length, `room for ${size} bytes`).toBeGreaterThanOrEqual(size);
      expect(room.length).toBeLessThanOrEqual(Math.max(size, suite.maxFrameSize));
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
        const frameSize = Math.max(8, Math.min(16 * 1024, suite.maxFrameSize));
        const limit = suite.ctx.backpressureLimitBytes ?? 64 * 1024 * 1024;
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
      const size = Math.min(3000, suite.maxFrameSize);
      const room = dialer.lendRoom(size, suite.maxFrameSize)!;
      expect(room.length).toBeGreaterThanOrEqual(size);
      // Several turns with the loan open: the other connection sends frames of a few sizes in each.
      for (let turn = 0; turn < 8; turn++) {
        for (const extra of [0, 2000, 9000]) {
          const frame = numbered(sendsB.length, Math.min(extra, suite.maxFrameSize - 4));
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
    dialer.lendRoom(1, suite.maxFrameSize)!.fill(7);
    await expectCode(dialer.sendLent(suite.maxFrameSize + 1), CODES.FRAME_TOO_LARGE);
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
    await expectCode(dialer.sendLent(suite.maxFrameSize + 1), CODES.FRAME_TOO_LARGE);
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
    expect(dialer.lendRoom(suite.maxFrameSize + 1, suite.maxFrameSize + 1)).toBeUndefined();
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
}
