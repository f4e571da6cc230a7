import { describe, expect, it } from "vitest";
import type { Playground } from "../src/index.js";
import { stopNodesAfterEach, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";
import { heard } from "./routed-helpers.js";
import { isMessage, message } from "./borrowed-helpers.js";

// A borrowing handler that passes its payload on with `pg.send` to a node reached through the mesh (not a
// neighbour): the send must take the payload's bytes before it returns, as a send to a neighbour does, or the
// message that leaves later carries the bytes of later messages read into the same memory.

stopNodesAfterEach();

const LIMITS = { connections: { lowWater: 0 }, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } };

describe("a borrowing handler that forwards its payload", () => {
  it("to a node through the mesh, whose channel is still opening, forwards each message's bytes as received", async () => {
    // A - B - C - D: D sends to its neighbour C, whose handler forwards to A (two hops away: a routed channel).
    const nodes: Playground[] = [];
    for (let i = 0; i < 4; i++) nodes.push(await tcpNode(LIMITS));
    for (let i = 1; i < 4; i++) await nodes[i]!.join(`tcp://127.0.0.1:${nodes[i - 1]!.port}`);
    const [a, , c, d] = nodes as [Playground, Playground, Playground, Playground];
    await heard(c, a);
    const COUNT = 2000;
    const atA: { payload: unknown }[] = [];
    a.on("fwd", (_src, _kind, payload) => void atA.push({ payload }));
    let seen = 0;
    c.on(
      "m",
      (_src, _kind, payload) => {
        // The kind's first message (which the node keeps) is not forwarded: the channel to A opens with the second.
        if (seen++ > 0) void c.send("fwd", payload, a.peerId).catch(() => {});
      },
      { borrow: true },
    );
    await d.send("m", message(0, 300), c.peerId);
    await until(() => seen === 1, 10_000, "the first message at C");
    // At once: they come in bundles that C reads while its channel to A opens.
    await Promise.all(Array.from({ length: COUNT }, (_, i) => d.send("m", message(i + 1, 300), c.peerId)));
    await until(() => atA.length === COUNT, 20_000, "every forwarded message at A");
    const wrong = atA.filter(({ payload }, i) => !isMessage(payload, i + 1, 300)).length;
    expect(wrong).toBe(0);
  }, 60_000);
});
