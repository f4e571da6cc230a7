import { expect, it } from "vitest";
import type { Suite } from "./suite.js";

/** Listening and dialing: the addresses a listener reports and dials reach, and what each end of a connection says of itself. */
export function openTests(suite: Suite): void {
  const { listen, pair } = suite;
  it("listens on a fresh address and dials the reported address", async () => {
    const { listener, dialer, accepted } = await pair();
    expect(typeof listener.address).toBe("string");
    expect(listener.address.startsWith(`${suite.transport.name}://`)).toBe(true);
    expect(suite.transport.canDial(listener.address)).toBe(true);
    for (const c of [dialer, accepted]) {
      expect(c.transport).toBe(suite.transport.name);
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
      if (suite.ctx.remoteHost !== undefined) expect(c.remoteHost).toBe(suite.ctx.remoteHost);
    }
    expect(second.accepted.remoteHost).toBe(first.accepted.remoteHost);
    expect(second.dialer.remoteHost).toBe(first.dialer.remoteHost);
  });

  it("two listeners on the same listen address get distinct addresses", async () => {
    const a = await listen();
    const b = await listen();
    expect(a.address).not.toBe(b.address);
  });
}
