import { describe, expect, it } from "vitest";
import type { Playground } from "../src/index.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { chain, FIXED, heard, HostileForwarder, routeHeader } from "./routed-helpers.js";
import { errorsOf, tcpNode } from "./tcp-helpers.js";

// A routed channel's loss is reported once: by the rejection of a send the user awaits that waited on the channel
// (wherever it waited), else by the node's `error` event naming the peer (README, "Routed unicast").

stopNodesAfterEach();

/** A node's `error` events, each as its code and the peer it names. */
function routedErrorsOf(pg: Playground): { code: string; peerId: string | undefined }[] {
  const errors: { code: string; peerId: string | undefined }[] = [];
  pg.events.on("error", (e, peerId) => void errors.push({ code: e.code, peerId }));
  return errors;
}

describe("a routed channel closed by an error is reported", { timeout: 30_000 }, () => {
  it("once A's route to C is gone, A's error event says XPPG_ERR_UNREACHABLE, naming C, once, though no send after the lost message is made", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    const errors: { code: string; peerId: string | undefined }[] = [];
    a.events.on("error", (e, peerId) => void errors.push({ code: e.code, peerId }));
    await b.stop();
    await until(() => a.peers.length === 0 && c.peers.length === 0, 10_000, "A and C see B leave");
    // Sends until one finds no way on (a send whose record was lost may resolve): only the channel's close tells of that loss.
    for (let n = 1; n <= 5; n++) {
      const sent = await a.send("note", { n }, { to: c.peerId }).then(() => true, () => false);
      if (!sent || errors.length > 0) break;
    }
    await until(() => errors.length > 0, 10_000, "A's error event");
    await expect(a.send("note", { n: 9 }, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: c.peerId }]);
  });

  it("a send that waits when the route is gone rejects with XPPG_ERR_UNREACHABLE naming C, and that is the loss's only report: no error event for it", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    const errors = routedErrorsOf(a);
    await b.stop();
    await until(() => a.peers.length === 0 && c.peers.length === 0, 10_000, "A and C see B leave");
    // Larger than the secure channel sends ahead (512 KiB): the send waits for its records to be taken, and they find no way on.
    const lost = await a.send("note", { n: 1, big: new Uint8Array(700_000) }, { to: c.peerId }).then(() => undefined, (error: Error & { code?: string }) => error);
    expect(lost?.code).toBe("XPPG_ERR_UNREACHABLE");
    expect(lost?.message).toContain(c.peerId);
    // The next send finds no route (its own report), and makes no event either.
    await expect(a.send("note", { n: 2 }, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
  });

  it("sends of one tick that wait when the route is gone each reject with the channel's own code, XPPG_ERR_UNREACHABLE naming C (not XPPG_ERR_CONNECTION_CLOSED with it as the cause), and make no error event", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    const errors = routedErrorsOf(a);
    await b.stop();
    await until(() => a.peers.length === 0 && c.peers.length === 0, 10_000, "A and C see B leave");
    // 600 KB in one tick, past what the secure channel seals in a tick: the later sends wait for the tick's end.
    const big = new Uint8Array(100_000);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, n) => a.send("note", { n, big }, { to: c.peerId }).then(() => "resolved", (error: Error & { code?: string }) => `${error.code} ${error.message.includes(c.peerId)}`)),
    );
    const rejected = outcomes.filter((o) => o !== "resolved");
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected).toEqual(rejected.map(() => "XPPG_ERR_UNREACHABLE true"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
  });

  it("a reply lost with its channel is reported: C's reply to A's request waits when the route is gone, and C's error event names A (the reply's rejection reaches no one)", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const askedAt = new Promise<void>((resolve) => (asked = resolve));
    // Larger than the secure channel sends ahead (512 KiB): the reply waits for its records to be taken, and they find no way on.
    c.handle("big", async () => {
      asked();
      await released;
      return { big: new Uint8Array(700_000) };
    });
    const errors: { code: string; peerId: string | undefined }[] = [];
    c.events.on("error", (e, peerId) => void errors.push({ code: e.code, peerId }));
    const answer = a.request("big", null, { to: c.peerId, timeoutMs: 60_000 }).catch((error: { code: string }) => error.code);
    await askedAt;
    await b.stop();
    await until(() => a.peers.length === 0 && c.peers.length === 0, 10_000, "A and C see B leave");
    release();
    await until(() => errors.length > 0, 10_000, "C's error event");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: a.peerId }]);
    await a.stop();
    expect(await answer).toEqual(expect.any(String));
  });

  it("a clean end is no error: C stopping closes A's channel without an error event", async () => {
    const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
    await heard(a, c);
    const atC = collect<{ n: number }>(c, "note");
    await a.send("note", { n: 0 }, { to: c.peerId });
    await until(() => atC.length === 1, 10_000, "the first note at C");
    const errors = errorsOf(a);
    await c.stop();
    await until(() => b.peers.length === 1, 10_000, "B sees C leave");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors).toEqual([]);
  });
});

