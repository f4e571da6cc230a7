import { describe, expect, it, vi } from "vitest";
import type { Playground } from "../src/index.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { chain, heard } from "./routed-helpers.js";

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

type Outcome = "resolved" | (Error & { code?: string });

function outcomeOf(sent: Promise<unknown>): { readonly value: Outcome | undefined } {
  const o: { value: Outcome | undefined } = { value: undefined };
  sent.then(
    () => void (o.value = "resolved"),
    (error: Error & { code?: string }) => void (o.value = error),
  );
  return o;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("a page's secure channel on a routed channel, at the node's stop", { timeout: 30_000 }, () => {
  it("each send C receives resolved at A, and none that rejected (XPPG_ERR_STOPPED) reaches C", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    // Four 300 KB notes in one tick, past what the page's secure channel seals ahead (512 KiB): the later ones wait at the stop.
    const big = new Uint8Array(300_000);
    const sent = [1, 2, 3, 4].map((n) => outcomeOf(a.send("note", { n, big }, { to: c.peerId })));
    await a.stop();
    await until(() => sent.every((o) => o.value !== undefined), 10_000, "A's sends settle at its stop");
    await until(() => b.peers.length === 1, 10_000, "B sees A leave");
    await pause(200);
    const received = atC.map((x) => x.payload.n).filter((n) => n > 0);
    const outcomes = sent.map((o) => (o.value === "resolved" ? "resolved" : o.value!.code));
    for (const [i, o] of outcomes.entries()) {
      if (o === "resolved") expect(received, `note ${i + 1} resolved at A`).toContain(i + 1);
      else {
        expect(o).toBe("XPPG_ERR_STOPPED");
        expect(received, `note ${i + 1} rejected at A`).not.toContain(i + 1);
      }
    }
    // The link moved: every note went out with the stop, so every send resolved.
    expect(outcomes).toEqual(["resolved", "resolved", "resolved", "resolved"]);
  });
});
