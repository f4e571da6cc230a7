import { describe, expect, it } from "vitest";
import type { Playground, PlaygroundOptions } from "../src/index.js";
import { collect, stopNodesAfterEach, until } from "./helpers.js";
import { buildPacket, PACKET, packetHeader } from "../src/route-wire.js";
import { chain, FIXED, heard, routeHeader } from "./routed-helpers.js";
import { errorsOf, stallingTransport, tcpNode } from "./tcp-helpers.js";
import { firstNote, forwardedPath, type Outcome, outcomeOf, pause, routedErrorsOf, routedToC, sendsAtStop } from "./fixtures/routed-setups.js";

// A routed channel's loss is reported once: by the rejection of a send the user awaits that waited on the channel
// (wherever it waited), else by the node's `error` event naming the peer (README, "Routed unicast").

stopNodesAfterEach();

/** The outbox's high-water mark towards a neighbour (outbox.ts, SESSION_HIGH_WATER_MARK). */
const OUTBOX_MARK = 1 << 20;

/**
 * Sends 900 KB messages from `from` to `to` until the link below (`link`,
 * stalled) holds more than the outbox's mark towards the neighbour: from then
 * on nothing handed to that neighbour is taken, so the send made then (larger
 * than the secure channel sends ahead, 512 KiB) waits on the link for good.
 * Read from the link's state, not from how long a send takes.
 */
async function sendUntilHeld(from: Playground, to: string, link: { readonly heldBytes: number }): Promise<{ held: { readonly value: Outcome | undefined }; before: { readonly value: Outcome | undefined }[] }> {
  const big = new Uint8Array(900_000);
  const before: { readonly value: Outcome | undefined }[] = [];
  for (let n = 1; link.heldBytes <= OUTBOX_MARK; n++) {
    if (n > 50) throw new Error(`the link holds ${link.heldBytes} bytes after 50 sends`);
    const o = outcomeOf(from.send("note", { n, big }, { to }));
    before.push(o);
    await until(() => o.value !== undefined || link.heldBytes > OUTBOX_MARK, 10_000, "the send settles or the link holds past the mark");
  }
  return { held: outcomeOf(from.send("note", { n: 100, big }, { to })), before };
}

/** B, the middle of A - B - C, stops, and A and C see it leave. */
async function middleLeaves(a: Playground, b: Playground, c: Playground): Promise<void> {
  await b.stop();
  await until(() => a.peers.length === 0 && c.peers.length === 0, 10_000, "A and C see B leave");
}

/** A - B - C whose route from A to C is gone (B stopped) after a request of A's was answered by C; A's error events. */
async function routeGone(): Promise<[Playground, Playground, { code: string; peerId: string | undefined }[]]> {
  const [a, b, c] = (await chain(3)) as [Playground, Playground, Playground];
  await heard(a, c);
  c.handle("x", () => "ok");
  expect(await a.request("x", null, { to: c.peerId })).toBe("ok");
  const errors = routedErrorsOf(a);
  await middleLeaves(a, b, c);
  return [a, c, errors];
}

/**
 * B - M - E on real nodes; B's links stop writing at `link.stall()`: M reads nothing more from B. B drops neither M
 * for its silence nor for a stalled write (writeStallTimeoutMs is far off); `limits` adds to B's limits.
 */
async function stallablePath(limits: PlaygroundOptions["limits"] = {}): Promise<{ link: ReturnType<typeof stallingTransport>; b: Playground; m: Playground; e: Playground }> {
  const link = stallingTransport();
  const b = await tcpNode({ ...FIXED, transports: [link.transport], heartbeat: { timeoutMs: 120_000 }, limits: { writeStallTimeoutMs: 120_000, ...limits } });
  const m = await tcpNode({ ...FIXED, heartbeat: { timeoutMs: 120_000 } });
  const e = await tcpNode(FIXED);
  await m.join(`tcp://127.0.0.1:${b.port}`);
  await e.join(`tcp://127.0.0.1:${m.port}`);
  await heard(b, e);
  return { link, b, m, e };
}

/**
 * Sends 900 KB notes from B to M itself (not on E's channel) until B's stalled link holds past the outbox's mark: from
 * then on nothing handed to M is taken. Returns the sends' outcomes.
 */
async function fillLinkToM(b: Playground, m: Playground, link: { readonly heldBytes: number }): Promise<{ readonly value: Outcome | undefined }[]> {
  const direct: { readonly value: Outcome | undefined }[] = [];
  for (let n = 0; link.heldBytes <= OUTBOX_MARK; n++) {
    if (n > 10) throw new Error(`the link holds ${link.heldBytes} bytes after 10 sends`);
    direct.push(outcomeOf(b.send("note", { n, big: new Uint8Array(900_000) }, { to: m.peerId })));
    await until(() => link.heldBytes > 0, 10_000, "the link holds the first send to M");
  }
  return direct;
}

