import { tcpTransport } from "@xppg/transport-tcp";
import { webSocketTransport } from "@xppg/transport-ws";
import { describe, expect, it } from "vitest";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { nextEvent, track } from "./helpers.js";

/**
 * The cases of goodbye-after-flood.test.ts (a peer floods, says goodbye and
 * closes), registered by `describeFloodGoodbye` with the most handler calls
 * a turn may see: there with slices the clock may run on, in
 * goodbye-after-flood-exact.test.ts with exact slices.
 */
const COUNT = 20_000;
const KIND = "test:flood";

export const cases: { name: string; listen: string; options: () => PlaygroundOptions }[] = [
  { name: "TCP, plain", listen: "tcp://127.0.0.1:0", options: () => ({ transports: [tcpTransport()], dangerouslyDisableEncryption: true }) },
  { name: "TCP, encrypted", listen: "tcp://127.0.0.1:0", options: () => ({ transports: [tcpTransport()] }) },
  { name: "WebSocket, encrypted", listen: "ws://127.0.0.1:0/xppg", options: () => ({ transports: [webSocketTransport()] }) },
];

/** The cases named in `names` (all when undefined), no turn allowed more than `budget` handler calls. */
export function describeFloodGoodbye(title: string, budget: number, names?: string[]): void {
  describe(title, () => {
    for (const c of cases.filter((c) => names === undefined || names.includes(c.name))) {
      it(`${c.name}: each message is handled in order or counted as dropped at close, no turn handles more than the budget, and peer:left has the peer's reason`, async () => {
        const receiver = track(new Playground("test-app", { listen: [c.listen], ...c.options() }));
        const sender = track(new Playground("test-app", { listen: [c.listen], ...c.options() }));
        await Promise.all([receiver.start(), sender.start()]);
        const got: number[] = [];
        let sum = 0;
        // Handler calls per turn of the event loop: counted between two setImmediate ticks.
        let inTurn = 0;
        let mostInTurn = 0;
        let ticking = true;
        const tick = (): void => {
          inTurn = 0;
          if (ticking) setImmediate(tick);
        };
        setImmediate(tick);
        receiver.on<number>(KIND, (_src, _kind, n) => {
          got.push(n);
          mostInTurn = Math.max(mostInTurn, ++inTurn);
          // A handler with some work to do: the receiver falls behind the burst.
          for (let i = 0; i < 200; i++) sum += Math.sqrt(n + i);
        });
        const joined = nextEvent(receiver, "peer:joined");
        await sender.join(receiver.addresses[0]!);
        await joined;
        const left = nextEvent(receiver, "peer:left", 30_000);
        for (let i = 0; i < COUNT; i++) await sender.send(KIND, i, { to: receiver.peerId });
        await sender.stop();
        const [peer, reason] = await left;
        ticking = false;
        expect(peer.peerId).toBe(sender.peerId);
        // Each message was handed to the handlers before peer:left (nothing waits for a later turn) or dropped and counted; the goodbye read.
        const dropped = receiver.stats.droppedLastMessages;
        expect({ reason: reason?.code, accounted: got.length + dropped }, reason?.message).toEqual({ reason: "XPPG_ERR_PEER_SHUTDOWN", accounted: COUNT });
        expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i));
        expect(mostInTurn).toBeLessThanOrEqual(budget);
        expect(sum).toBeGreaterThan(0);
      });
    }
  });
}
