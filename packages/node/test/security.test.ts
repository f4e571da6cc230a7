import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EnvelopeCodec, ENVELOPE_VERSION } from "@xppg/framing";
import { generateIdentity } from "@xppg/secure";
import { memoryTransport } from "@xppg/transport";
import type { XppgError } from "@xppg/errors";
import { Playground } from "../src/index.js";
import { collect, nextEvent, RawPeer, until, node, stopNodesAfterEach } from "./helpers.js";

stopNodesAfterEach();

function errorsOf(pg: Playground): XppgError[] {
  const errors: XppgError[] = [];
  pg.events.on("error", (e) => void errors.push(e));
  return errors;
}

describe("Playground: identities", () => {
  it("derives the peer id from its key and keeps a given identity", async () => {
    const identity = generateIdentity();
    const a = await node("test-app", { identity });
    expect(a.peerId).toBe(identity.peerId);
    expect(a.peerId).toMatch(/^xp1[a-z2-7]{52}$/);
    const b = await node();
    const peer = await b.join(a.addresses[0]!);
    expect(peer.peerId).toBe(identity.peerId);
  });

  it("a join that expects one peer id fails if another key answers (a man in the middle)", async () => {
    const real = await node();
    const impostor = await node();
    const client = await node();
    const err = await client.join(impostor.addresses[0]!, undefined, { peerId: real.peerId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "XPPG_ERR_PEER_ID_MISMATCH" });
    expect((err as Error).message).toContain(real.peerId);
    expect(client.peers).toEqual([]);
    const ok = await client.join(real.addresses[0]!, undefined, { peerId: real.peerId });
    expect(ok.peerId).toBe(real.peerId);
  });

  it("refuses a non-identity object", () => {
    expect(() => new Playground("x", { identity: { peerId: "xp1fake" } as never })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });
});

describe("Playground: signed broadcasts", () => {
  it("signs its broadcasts; a peer delivers them", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const got = collect(a, "news");
    await b.send("news", { n: 1 });
    await until(() => got.length === 1, 5000, "broadcast");
    expect(a.stats.forgedMessages).toBe(0);
  });

  it("drops and counts a broadcast with no signature or a forged one, and delivers a genuine one", async () => {
    const a = await node();
    const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw peer admitted");
    const got = collect<{ n: number }>(a, "news");
    const errors = errorsOf(a);
    await raw.send("news", { n: 1 }, { destination: null }); // unsigned
    await raw.conn.send(raw.signedBroadcast("news", { n: 2 }, generateIdentity())); // signed by another key
    await raw.conn.send(raw.signedBroadcast("news", { n: 3 }, raw.identity!)); // genuine
    await until(() => got.length === 1, 5000, "the genuine broadcast");
    expect(got.map((m) => m.payload.n)).toEqual([3]);
    expect(a.stats.forgedMessages).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_BAD_SIGNATURE", "XPPG_ERR_BAD_SIGNATURE"]);
  });

  it("a payload altered after signing fails verification", async () => {
    const a = await node();
    const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw peer admitted");
    const got = collect(a, "news");
    const frame = raw.signedBroadcast("news", new Uint8Array([1, 2, 3, 4]), raw.identity!);
    frame[frame.byteLength - 1] = frame[frame.byteLength - 1]! ^ 0xff; // the last payload byte
    await raw.conn.send(frame);
    await until(() => a.stats.forgedMessages === 1, 5000, "the forged message counted");
    expect(got).toEqual([]);
  });
});

describe("Playground: abuse limits", () => {
  it("a peer over the byte rate is disconnected", async () => {
    const a = await node("test-app", { limits: { bytesPerSecond: 10_000, byteBurst: 20_000 } });
    const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw peer admitted");
    const errors = errorsOf(a);
    for (let i = 0; i < 10 && !raw.conn.isClosed; i++) await raw.send("blob", new Uint8Array(5000)).catch(() => {});
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error");
    expect(errors[0]!.code).toBe("XPPG_ERR_RATE_LIMITED");
    expect(errors[0]!.message).toMatch(/bytes a second/);
  });

  it("repeated violations ban the peer id; unban lifts it", async () => {
    const a = await node("test-app", { limits: { banThreshold: 2 } });
    const identity = generateIdentity();
    const banned = nextEvent(a, "peer:banned");
    for (let i = 0; i < 2; i++) {
      const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!, identity);
      await raw.hello();
      await raw.send("xppg/teleport", {}); // an unknown reserved kind: a violation
      await raw.conn.closed;
    }
    const [ban] = await banned;
    expect(ban.key).toBe(`peer:${identity.peerId}`);
    expect(a.bans.map((b) => b.key)).toContain(`peer:${identity.peerId}`);
    const again = await RawPeer.dial(memoryTransport(), a.addresses[0]!, identity);
    await again.hello();
    await again.conn.closed;
    const bye = again.received.find((m) => m.kind === "xppg/bye")?.payload as { code: string } | undefined;
    expect(bye?.code).toBe("XPPG_ERR_BANNED");
    expect(a.stats.refusedConnections).toBeGreaterThanOrEqual(1);
    expect(a.unban(identity.peerId)).toBe(true);
    const welcome = await RawPeer.dial(memoryTransport(), a.addresses[0]!, identity);
    await welcome.hello();
    await until(() => a.peers.length === 1, 5000, "admitted after unban");
  });

  it("ban() disconnects a connected peer and refuses its next join", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const left = nextEvent(b, "peer:left");
    a.ban(b.peerId, { reason: "testing bans" });
    await left;
    await expect(b.join(a.addresses[0]!)).rejects.toMatchObject({ code: "XPPG_ERR_BANNED" });
  });

  it("an allow-list admits only the peers it names", async () => {
    const friend = generateIdentity();
    const a = await node("test-app", { allowPeers: [friend.peerId] });
    const stranger = await node();
    const pal = await node("test-app", { identity: friend });
    await expect(stranger.join(a.addresses[0]!)).rejects.toMatchObject({ code: "XPPG_ERR_NOT_ALLOWED" });
    await expect(pal.join(a.addresses[0]!)).resolves.toMatchObject({ peerId: a.peerId });
  });
});