/** Sends 900 KB notes numbered from `first` (below `end`) from B to M, into `direct`, until B has dropped M as slow (its queue past maxQueuedBytesPerPeer). */
async function dropMAsSlow(b: Playground, m: Playground, direct: { readonly value: Outcome | undefined }[], first: number, end: number): Promise<void> {
  for (let n = first; n < end && b.peers.some((p) => p.peerId === m.peerId); n++) {
    direct.push(outcomeOf(b.send("note", { n, big: new Uint8Array(900_000) }, { to: m.peerId })));
    await Promise.resolve();
  }
}

describe("a routed channel closed by an error is reported", { timeout: 30_000 }, () => {
  it("once A's route to C is gone, A's error event says XPPG_ERR_UNREACHABLE, naming C, once, though no send after the lost message is made", async () => {
    const { a, b, c } = await routedToC();
    const errors = routedErrorsOf(a);
    await middleLeaves(a, b, c);
    // Sends until one finds no way on (a send whose record was lost may resolve): only the channel's close tells of that loss.
    for (let n = 1; n <= 5; n++) {
      const sent = await a.send("note", { n }, { to: c.peerId }).then(() => true, () => false);
      if (!sent || errors.length > 0) break;
    }
    await until(() => errors.length > 0, 10_000, "A's error event");
    await expect(a.send("note", { n: 9 }, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await pause(50);
    expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: c.peerId }]);
  });

  it("a send that waits when the route is gone rejects with XPPG_ERR_UNREACHABLE naming C, and that is the loss's only report: no error event for it", async () => {
    const { a, b, c } = await routedToC();
    const errors = routedErrorsOf(a);
    await middleLeaves(a, b, c);
    // Larger than the secure channel sends ahead (512 KiB): the send waits for its records to be taken, and they find no way on.
    const lost = await a.send("note", { n: 1, big: new Uint8Array(700_000) }, { to: c.peerId }).then(() => undefined, (error: Error & { code?: string }) => error);
    expect(lost?.code).toBe("XPPG_ERR_UNREACHABLE");
    expect(lost?.message).toContain(c.peerId);
    // The next send finds no route (its own report), and makes no event either.
    await expect(a.send("note", { n: 2 }, { to: c.peerId })).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await pause(50);
    expect(errors).toEqual([]);
  });

  it("sends of one tick that wait when the route is gone each reject with the channel's own code, XPPG_ERR_UNREACHABLE naming C (not XPPG_ERR_CONNECTION_CLOSED with it as the cause), and make no error event", async () => {
    const { a, b, c } = await routedToC();
    const errors = routedErrorsOf(a);
    await middleLeaves(a, b, c);
    // 600 KB in one tick, past what the secure channel seals in a tick: the later sends wait for the tick's end.
    const big = new Uint8Array(100_000);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, n) => a.send("note", { n, big }, { to: c.peerId }).then(() => "resolved", (error: Error & { code?: string }) => `${error.code} ${error.message.includes(c.peerId)}`)),
    );
    const rejected = outcomes.filter((o) => o !== "resolved");
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected).toEqual(rejected.map(() => "XPPG_ERR_UNREACHABLE true"));
    await pause(50);
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
    const errors = routedErrorsOf(c);
    const answer = a.request("big", null, { to: c.peerId, timeoutMs: 60_000 }).catch((error: { code: string }) => error.code);
    await askedAt;
    await middleLeaves(a, b, c);
    release();
    await until(() => errors.length > 0, 10_000, "C's error event");
    await pause(50);
    expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: a.peerId }]);
    await a.stop();
    expect(await answer).toEqual(expect.any(String));
  });

  it("a clean end is no error: C stopping closes A's channel without an error event (A's answer to C's end of stream, reset by B once C is gone, is no loss: A sent nothing after C's end)", async () => {
    const { a, b, c } = await routedToC();
    const errors = errorsOf(a);
    await c.stop();
    await until(() => b.peers.length === 1, 10_000, "B sees C leave");
    await pause(100);
    expect(errors).toEqual([]);
  });
});