describe("a send that waits on a stalled link below its channel", { timeout: 60_000 }, () => {
  it("rejects with the channel's own error (XPPG_ERR_DECRYPT_FAILED naming E, found by the secure channel) when the channel fails while the send waits on the neighbour's link, and no error event comes for it, then or once the link moves again", async () => {
    // B - M - D - E, M a hand-driven forwarder: B's first hop towards E. B neither drops M for its silence nor for a
    // stalled write while M reads nothing from it.
    const b = await tcpNode({ ...FIXED, heartbeat: { timeoutMs: 120_000 }, limits: { writeStallTimeoutMs: 120_000 } });
    const d = await tcpNode(FIXED);
    const e = await tcpNode(FIXED);
    await e.join(`tcp://127.0.0.1:${d.port}`);
    const m = await HostileForwarder.between(b, d);
    await heard(b, e);
    await heard(e, b);
    const atE = collect<{ n: number }>(e, "note");
    await b.send("note", { n: 0 }, { to: e.peerId });
    await until(() => atE.length === 1, 10_000, "the first note at E");
    const errors = routedErrorsOf(b);
    // M reads nothing more from B: once the sockets between them and B's queue for M are full, B's next send
    // waits on that link (not on the routed channel's own queue, which hands each record down at once).
    m.pauseReading("toB", true);
    const big = new Uint8Array(900_000);
    let waiting: Promise<(Error & { code?: string }) | "resolved"> | undefined;
    for (let n = 1; waiting === undefined && n <= 100; n++) {
      const sent = b.send("note", { n, big }, { to: e.peerId }).then(() => "resolved" as const, (error: Error & { code?: string }) => error);
      // Not a timing check: a send M's pause does not hold resolves within turns; one still waiting after a second is held.
      const outcome = await Promise.race([sent, new Promise<"waits">((resolve) => setTimeout(() => resolve("waits"), 1000))]);
      if (outcome === "waits") waiting = sent;
      else expect(outcome).toBe("resolved");
    }
    expect(waiting).toBeDefined();
    // E's next record to B gets a byte changed on the way: B's secure channel fails to decrypt it and closes.
    m.tamper = (packet) => {
      const p = routeHeader(packet);
      if (p.origin !== e.peerId || p.destination !== b.peerId) return packet;
      const out = packet.slice();
      out[out.length - 1]! ^= 1;
      return out;
    };
    let lost: Awaited<typeof waiting> | undefined;
    void waiting!.then((outcome) => void (lost = outcome));
    await e.send("note", { n: 100 }, { to: b.peerId });
    // B's send rejects while M still reads nothing (the channel's end settled it, not the link below), or B reports the loss by an event.
    await until(() => lost !== undefined || errors.length > 0, 10_000, "B's send settles or B's error event");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
    expect(lost).not.toBe("resolved");
    expect((lost as Error & { code?: string }).code).toBe("XPPG_ERR_DECRYPT_FAILED");
    expect((lost as Error).message).toContain(e.peerId);
    // The link moves again: what waited on it goes, and still no event names E.
    m.tamper = undefined;
    m.pauseReading("toB", false);
    const notes = collect<{ n: number }>(e, "note");
    for (let tries = 0; !notes.some((x) => x.payload.n === 200) && tries < 100; tries++) {
      await b.send("note", { n: 200 }, { to: e.peerId }).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(notes.some((x) => x.payload.n === 200)).toBe(true);
    expect(errors).toEqual([]);
  });
});
