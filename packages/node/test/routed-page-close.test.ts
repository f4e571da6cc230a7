import { describe, expect, it, vi } from "vitest";
import { stopNodesAfterEach } from "./helpers.js";
import { routedToC, sendsAtStop } from "./fixtures/routed-setups.js";

// The routed channels of this file run a page's secure channel (`@xppg/secure/browser`: WebCrypto's AES-GCM, records
// through PageRecordLink), the one a page's routing room runs, in Node (whose `crypto.subtle` is the same API), over
// real routed connections between real nodes on loopback. What its clean close does with the sends it was given must
// match Node's record layer (routed-loss.test.ts, "sends waiting on a moving link when the node stops").
vi.mock("@xppg/secure", async (importOriginal) => {
  const real = await importOriginal<typeof import("@xppg/secure")>();
  const page = await import("@xppg/secure/browser");
  return { ...real, secureConnection: page.secureConnection };
});

stopNodesAfterEach();

describe("a page's secure channel on a routed channel, at the node's stop", { timeout: 30_000 }, () => {
  it("each send C receives resolved at A, and none that rejected (XPPG_ERR_STOPPED) reaches C", async () => {
    const { a, b, c, atC } = await routedToC();
    // Four 300 KB notes in one tick, past what the page's secure channel seals ahead (512 KiB): the later ones wait at the stop.
    const outcomes = await sendsAtStop(a, b, c, atC);
    // The link moved: every note went out with the stop, so every send resolved.
    expect(outcomes).toEqual(["resolved", "resolved", "resolved", "resolved"]);
  });
});
