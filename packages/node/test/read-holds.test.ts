import { afterEach, describe, expect, it, vi } from "vitest";
import { ENVELOPE_VERSION, EnvelopeCodec } from "@xppg/framing";
import { generateIdentity } from "@xppg/secure";
import { memoryTransport, type Connection, type Listener } from "@xppg/transport";
import { PROTOCOL_VERSION } from "../src/index.js";
import { TurnChecks, TurnTime } from "../src/bundle-reader.js";
import { PeerSession } from "../src/peer-session.js";
import { DIRECT_ELSEWHERE } from "../src/message-router.js";
import { ReadHolds } from "../src/read-holds.js";
import type { SessionHost } from "../src/session-host.js";
import { RawPeer } from "./helpers.js";

/**
 * A node-side session over a real in-memory connection, its reader handling
 * one envelope per turn, and the peer's end of that connection. `admitted`
 * runs while the peer's hello is handled. Whether the node's end reads is
 * recorded from its own pause and resume calls.
 */
async function sessionPair(admitted: (session: PeerSession) => void) {
  const transport = memoryTransport();
  let accepted: ((c: Connection) => void) | undefined;
  const nodeEnd = new Promise<Connection>((resolve) => (accepted = resolve));
  const listener: Listener = await transport.listen(`memory://holds-${Math.random()}`, (c) => accepted!(c));
  const peerEnd = await transport.dial(listener.address);
  const conn = await nodeEnd;
  const reading = { paused: false };
  const pause = conn.pause.bind(conn);
  const resume = conn.resume.bind(conn);
  conn.pause = () => void ((reading.paused = true), pause());
  conn.resume = () => void ((reading.paused = false), resume());
  const codec = new EnvelopeCodec();
  const me = generateIdentity().peerId;
  const host: SessionHost = {
    localPeerId: generateIdentity().peerId,
    codec,
    hello: () => ({ app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [], peerId: me, listen: [], agent: "test" }) as never,
    nextMessageId: () => 1,
    admit: (session) => (admitted(session), null),
    router: { deliver: () => {}, deliverDirect: () => DIRECT_ELSEWHERE },
    dispatcher: { dispatch: () => false },
    relays: () => false,
    opened: () => {},
    report: () => {},
    ended: () => {},
  };
  const session = new PeerSession(conn, host, { handshakeTimeoutMs: 10_000, messagesPerSecond: Infinity, messageBurst: Infinity, bytesPerSecond: Infinity, byteBurst: Infinity, envelopesPerTurn: 1, checks: exactSlices(), queue: { maxQueuedBytes: 1 << 20, writeStallTimeoutMs: 0 } });
  const peer = generateIdentity().peerId;
  const envelope = (kind: string, payload: unknown): Uint8Array => codec.encode({ version: ENVELOPE_VERSION, kind, source: peer, destination: null, id: Math.floor(Math.random() * 1e9), hopLimit: 0, payload });
  const hello = envelope("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [], peerId: peer, listen: [], agent: "test" });
  const cleanup = (): void => {
    session.close();
    void peerEnd.close();
    void listener.close();
  };
  // Hello and welcome in one frame: the reader handles the hello in one turn and the welcome in the next.
  const start = (): Promise<void> => peerEnd.send(RawPeer.bundle(hello, envelope("xppg/welcome", null)));
  return { session, reading, start, cleanup };
}

/** Exact slices of `envelopesPerTurn` (no run-on in Node): the hello and the welcome are read in two turns. */
function exactSlices(): TurnChecks {
  const checks = new TurnChecks();
  checks.time = new TurnTime(0);
  return checks;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("ReadHolds and a session's reader share one count of the connection's pause", () => {
  it("the reader's resume after its slice does not resume a connection a room still holds", async () => {
    const holds = new ReadHolds(new Set());
    const pair = await sessionPair((session) => holds.set(session, true));
    cleanups.push(pair.cleanup);
    await pair.start();
    // The welcome was read in a later turn, and the reader let go of the connection.
    await vi.waitFor(() => expect(pair.session.isOpen).toBe(true));
    expect(pair.session.holding).toBe(false);
    expect(pair.reading.paused).toBe(true);
    holds.set(pair.session, false);
    expect(pair.reading.paused).toBe(false);
  });

  it("a room's release does not resume a connection the reader holds for work on an envelope (deferUntil)", async () => {
    const holds = new ReadHolds(new Set());
    let done!: () => void;
    const work = new Promise<void>((resolve) => (done = resolve));
    const pair = await sessionPair((session) => session.holdReadingUntil(work));
    cleanups.push(pair.cleanup);
    await pair.start();
    await vi.waitFor(() => expect(pair.session.holding).toBe(true));
    expect(pair.reading.paused).toBe(true);
    holds.set(pair.session, true);
    holds.set(pair.session, false);
    // A release with no hold of the room's taken is not the room's to give either.
    holds.set(pair.session, false);
    expect(pair.reading.paused).toBe(true);
    done();
    await vi.waitFor(() => expect(pair.session.isOpen).toBe(true));
    expect(pair.reading.paused).toBe(false);
  });
});
