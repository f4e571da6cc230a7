import { isXppgError } from "@xppg/errors";
import { expect, it } from "vitest";
import { TRANSPORT_ERROR_CODES, TransportError } from "../errors.js";
import { Collector, numberOf, numbered, turns, within } from "./helpers.js";
import { expectCode, type Suite } from "./suite.js";

const CODES = TRANSPORT_ERROR_CODES;

/** Close from either side: `closed` and the sinks, frames flushed and delivered before the close, `close(error)`. */
export function closeTests(suite: Suite): void {
  const { pair } = suite;
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
}
