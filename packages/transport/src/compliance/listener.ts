import { expect, it } from "vitest";
import type { Connection } from "../connection.js";
import { TRANSPORT_ERROR_CODES } from "../errors.js";
import { Collector, numberOf, numbered, within } from "./helpers.js";
import { expectCode, type Suite } from "./suite.js";

const CODES = TRANSPORT_ERROR_CODES;

/** Listeners and disposal: `Symbol.asyncDispose`, dials after `listener.close()`, many connections on one listener. */
export function listenerTests(suite: Suite): void {
  const { connections, listen, pair } = suite;
  it("Symbol.asyncDispose closes a connection and a listener (await using)", async () => {
    const { listener, dialer, accepted } = await pair();
    await within(dialer[Symbol.asyncDispose](), "dispose of the dialer");
    expect(dialer.isClosed).toBe(true);
    expect((await within(dialer.closed, "local closed")).initiator).toBe("local");
    expect((await within(accepted.closed, "remote closed")).initiator).toBe("remote");
    await within(listener[Symbol.asyncDispose](), "dispose of the listener");
    await expectCode(suite.transport.dial(listener.address), CODES.DIAL_FAILED);
  });

  it("after listener.close() new dials fail and existing connections still work", async () => {
    const { listener, dialer, accepted } = await pair();
    const atDialer = new Collector(dialer);
    const atAccepted = new Collector(accepted);
    await within(listener.close(), "listener.close()");
    await within(listener.close(), "a second listener.close()");
    await expectCode(suite.transport.dial(listener.address), CODES.DIAL_FAILED);
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
      const c = await within(suite.transport.dial(listener.address), "a dial");
      connections.push(c);
      conns.push(c);
      collectors.push(new Collector(c));
    }
    await Promise.all(conns.map((c, i) => Promise.all([0, 1, 2].map((j) => c.send(numbered(i * 10 + j))))));
    await Promise.all(collectors.map((col) => col.waitFor(3)));
    collectors.forEach((col, i) => expect(col.frames.map(numberOf)).toEqual([i * 10, i * 10 + 1, i * 10 + 2]));
  });
}
