import { afterEach, describe, expect, it, vi } from "vitest";
import { ENVELOPE_VERSION, EnvelopeCodec, type Envelope } from "@xppg/framing";
import { generateIdentity } from "@xppg/secure";
import type { Connection } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { PROTOCOL_VERSION } from "../src/index.js";
import { NODE_ERROR_CODES, PlaygroundError } from "../src/errors.js";
import { PeerSession } from "../src/peer-session.js";
import type { SessionHost } from "../src/session-host.js";
import { DRAIN_TIMEOUT_MS, SessionEnd } from "../src/session-end.js";
import { RawPeer, stopNodesAfterEach } from "./helpers.js";
import { tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

/** No rate limit may drop the peer here: only when its end is reported is under test. */
const unlimited = { broadcastsPerSecond: Infinity, verificationsPerSecond: Infinity, messagesPerSecond: Infinity };

/** One frame holding `count` signed broadcasts (single-envelope bundles, joined, are one bundle). */
function signedFrame(raw: RawPeer, count: number): Uint8Array {
  const parts = Array.from({ length: count }, (_, n) => raw.signedBroadcast("news", { n }, raw.identity!));
  const frame = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    frame.set(p, at);
    at += p.byteLength;
  }
  return frame;
}

/** A hello offering `dup/1` (the side that accepted both connections decides between them), then the welcome. */
async function dupHello(raw: RawPeer): Promise<void> {
  await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["dup/1"], peerId: raw.peerId, listen: [], agent: "raw", time: Date.now() });
  await raw.send("xppg/welcome", null);
}

describe("a peer that closes without a goodbye while its last frames wait to be read", () => {
  it("and dials again at once is welcomed on its new connection, and leaves before it joins again", async () => {
    const pg = await tcpNode({ limits: unlimited });
    const seen: string[] = [];
    pg.events.on("peer:joined", (peer) => void seen.push(`joined ${peer.peerId}`));
    pg.events.on("peer:left", (peer, reason) => void seen.push(`left ${peer.peerId} ${reason?.code}`));
    const first = await tcpRawPeer(pg, { hello: false });
    await dupHello(first);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    // 2,000 signed broadcasts take some 125 turns to check (16 a turn): the close arrives long before they are read.
    void first.conn.send(signedFrame(first, 2000));
    await first.conn.close();
    // The same peer restarted: the same identity, a new connection, dialled at once.
    const second = await tcpRawPeer(pg, { hello: false, identity: first.identity! });
    await dupHello(second);
    await vi.waitFor(() => expect(second.received.map((m) => m.kind)).toContain("xppg/welcome"));
    expect(second.received.map((m) => m.kind)).not.toContain("xppg/bye");
    await vi.waitFor(() => expect(seen).toHaveLength(3));
    expect(seen).toEqual([`joined ${first.peerId}`, `left ${first.peerId} XPPG_ERR_PEER_GONE`, `joined ${first.peerId}`]);
    expect(pg.peers.map((p) => p.peerId)).toEqual([first.peerId]);
    await second.conn.close();
  });
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/**
 * A node-side session over real TCP on loopback, and the peer's end of it,
 * both past the handshake. The host records what the session hands up and
 * its end; `deliver` runs on each message it hands up.
 */
async function tcpSessionPair(deliver: (session: PeerSession, envelope: Envelope) => void) {
  const transport = tcpTransport();
  let accepted!: (c: Connection) => void;
  const nodeEnd = new Promise<Connection>((resolve) => (accepted = resolve));
  const listener = await transport.listen("tcp://127.0.0.1:0", (c) => accepted(c));
  const peerEnd = await transport.dial(listener.address);
  const codec = new EnvelopeCodec();
  const [local, peer] = [generateIdentity().peerId, generateIdentity().peerId];
  const delivered: unknown[] = [];
  const ended: (string | undefined)[] = [];
  const host: SessionHost = {
    localPeerId: local,
    codec,
    hello: () => ({ app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [], peerId: local, listen: [], agent: "test" }) as never,
    nextMessageId: () => 1,
    admit: () => null,
    router: { deliver: (s: PeerSession, e: Envelope) => void (delivered.push(e.payload), deliver(s, e)), deliverDirect: () => false },
    dispatcher: { dispatch: () => {} },
    relays: () => false,
    opened: () => {},
    report: () => {},
    ended: (_s, error) => void ended.push(error?.code),
  };
  const session = new PeerSession(await nodeEnd, host, { handshakeTimeoutMs: 10_000, messagesPerSecond: Infinity, messageBurst: Infinity, bytesPerSecond: Infinity, byteBurst: Infinity, queue: { maxQueuedBytes: 1 << 20, writeStallTimeoutMs: 0 } });
  const envelope = (kind: string, payload: unknown, destination: string | null = local): Uint8Array =>
    codec.encode({ version: ENVELOPE_VERSION, kind, source: peer, destination, id: Math.floor(Math.random() * 1e9), hopLimit: 0, payload });
  const hello = envelope("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [], peerId: peer, listen: [], agent: "test" }, null);
  await peerEnd.send(RawPeer.bundle(hello, envelope("xppg/welcome", null)));
  await vi.waitFor(() => expect(session.isOpen).toBe(true));
  cleanups.push(() => Promise.all([session.connection.close(), peerEnd.close(), listener.close()]));
  return { session, peerEnd, envelope, delivered, ended };
}

describe("a connection closed as a duplicate, still read for what the peer sent before", () => {
  it("ends at once on a second close after the peer closed its end, even while a room holds its reading: nothing is handed up after", async () => {
    // The first message handed up holds the reading (as a room's work on it would), for longer than the test runs.
    const pair = await tcpSessionPair((session) => session.holdReadingUntil(new Promise(() => {})));
    pair.session.close(new PlaygroundError(NODE_ERROR_CODES.DUPLICATE_CONNECTION, "another connection is kept"));
    // Sent before the peer heard of the replacement: the first is handed up, the second waits behind the room's hold.
    await pair.peerEnd.send(RawPeer.bundle(pair.envelope("app/note", 1), pair.envelope("app/note", 2)));
    await vi.waitFor(() => expect(pair.delivered).toEqual([1]));
    await pair.peerEnd.close();
    await pair.session.connection.closed;
    expect(pair.ended).toEqual([]);
    // A node's stop closes every session again and waits for their connections (closed already): the end is reported within it.
    pair.session.close(new PlaygroundError(NODE_ERROR_CODES.STOPPED, "the node stops"));
    await pair.session.connection.closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(pair.ended).toHaveLength(1);
    expect(pair.delivered).toEqual([1]);
  });
});

describe("SessionEnd", () => {
  afterEach(() => void vi.useRealTimers());

  it("reports a peer's close that a room's hold keeps waiting after DRAIN_TIMEOUT_MS, once", async () => {
    vi.useFakeTimers();
    const ends: unknown[] = [];
    // Still reading, and the reader holds part of the peer's data behind a room's work that never ends.
    const end = new SessionEnd((info) => void ends.push(info), () => true, () => true);
    end.closed({ initiator: "remote" });
    end.inputEnded();
    await vi.advanceTimersByTimeAsync(DRAIN_TIMEOUT_MS - 1);
    expect(ends).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ends).toEqual([{ initiator: "remote" }]);
    end.check();
    end.now(new PlaygroundError(NODE_ERROR_CODES.PEER_GONE, "gone"));
    await vi.advanceTimersByTimeAsync(DRAIN_TIMEOUT_MS);
    expect(ends).toHaveLength(1);
  });
});