describe("a send that waits on a stalled link below its channel", { timeout: 60_000 }, () => {
  it("rejects with XPPG_ERR_UNREACHABLE naming E, the neighbour's error as its cause, when the neighbour it waits on is dropped as slow, and no error event names E (before: XPPG_ERR_STOPPED naming the neighbour, and the event too)", async () => {
    // B drops M as slow only when the test says so: direct sends to M push B's queue towards it past maxQueuedBytesPerPeer.
    const { link, b, m, e } = await stallablePath({ maxQueuedBytesPerPeer: 4 << 20 });
    await firstNote(b, e, "E");
    const errors = routedErrorsOf(b);
    link.stall();
    const { held, before } = await sendUntilHeld(b, e.peerId, link);
    // The send is held below: it waits on M's link, and nothing settles it yet.
    await Promise.resolve();
    expect(held.value).toBeUndefined();
    // Now M is dropped as slow: B queues for it past maxQueuedBytesPerPeer.
    const direct: { readonly value: Outcome | undefined }[] = [];
    await dropMAsSlow(b, m, direct, 0, 8);
    await until(() => held.value !== undefined, 10_000, "B's held send settles once M is dropped");
    await until(() => before.every((o) => o.value !== undefined), 10_000, "B's other sends settle");
    const lost = held.value as Error & { code?: string; cause?: Error & { code?: string } };
    expect(lost).not.toBe("resolved");
    expect(lost.code).toBe("XPPG_ERR_UNREACHABLE");
    expect(lost.message).toContain(e.peerId);
    expect(lost.message).toContain("the neighbour towards it was lost");
    // Its cause: the error the neighbour's link failed the record with, that of M's session closed under it (naming
    // M): XPPG_ERR_CONNECTION_CLOSED, not the XPPG_ERR_STOPPED of a node that stopped (B did not).
    expect({ code: lost.cause?.code, namesM: lost.cause?.message.includes(m.peerId) }).toEqual({ code: "XPPG_ERR_CONNECTION_CLOSED", namesM: true });
    // The direct send that passed the limit was refused (M's drop as slow is its error event, below).
    await until(() => direct.some((o) => o.value !== undefined && o.value !== "resolved"), 10_000, "a direct send to M rejects");
    // Every send made before it resolved, or rejected the same way.
    for (const o of before) if (o.value !== "resolved") expect([o.value!.code, o.value!.message.includes(e.peerId)]).toEqual(["XPPG_ERR_UNREACHABLE", true]);
    await until(() => b.peers.length === 0, 10_000, "B drops M");
    await pause(50);
    // M's own drop is reported (naming M); E's channel is not, its loss told by the rejection.
    expect(errors.filter((x) => x.peerId === e.peerId)).toEqual([]);
    expect(errors.filter((x) => x.peerId === m.peerId).map((x) => x.code)).toEqual(["XPPG_ERR_SLOW_PEER"]);
  });

  it("rejects with the channel's own error (XPPG_ERR_DECRYPT_FAILED naming E, found by the secure channel) when the channel fails while the send waits on the neighbour's link, and no error event comes for it, then or once the link moves again", async () => {
    // B - M - D - E, M a hand-driven forwarder: B's first hop towards E. B neither drops M for its silence nor for a
    // stalled write while its link to M writes nothing.
    const link = stallingTransport();
    const { b, m, e } = await forwardedPath({ ...FIXED, transports: [link.transport], heartbeat: { timeoutMs: 120_000 }, limits: { writeStallTimeoutMs: 120_000 } });
    await firstNote(b, e, "E");
    const errors = routedErrorsOf(b);
    link.stall();
    const { held } = await sendUntilHeld(b, e.peerId, link);
    // E's next record to B gets a byte changed on the way: B's secure channel fails to decrypt it and closes.
    m.tamper = (packet) => {
      const p = routeHeader(packet);
      if (p.origin !== e.peerId || p.destination !== b.peerId) return packet;
      const out = packet.slice();
      out[out.length - 1]! ^= 1;
      return out;
    };
    await e.send("note", { n: 100 }, { to: b.peerId });
    // B's send rejects while its link still writes nothing (the channel's end settled it, not the link below), or B reports the loss by an event.
    await until(() => held.value !== undefined || errors.length > 0, 10_000, "B's send settles or B's error event");
    await pause(50);
    expect(errors).toEqual([]);
    const lost = held.value as Error & { code?: string };
    expect(lost).not.toBe("resolved");
    expect(lost.code).toBe("XPPG_ERR_DECRYPT_FAILED");
    expect(lost.message).toContain(e.peerId);
    // The link moves again: what waited on it goes, and still no event names E.
    m.tamper = undefined;
    link.release();
    const notes = collect<{ n: number }>(e, "note");
    for (let tries = 0; !notes.some((x) => x.payload.n === 200) && tries < 100; tries++) {
      await b.send("note", { n: 200 }, { to: e.peerId }).catch(() => {});
      await pause(100);
    }
    expect(notes.some((x) => x.payload.n === 200)).toBe(true);
    expect(errors).toEqual([]);
  });

  it("settles when the node stops while it waits (a clean end: no error event), as do the sends before it; one that rejects (XPPG_ERR_STOPPED) does not reach E", async () => {
    const { link, b, m, e } = await stallablePath();
    const atE = collect<{ n: number }>(e, "note");
    await b.send("note", { n: 0 }, { to: e.peerId });
    const errors = routedErrorsOf(b);
    link.stall();
    const { held, before } = await sendUntilHeld(b, e.peerId, link);
    await b.stop();
    await until(() => held.value !== undefined && before.every((o) => o.value !== undefined), 10_000, "B's sends settle at its stop");
    expect(held.value).not.toBe("resolved");
    // The node's own stop, not the loss of E (before: XPPG_ERR_UNREACHABLE, "the neighbour towards it was lost").
    expect((held.value as Error & { code?: string }).code).toBe("XPPG_ERR_STOPPED");
    for (const o of before) if (o.value !== "resolved") expect(o.value!.code).toBe("XPPG_ERR_STOPPED");
    expect(errors).toEqual([]);
    // Nothing moved on the stalled link: what rejected was not delivered, once M has seen B go.
    await until(() => m.peers.length === 1, 10_000, "M sees B leave");
    await pause(200);
    const received = atE.map((x) => x.payload.n);
    expect(received).not.toContain(100);
    before.forEach((o, i) => {
      if (o.value !== "resolved") expect(received).not.toContain(i + 1);
    });
  });

  it("a request aborted while its send waits, the only send waiting on its channel, makes no error event when the node stops (before: an event naming E, during the stop)", async () => {
    const { link, b, m, e } = await stallablePath();
    e.handle("x", () => "ok");
    expect(await b.request("x", null, { to: e.peerId })).toBe("ok");
    const errors = routedErrorsOf(b);
    link.stall();
    // B's queue towards M passes the outbox's mark with sends to M itself (not on E's channel): from then on nothing
    // handed to M is taken, so the request's records wait on M's link, and nothing else waits on E's channel.
    const direct = await fillLinkToM(b, m, link);
    direct.push(outcomeOf(b.send("note", { n: 100, big: new Uint8Array(900_000) }, { to: m.peerId })));
    await Promise.resolve();
    expect(direct.at(-1)!.value).toBeUndefined();
    const abort = new AbortController();
    // Larger than the secure channel sends ahead (512 KiB): its send waits for records M's link does not take.
    const asked = b.request("x", { big: new Uint8Array(700_000) }, { to: e.peerId, signal: abort.signal, timeoutMs: 60_000 }).then(() => "resolved", (error: Error & { code?: string }) => error.code);
    abort.abort();
    expect(await asked).toBe("XPPG_ERR_ABORTED");
    await b.stop();
    await pause(50);
    expect(errors).toEqual([]);
  });
});

