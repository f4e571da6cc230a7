import { expect, it } from "vitest";
import type { Connection } from "../connection.js";
import { TRANSPORT_ERROR_CODES } from "../errors.js";
import { turns, within } from "./helpers.js";
import { expectCode, type Suite } from "./suite.js";

const CODES = TRANSPORT_ERROR_CODES;

/** Dial errors: nobody listening, malformed addresses, an aborted signal before and during the dial. */
export function dialErrorTests(suite: Suite): void {
  const { listen, deadAddress } = suite;
  it("rejects a dial to an address nobody listens on with XPPG_ERR_DIAL_FAILED", async () => {
    await expectCode(suite.transport.dial(await deadAddress()), CODES.DIAL_FAILED);
  });

  it("rejects malformed addresses with XPPG_ERR_BAD_ADDRESS", async () => {
    const bad = suite.ctx.badAddresses ?? ["not an address", `${suite.transport.name}://`];
    for (const address of bad) {
      expect(suite.transport.canDial(address)).toBe(false);
      await expectCode(suite.transport.dial(address), CODES.BAD_ADDRESS);
    }
    await expectCode(suite.listening.listen("not an address", () => {}), CODES.BAD_ADDRESS);
  });

  it("rejects a dial with an aborted AbortSignal with XPPG_ERR_ABORTED", async () => {
    const listener = await listen();
    await expectCode(suite.transport.dial(listener.address, { signal: AbortSignal.abort() }), CODES.ABORTED);
  });

  it("aborts a dial in flight with XPPG_ERR_ABORTED and keeps no connection", async () => {
    const accepted: Connection[] = [];
    const listener = await listen((c) => accepted.push(c));
    const controller = new AbortController();
    const dialing = suite.transport.dial(listener.address, { signal: controller.signal });
    controller.abort(new Error("compliance test: abort"));
    await expectCode(dialing, CODES.ABORTED);
    // The listener may have accepted the socket before the abort landed: it must close.
    await turns(20);
    await Promise.all(accepted.map((c) => within(c.closed, "an accepted connection of an aborted dial to close")));
  });
}
