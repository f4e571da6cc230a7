import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { webSocketTransport as browserTransport } from "../src/browser/index.js";
import { webSocketTransport } from "../src/index.js";

/** A bad argument's error: still the RangeError or TypeError it was, with XPPG_ERR_INVALID_ARGUMENT and words naming it. */
function expectArgumentError(error: unknown, Kind: typeof RangeError | typeof TypeError, words: string): void {
  expect(error).toBeInstanceOf(Kind);
  expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
  expect((error as Error).message).toContain(words);
}

describe("webSocketTransport's argument errors (Node)", () => {
  it.each([
    ["maxFrameSize", 0, "from 1 to"],
    ["highWaterMark", -1, "of at least 1"],
    ["dialTimeoutMs", 0.5, "from 1 to"],
    ["closeTimeoutMs", true, "from 1 to"],
    ["upgradeTimeoutMs", "1s", "from 1 to"],
    ["maxPendingConnections", 0, "of at least 1"],
  ])("%s %j: a RangeError with XPPG_ERR_INVALID_ARGUMENT naming the option, what it got and the range", (option, value, range) => {
    let error: unknown;
    try {
      webSocketTransport({ [option]: value });
    } catch (e) {
      error = e;
    }
    expectArgumentError(error, RangeError, `webSocketTransport: ${option} must be an integer ${range}`);
    expect((error as Error).message).toContain(`got ${JSON.stringify(value)}. Pass an integer ${range}`);
  });

  it("listen without an onConnection function, or with maxPendingConnections 0", async () => {
    const t = webSocketTransport();
    expectArgumentError(await t.listen("ws://127.0.0.1:0", 7 as never).catch((e: unknown) => e), TypeError, "onConnection must be a function that takes each new connection, got 7.");
    expectArgumentError(await t.listen("ws://127.0.0.1:0", () => {}, { maxPendingConnections: 0 }).catch((e: unknown) => e), RangeError, "listen: maxPendingConnections must be an integer of at least 1, got 0.");
  });
});

describe("webSocketTransport's argument errors (the browser build)", () => {
  it("sendPollMs 0 and maxFrameSize -1: the same error, naming the option", () => {
    expectArgumentError(tryCall(() => browserTransport({ sendPollMs: 0 })), RangeError, "webSocketTransport: sendPollMs must be an integer from 1 to 60000, got 0.");
    expectArgumentError(tryCall(() => browserTransport({ maxFrameSize: -1 })), RangeError, "webSocketTransport: maxFrameSize must be an integer from 1 to");
  });

  it("maxHeldBytes 0 or 1.5: the same error, naming the option", () => {
    expectArgumentError(tryCall(() => browserTransport({ maxHeldBytes: 0 })), RangeError, "webSocketTransport: maxHeldBytes must be an integer of at least 1, got ");
    expectArgumentError(tryCall(() => browserTransport({ maxHeldBytes: 1.5 })), RangeError, "webSocketTransport: maxHeldBytes must be an integer of at least 1, got ");
  });

  it("maxHeldBytes below maxFrameSize + 64: refused, naming both (one full frame held would fail the connection); a larger maxFrameSize raises the default", () => {
    expectArgumentError(tryCall(() => browserTransport({ maxFrameSize: 1000, maxHeldBytes: 1063 })), RangeError, "webSocketTransport: maxHeldBytes must be at least maxFrameSize + 64 (1064, one frame of the largest size held), got 1063. Pass at least maxFrameSize + 64 (1064, one frame of the largest size held), or leave maxHeldBytes out for its default.");
    expect(tryCall(() => browserTransport({ maxFrameSize: 1000, maxHeldBytes: 1064 }))).not.toBeInstanceOf(Error);
    expect(tryCall(() => browserTransport({ maxFrameSize: 100 * 1024 * 1024 }))).not.toBeInstanceOf(Error);
  });
});

function tryCall(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