describe("sends waiting on a moving link when the node stops", { timeout: 30_000 }, () => {
  it("each one C receives resolved at A, and none that rejected (XPPG_ERR_STOPPED) reaches C (before: all four rejected and C received them)", async () => {
    const { a, b, c, atC } = await routedToC();
    // Four 300 KB notes in one tick, past what the secure channel sends ahead (512 KiB): the later ones wait at the stop.
    await sendsAtStop(a, b, c, atC);
  });
});

describe("a request whose send waits when its channel is lost", { timeout: 30_000 }, () => {
  it("rejects with the channel's own code, XPPG_ERR_UNREACHABLE naming C, and no error event comes for it", async () => {
    const [a, c, errors] = await routeGone();
    // Larger than the secure channel sends ahead (512 KiB): the request's send waits, and its records find no way on.
    const lost = await a.request("x", { big: new Uint8Array(700_000) }, { to: c.peerId, timeoutMs: 60_000 }).then(() => undefined, (error: Error & { code?: string }) => error);
    expect(lost?.code).toBe("XPPG_ERR_UNREACHABLE");
    expect(lost?.message).toContain(c.peerId);
    await pause(50);
    expect(errors).toEqual([]);
  });

  it("aborted while its send waits, is reported by A's error event (XPPG_ERR_UNREACHABLE naming C), once: the request's rejection (XPPG_ERR_ABORTED) does not tell of the loss", async () => {
    const [a, c, errors] = await routeGone();
    const abort = new AbortController();
    const asked = a.request("x", { big: new Uint8Array(700_000) }, { to: c.peerId, signal: abort.signal }).then(() => undefined, (error: Error & { code?: string }) => error.code);
    abort.abort();
    expect(await asked).toBe("XPPG_ERR_ABORTED");
    await until(() => errors.length > 0, 10_000, "A's error event");
    await pause(50);
    expect(errors).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: c.peerId }]);
  });
});

