// A routed channel's opening, at the least `limits.routedInboxBytes`: the responder pauses its reading on the
// handshake's last message (until its keys are made) and the opener sends what it queued during the open right
// after, so a burst at open arrives while paused. At the least bound, all of it must still arrive.
import { describe, expect, it } from "vitest";
import type { Playground, PlaygroundOptions } from "../src/index.js";
import { ROUTING_LIMIT_RULES } from "../src/routing-options.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

const FIXED: PlaygroundOptions = { connections: { lowWater: 0 } };
const LEAST = ROUTING_LIMIT_RULES.routedInboxBytes;

/** A - B - C on TCP on loopback, C holding the least a paused routed channel may hold. */
async function line(): Promise<[Playground, Playground, Playground]> {
  const a = await tcpNode(FIXED);
  const b = await tcpNode(FIXED);
  const c = await tcpNode({ ...FIXED, limits: { routedInboxBytes: LEAST } });
  await b.join(`tcp://127.0.0.1:${a.port}`);
  await c.join(`tcp://127.0.0.1:${b.port}`);
  await until(() => a.meshPeers.some((m) => m.peerId === c.peerId) && c.meshPeers.some((m) => m.peerId === a.peerId), 10_000, "A and C hear of each other");
  return [a, b, c];
}

describe("a burst at a routed channel's open, at the least limits.routedInboxBytes", { timeout: 30_000 }, () => {
  for (const [count, size] of [
    [2, 40_000],
    [40, 4096],
  ] as const) {
    it(`arrives whole: ${count} messages of ${size} bytes sent before the channel is open`, async () => {
      const [a, , c] = await line();
      const atC = collect<{ n: number }>(c, "note");
      const blob = "x".repeat(size);
      await Promise.all(Array.from({ length: count }, (_, n) => a.send("note", { n, blob }, { to: c.peerId })));
      await until(() => atC.length === count || c.stats.overfullRoutedChannels > 0, 10_000, "the burst at C");
      expect(c.stats.overfullRoutedChannels).toBe(0);
      expect(atC.map((m) => m.payload.n)).toEqual(Array.from({ length: count }, (_, n) => n));
    });
  }
});