describe("Playground: encryption off, loudly", () => {
  it("two nodes that both disable it still talk", async () => {
    const a = await node("test-app", { dangerouslyDisableEncryption: true });
    const b = await node("test-app", { dangerouslyDisableEncryption: true });
    await b.join(a.addresses[0]!);
    const got = collect(a, "text");
    await b.sendText("in the clear");
    await until(() => got.length === 1, 5000, "text");
  });

  it("a join that expects one peer id fails if another node answers, as with encryption", async () => {
    const real = await node("test-app", { dangerouslyDisableEncryption: true });
    const other = await node("test-app", { dangerouslyDisableEncryption: true });
    const client = await node("test-app", { dangerouslyDisableEncryption: true });
    const err = await client.join(other.addresses[0]!, undefined, { peerId: real.peerId }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "XPPG_ERR_PEER_ID_MISMATCH" });
    expect((err as Error).message).toContain(real.peerId);
    expect((err as Error).message).toContain(other.peerId);
    expect(client.peers).toEqual([]);
    await until(() => other.peers.length === 0, 5000, "the other node to drop the connection");
    const ok = await client.join(real.addresses[0]!, undefined, { peerId: real.peerId });
    expect(ok.peerId).toBe(real.peerId);
  });

  it("a node that disabled it cannot join one that did not", async () => {
    const secure = await node();
    const plain = await node("test-app", { dangerouslyDisableEncryption: true, limits: { handshakeTimeoutMs: 500 } });
    await expect(plain.join(secure.addresses[0]!, undefined, { timeoutMs: 2000 })).rejects.toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_/) });
    expect(secure.peers).toEqual([]);
  });
});

describe("Playground: fuzzing an authenticated peer's frames", () => {
  it("random and mutated frames never crash the node; its good peer is served throughout", async () => {
    // Strikes would ban the fuzzer's host after a few runs; this test is about surviving the input.
    const target = await node("test-app", { limits: { banThreshold: Number.MAX_SAFE_INTEGER } });
    const good = await node();
    await good.join(target.addresses[0]!);
    const texts = collect(target, "text");
    const valid = new EnvelopeCodec().encode({ version: ENVELOPE_VERSION, kind: "text", source: "x", destination: null, id: 1, hopLimit: 0, payload: { text: "hi" } });
    const frames = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.tuple(fc.nat({ max: valid.byteLength - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
          const copy = valid.slice();
          copy[at] = v;
          return RawPeer.bundle(copy);
        }),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 4 }).map((parts) => RawPeer.bundle(...parts)),
      ),
      { minLength: 1, maxLength: 5 },
    );
    await fc.assert(
      fc.asyncProperty(frames, async (list) => {
        const raw = await RawPeer.dial(memoryTransport(), target.addresses[0]!);
        await raw.hello();
        for (const f of list) await raw.conn.send(f).catch(() => {});
        await raw.conn.close();
        const before = texts.length;
        await good.sendText("still served");
        await until(() => texts.length === before + 1, 5000, "the good peer's text");
      }),
      { numRuns: 40 },
    );
    expect(target.running).toBe(true);
    expect(target.peers.map((p) => p.peerId)).toEqual([good.peerId]);
  });
});

describe("Playground: signed broadcasts are rate-limited", () => {
  it("a peer flooding signed broadcasts is disconnected before they cost too many verifications", async () => {
    const a = await node("test-app", { limits: { broadcastsPerSecond: 10, broadcastBurst: 20 } });
    const raw = await RawPeer.dial(memoryTransport(), a.addresses[0]!);
    await raw.hello();
    await until(() => a.peers.length === 1, 5000, "raw peer admitted");
    const errors: XppgError[] = [];
    a.events.on("error", (e) => void errors.push(e));
    for (let i = 0; i < 100 && !raw.conn.isClosed; i++) await raw.conn.send(raw.signedBroadcast("news", { i }, raw.identity!)).catch(() => {});
    await raw.conn.closed;
    await until(() => errors.length > 0, 5000, "error");
    expect(errors[0]!.code).toBe("XPPG_ERR_RATE_LIMITED");
    expect(errors[0]!.message).toMatch(/signed broadcasts/);
  });
});
