import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isXppgError } from "@xppg/errors";
import { checkTarget, checkTargetQuickly } from "../src/call-checks.js";
import { Outbox } from "../src/outbox.js";
import { collect, nextEvent, stopNodesAfterEach, until } from "./helpers.js";
import { errorsOf, tcpNode } from "./tcp-helpers.js";

// pg.send keeps the last peer id it looked up with its session (issue 15: a
// stream of sends to one peer looks it up once). Any change of the node's open
// sessions drops it: these tests send raw bytes (the plaintext path that
// writes in place, in room the TCP connection lends) and text to one peer id,
// with one options object, while the peer leaves, comes back and is replaced.

stopNodesAfterEach();
afterEach(() => void vi.restoreAllMocks());

const plain = { dangerouslyDisableEncryption: true, limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity } };
const bytes = (n: number): Uint8Array => new Uint8Array(100).fill(n);
const firstByte = (m: { payload: Uint8Array }): number => m.payload[0]!;

describe("pg.send to one peer id", () => {
  for (const encrypted of [false, true]) {
    it(`goes to the peer's new session once it came back, and rejects while it is gone (${encrypted ? "encrypted" : "plaintext"})`, async () => {
      const options = encrypted ? { limits: plain.limits } : plain;
      // The in-place way is a plaintext node's only: an encrypted node's sends never enter it (its secure channel lends no room).
      const inPlace = vi.spyOn(Outbox.prototype, "sendLean");
      const a = await tcpNode(options);
      const b = await tcpNode(options);
      const errors = [...errorsOf(a), ...errorsOf(b)];
      const atA = collect<Uint8Array>(a, "blob");
      await b.join(`tcp://127.0.0.1:${a.port}`);
      await until(() => a.peers.length === 1, 5000, "a to see b");
      const to = { to: a.peerId };
      for (let n = 1; n <= 3; n++) await b.send("blob", bytes(n), to);
      await until(() => atA.length === 3, 5000, "the first three messages");

      const left = nextEvent(b, "peer:left");
      expect(a.disconnect(b.peerId)).toBe(true);
      await left;
      // Gone: not a neighbour, and no route to it (what a send to it did before the last session was kept).
      await expect(b.send("blob", bytes(4), to)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
      await expect(b.send("blob", bytes(4), to.to)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });

      await b.join(`tcp://127.0.0.1:${a.port}`);
      await until(() => a.peers.length === 1, 5000, "a to see b again");
      for (let n = 5; n <= 7; n++) await b.send("blob", bytes(n), to);
      await until(() => atA.length === 6, 5000, "the messages on the new connection");
      expect(atA.map(firstByte)).toEqual([1, 2, 3, 5, 6, 7]);
      expect(atA.every((m) => m.src === b.peerId)).toBe(true);
      expect(errors).toEqual([]);
      if (encrypted) expect(inPlace).not.toHaveBeenCalled();
      else expect(inPlace).toHaveBeenCalled();
    });
  }

  it("follows the peer from one connection to the next in one tick's sends, and a stopped peer's sends reject", async () => {
    const a = await tcpNode(plain);
    const b = await tcpNode(plain);
    const atA = collect<Uint8Array>(a, "blob");
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await until(() => a.peers.length === 1, 5000, "a to see b");
    const to = { to: a.peerId };
    // The last session kept, then the peer gone within the same tick as more sends.
    const first = b.send("blob", bytes(1), to);
    const left = nextEvent(b, "peer:left");
    expect(b.disconnect(a.peerId)).toBe(true);
    await left;
    await first;
    await expect(b.send("blob", bytes(2), to)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    // A peer that joins again under the same id, and a stream of sends to it in one tick.
    await b.join(`tcp://127.0.0.1:${a.port}`);
    const sends = [3, 4, 5].map((n) => b.send("blob", bytes(n), to));
    await Promise.all(sends);
    await until(() => atA.length === 4, 5000, "the messages on the new connection");
    expect(atA.map(firstByte)).toEqual([1, 3, 4, 5]);
    await a.stop();
    await until(() => b.peers.length === 0, 5000, "b to see a leave");
    await expect(b.send("blob", bytes(6), to)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
  });

  it("raw bytes that cannot take the compact way in place go the full way, and one too large rejects without harm to the tick's others", async () => {
    const a = await tcpNode(plain);
    const b = await tcpNode(plain);
    const errors = [...errorsOf(a), ...errorsOf(b)];
    const long = "✓".repeat(100); // 300 bytes of UTF-8: too long for the compact layout's one length byte
    const got: [string, number, number][] = [];
    a.on("blob", (_src, kind, payload) => void got.push([kind, (payload as Uint8Array).length, (payload as Uint8Array)[0]!]));
    a.on(long, (_src, _kind, payload) => void got.push(["long", (payload as Uint8Array).length, (payload as Uint8Array)[0]!]));
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await until(() => a.peers.length === 1, 5000, "a to see b");
    const to = { to: a.peerId };
    // One tick: small ones (into the loan), one over the node's frame limit, one too long for the compact kind, one that outgrows the loan.
    const sends = [
      b.send("blob", bytes(1), to),
      b.send("blob", bytes(2), to),
      b.send("blob", new Uint8Array(2 * 1024 * 1024), to),
      b.send("blob", bytes(3), to),
      b.send(long, bytes(4), to),
      b.send("blob", new Uint8Array(200 * 1024).fill(5), to),
      b.send("blob", bytes(6), to),
    ];
    const settled = await Promise.allSettled(sends);
    expect(settled.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { code: string }).code))).toEqual(["ok", "ok", "XPPG_ERR_FRAME_TOO_LARGE", "ok", "ok", "ok", "ok"]);
    await until(() => got.length === 6, 5000, "every message sent");
    expect(got).toEqual([["blob", 100, 1], ["blob", 100, 2], ["blob", 100, 3], ["long", 100, 4], ["blob", 200 * 1024, 5], ["blob", 100, 6]]);
    expect(a.peers.length).toBe(1);
    expect(errors).toEqual([]);
  });

  it("checks every options object after a stream of good ones, as the first", async () => {
    const a = await tcpNode(plain);
    const b = await tcpNode(plain);
    await b.join(`tcp://127.0.0.1:${a.port}`);
    await until(() => a.peers.length === 1, 5000, "a to see b");
    const send = (options: unknown): Promise<void> => b.send("blob", bytes(1), options as never);
    for (let i = 0; i < 200; i++) await send({ to: a.peerId });
    for (const bad of [{ to: a.peerId, tO: a.peerId }, { too: a.peerId }, { to: "" }, { to: 7 }, { to: "x".repeat(513) }, [a.peerId], null, 7]) {
      await expect(send(bad)).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    }
    await expect(send({ to: "nobody" })).rejects.toMatchObject({ code: "XPPG_ERR_UNKNOWN_PEER" });
    await expect(send({ to: undefined })).resolves.toBeUndefined();
    await expect(send({ to: a.peerId })).resolves.toBeUndefined();
  });

  it("follows a stream of sends to one peer id across a duplicate connection's replacement (both nodes dial each other)", async () => {
    const x = await tcpNode(plain);
    const y = await tcpNode(plain);
    const errors = [...errorsOf(x), ...errorsOf(y)];
    // The kept connection is the one dialled by the smaller id: the larger dials first, the smaller's dial replaces it.
    const [small, large] = x.peerId < y.peerId ? [x, y] : [y, x];
    const atSmall = collect<Uint8Array>(small, "blob");
    await large.join(`tcp://127.0.0.1:${small.port}`);
    await until(() => large.peers.length === 1 && small.peers.length === 1, 5000, "one connection");
    expect(large.peers.map((p) => p.outbound)).toEqual([true]);
    const to = { to: small.peerId };
    const outcomes: string[] = [];
    const send = (n: number): Promise<void> => large.send("blob", bytes(n), to).then(() => void outcomes.push("ok"), (error: { code?: string }) => void outcomes.push(String(error.code)));
    // The last session kept, then the other dial while the stream goes on.
    for (let n = 1; n <= 20; n++) await send(n);
    const joined = small.join(`tcp://127.0.0.1:${large.port}`);
    let n = 21;
    for (; n <= 220 && !(large.peers.length === 1 && large.peers[0]!.outbound === false); n++) await send(n);
    await joined;
    await until(() => large.peers.length === 1 && large.peers[0]!.outbound === false && small.peers.length === 1 && small.peers[0]!.outbound === true, 5000, "the smaller id's connection kept on both ends");
    // After the replacement: every send goes on the kept connection and arrives, in order.
    const after = n;
    for (let m = after; m < after + 10; m++) await send(m);
    await until(() => atSmall.filter((m) => firstByte(m) >= after).length === 10, 5000, "the sends after the replacement");
    expect(atSmall.map(firstByte).filter((b) => b >= after)).toEqual(Array.from({ length: 10 }, (_, i) => after + i));
    expect(atSmall.map(firstByte).slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(atSmall.every((m) => m.src === large.peerId)).toBe(true);
    expect(outcomes.slice(-10)).toEqual(new Array(10).fill("ok"));
    // During it, a send is queued on one of the two connections or rejects with a code (never a stale session's other error).
    expect(outcomes.filter((o) => o !== "ok" && o !== "XPPG_ERR_UNREACHABLE" && o !== "XPPG_ERR_PEER_GONE")).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe("checkTargetQuickly", () => {
  type Answer = { to: string | undefined } | { code: string; message: string };
  const answer = (check: (options: unknown, call: string) => string | undefined, options: unknown): Answer => {
    try {
      return { to: check(options, "pg.send(kind, payload, options?)") };
    } catch (error) {
      return isXppgError(error) ? { code: error.code, message: error.message } : { code: "untyped", message: String(error) };
    }
  };
  const tos = fc.oneof(
    fc.constantFrom<unknown>(undefined, "", "peer", null, 7, Symbol.for("to"), new String("peer"), "x".repeat(512), "x".repeat(513), "é".repeat(512)),
    fc.string({ maxLength: 600 }),
    fc.integer({ min: 500, max: 520 }).map((n) => "p".repeat(n)),
  );
  const extraKeys = fc.uniqueArray(fc.constantFrom("signal", "timeoutMs", "To", "too", "__proto__x", "0", "toString"), { maxLength: 2 });
  const build = (kind: number, to: unknown, extra: string[], symbolKey: boolean): unknown => {
    let o: Record<string | symbol, unknown>;
    switch (kind) {
      case 0: o = { to }; break;
      case 1: o = Object.create({ to }) as Record<string, unknown>; break; // inherited `to`
      case 2: o = {}; Object.defineProperty(o, "to", { get: () => to, enumerable: true }); break;
      case 3: o = {}; Object.defineProperty(o, "to", { get: () => to, enumerable: false }); break;
      case 4: o = Object.create(null) as Record<string, unknown>; o.to = to; break;
      case 5: o = Object.create({ signal: 1 }) as Record<string, unknown>; o.to = to; break; // an inherited other key
      default: return Object.assign(new String(typeof to === "string" ? to : "peer"), extra.length > 0 ? { to } : {}); // a boxed string
    }
    for (const key of extra) o[key] = 1;
    if (symbolKey) o[Symbol("s")] = 1;
    return o;
  };
  const options = fc.oneof(
    fc.tuple(fc.nat({ max: 6 }), tos, extraKeys, fc.boolean()).map(([kind, to, extra, symbolKey]) => build(kind, to, extra, symbolKey)),
    tos,
    fc.constantFrom<unknown>([], ["peer"], 0, true, () => "peer"),
  );

  it("property: accepts and refuses as checkTarget, with the same code and message, over any options", () => {
    fc.assert(
      fc.property(options, (o) => {
        expect(answer(checkTargetQuickly, o)).toEqual(answer(checkTarget, o));
      }),
      { numRuns: 3000 },
    );
  });
});

