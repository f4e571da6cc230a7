// A peer that completed both handshakes, offering every capability, sends
// each control kind with arbitrary and mutated-valid payloads (fast-check):
// the node drops it with a typed reason or takes the message, never fails in
// its own code (XPPG_ERR_INTERNAL), and its good peer is served throughout.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { tcpTransport } from "@xppg/transport-tcp";
import type { XppgError } from "@xppg/errors";
import { Playground } from "../src/index.js";
import { isRemotePeerError } from "../src/errors.js";
import { NODE_CAPABILITIES, PROTOCOL_VERSION } from "../src/protocol.js";
import { collect, RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";
import { messages, SIGNED } from "./control-messages.js";

stopNodesAfterEach();

describe("Playground: fuzzing the control messages of an authenticated peer with every capability", () => {
  it("each is taken or refused with a typed reason; the node never fails in its own code and serves its good peer", async () => {
    // Strikes would ban the fuzzer's host after a few runs; this test is about surviving the input.
    const target = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"], limits: { banThreshold: Number.MAX_SAFE_INTEGER } }));
    await target.start();
    const good = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"] }));
    await good.start();
    await good.join(target.addresses[0]!);
    const texts = collect(target, "text");
    const errors: XppgError[] = [];
    target.events.on("error", (e) => void errors.push(e));
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const raw = await RawPeer.dial(tcpTransport(), target.addresses[0]!);
        const list = fc.sample(fc.array(messages(raw), { minLength: 1, maxLength: 6 }), { seed, numRuns: 1 })[0]!;
        await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [...NODE_CAPABILITIES], peerId: raw.peerId, listen: [], agent: "fuzz", time: Date.now() });
        await raw.send("xppg/welcome", null);
        for (const [kind, payload] of list) {
          const sent = kind.startsWith(SIGNED) ? raw.conn.send(raw.signedBroadcast(kind.slice(SIGNED.length), payload, raw.identity!)) : raw.send(kind, payload);
          await sent.catch(() => {});
        }
        await raw.send("xppg/ping", null).catch(() => {});
        // Either the node answered the last ping (it took everything) or it dropped the peer.
        await until(() => raw.received.some((m) => m.kind === "xppg/pong") || raw.conn.isClosed, 5000, "a pong or a close");
        await raw.conn.close();
        const internal = errors.filter((e) => !isRemotePeerError(e) && (e.code === "XPPG_ERR_INTERNAL" || !e.code.startsWith("XPPG_ERR_")));
        expect(internal.map((e) => `${e.code}: ${e.message}`), JSON.stringify(list, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : v))).toEqual([]);
        const before = texts.length;
        await good.sendText("still served");
        await until(() => texts.length === before + 1, 5000, "the good peer's text");
      }),
      { numRuns: 200 },
    );
    // The input reached the parsers: peers were refused for what they sent.
    expect(errors.some((e) => e.code === "XPPG_ERR_PROTOCOL_VIOLATION")).toBe(true);
    expect(target.running).toBe(true);
    expect(target.peers.map((p) => p.peerId)).toContain(good.peerId);
  }, 120_000);
});