describe("a request and a plain send waiting on one channel", { timeout: 30_000 }, () => {
  it("both reject with the channel's own code, XPPG_ERR_UNREACHABLE naming C, when the route is gone, and no error event comes", async () => {
    const [a, c, errors] = await routeGone();
    // Both larger than the secure channel sends ahead (512 KiB), made in one tick: both wait, and their records find no way on.
    const outcomes: string[] = [];
    const tell = (what: string) => (error: Error & { code?: string }) => void outcomes.push(`${what} ${error.code} ${error.message.includes(c.peerId)}`);
    const asked = a.request("x", { big: new Uint8Array(700_000) }, { to: c.peerId, timeoutMs: 60_000 }).then(() => void outcomes.push("request resolved"), tell("request"));
    const sent = a.send("note", { big: new Uint8Array(700_000) }, { to: c.peerId }).then(() => void outcomes.push("send resolved"), tell("send"));
    await Promise.all([asked, sent]);
    await pause(50);
    expect(outcomes.sort()).toEqual(["request XPPG_ERR_UNREACHABLE true", "send XPPG_ERR_UNREACHABLE true"]);
    expect(errors).toEqual([]);
  });
});

describe("a request that timed out while its send waited on a stalled link", { timeout: 60_000 }, () => {
  it("leaves the channel's loss to A's error event, once (XPPG_ERR_UNREACHABLE naming E), when the neighbour under the send is dropped: its rejection (XPPG_ERR_TIMEOUT) did not tell of it", async () => {
    const { link, b, m, e } = await stallablePath({ maxQueuedBytesPerPeer: 6 << 20 });
    e.handle("x", () => "ok");
    expect(await b.request("x", null, { to: e.peerId })).toBe("ok");
    const errors = routedErrorsOf(b);
    link.stall();
    // Sends to M itself fill its link past the outbox's mark: the request's records wait there, alone on E's channel.
    const direct = await fillLinkToM(b, m, link);
    const asked = b.request("x", { big: new Uint8Array(700_000) }, { to: e.peerId, timeoutMs: 200 }).then(() => "resolved", (error: Error & { code?: string }) => error.code);
    expect(await asked).toBe("XPPG_ERR_TIMEOUT");
    expect(errors).toEqual([]);
    // Now M is dropped as slow (B queues for it past maxQueuedBytesPerPeer): the channel to E is lost under the request's send.
    await dropMAsSlow(b, m, direct, 100, 110);
    await until(() => errors.some((x) => x.peerId === e.peerId), 10_000, "B's error event naming E");
    await until(() => b.peers.length === 0, 10_000, "B drops M");
    await pause(50);
    expect(errors.filter((x) => x.peerId === e.peerId)).toEqual([{ code: "XPPG_ERR_UNREACHABLE", peerId: e.peerId }]);
    expect(errors.filter((x) => x.peerId === m.peerId).map((x) => x.code)).toEqual(["XPPG_ERR_SLOW_PEER"]);
  });
});

describe("a send that waits for its channel's handshake", { timeout: 30_000 }, () => {
  it("rejects with the channel's error (XPPG_ERR_UNREACHABLE naming E, reset on the path) when the channel fails before it opens, and no error event comes (its other end was never proved)", async () => {
    // A guard of existing behaviour, not a fix: it passes on main too (a channel that fails before its handshake is
    // done was never reported by the event, and its waiting send rejected with the reset's error).
    // B - M - D - E: M drops B's OPEN towards E and answers it with a reset, as a node with no way on does.
    const { b, m, e } = await forwardedPath(FIXED);
    const errors = routedErrorsOf(b);
    let reset = 0;
    m.tamper = (packet) => {
      const p = routeHeader(packet);
      if (p.origin !== b.peerId || p.type !== PACKET.OPEN) return packet;
      reset++;
      m.inject(buildPacket(packetHeader(p.destination, p.origin, p.channel, !p.fromResponder), PACKET.RESET, new Uint8Array(0)), "toB");
      return null;
    };
    const lost = await b.send("note", { n: 1 }, { to: e.peerId }).then(() => undefined, (error: Error & { code?: string }) => error);
    expect(reset).toBeGreaterThan(0);
    expect(lost?.code).toBe("XPPG_ERR_UNREACHABLE");
    expect(lost?.message).toContain(e.peerId);
    expect(lost?.message).toContain("reset");
    await pause(50);
    expect(errors).toEqual([]);
  });
});
