import { describe, expect, it } from "vitest";
import { SharedState, UPDATE_FORMAT, signingBytes } from "@xppg/state";
import { generateIdentity, publicKeyFromPeerId, verifySignature } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";
import { CHECKS_PER_TURN, currentTurn } from "../src/bundle-reader.js";
import { OwnedRowChecks } from "../src/owned-row-checks.js";
import { Playground } from "../src/index.js";
import type { PeerSession } from "../src/peer-session.js";
import { RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

/** `count` rows of keys `@<writer>/k<i>`, each signed by the writer as a node signs its own keys. */
function ownedRows(identity: ReturnType<typeof generateIdentity>, count: number, version = Date.now() * 1024): unknown[] {
  return Array.from({ length: count }, (_, i) => {
    const key = `@${identity.peerId}/k${i}`;
    return [key, version, [identity.peerId, identity.sign(signingBytes(key, version, identity.peerId, i))], i];
  });
}

describe("owned-key rows are checked in slices per turn (issue 16: 1,000 owned rows were ~60 ms in one turn)", () => {
  it("an update's signatures are checked at most CHECKS_PER_TURN a turn, and then pass the replica's check without a second verification", async () => {
    const writer = generateIdentity();
    const turns = new Map<number, number>();
    let verifications = 0;
    const held: { state?: SharedState } = {};
    const checks = new OwnedRowChecks(
      (w, data, sig) => {
        verifications++;
        const t = currentTurn();
        turns.set(t, (turns.get(t) ?? 0) + 1);
        return verifySignature(publicKeyFromPeerId(w), data, sig);
      },
      (key) => held.state!.versionOf(key),
    );
    // A real replica: it parses the update, copying each signature, before it checks it.
    const state = (held.state = new SharedState({ replicaId: generateIdentity().peerId, verify: checks.verifier }));
    const rows = ownedRows(writer, 200);
    expect(checks.toCheckAhead(rows)).toHaveLength(200);
    const reading: Promise<unknown>[] = [];
    const closed: unknown[] = [];
    const session = { isClosed: false, holdReadingUntil: (p: Promise<unknown>) => void reading.push(p), close: (e: unknown) => void closed.push(e) } as unknown as PeerSession;
    checks.applyChecked(session, rows, () => state.apply({ format: UPDATE_FORMAT, seq: 1, entries: rows }, writer.peerId), () => false);
    expect(reading).toHaveLength(1);
    await reading[0];
    expect(closed).toEqual([]);
    expect(state.get(`@${writer.peerId}/k199`)).toBe(199);
    // Each row was verified once, ahead, in slices: the replica found every one done (it verified 400 times when it matched signatures by object).
    expect(verifications).toBe(200);
    expect(Math.max(...turns.values())).toBeLessThanOrEqual(CHECKS_PER_TURN);
    expect(turns.size).toBeGreaterThanOrEqual(200 / CHECKS_PER_TURN);
  });

  it("outside an update checked ahead, the replica's check is a real verification", async () => {
    const writer = generateIdentity();
    let verifications = 0;
    const checks = new OwnedRowChecks((w, data, sig) => (verifications++, verifySignature(publicKeyFromPeerId(w), data, sig)), () => 0);
    const rows = ownedRows(writer, 20);
    const valid = await checks.checkAhead(checks.toCheckAhead(rows), () => false);
    expect(valid.size).toBe(20);
    const [key, version, [w, sig], value] = rows[7] as [string, number, [string, Uint8Array], number];
    expect(checks.verifier(w, signingBytes(key, version, w, value), sig)).toBe(true);
    expect(verifications).toBe(21);
    expect(checks.verifier(w, signingBytes(key, version, w, value + 1), sig)).toBe(false);
  });

  it("few rows, or rows the replica holds newer, are left to the replica", () => {
    const writer = generateIdentity();
    const checks = new OwnedRowChecks(() => true, () => Number.MAX_SAFE_INTEGER);
    expect(checks.toCheckAhead(ownedRows(writer, CHECKS_PER_TURN))).toEqual([]);
    expect(checks.toCheckAhead(ownedRows(writer, 100))).toEqual([]);
  });
});

describe("a node taking a large update of owned keys (real TCP)", () => {
  async function victimAndWriter(): Promise<{ victim: Playground; raw: RawPeer }> {
    const victim = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"] }));
    await victim.start();
    const raw = await RawPeer.dial(tcpTransport(), victim.addresses[0]!);
    await raw.hello();
    await until(() => victim.peers.some((p) => p.peerId === raw.peerId), 5000, "the writer joined");
    return { victim, raw };
  }

  it("applies all 1,000 rows as one update, and handles the peer's next message only after it", async () => {
    const { victim, raw } = await victimAndWriter();
    const seenAtText: number[] = [];
    victim.on("text", () => {
      seenAtText.push(victim.state.size);
    });
    const entries = ownedRows(raw.identity!, 1000);
    const sizes: number[] = [];
    victim.state.on("change", () => sizes.push(victim.state.size));
    await raw.conn.send(RawPeer.bundle(raw.bareEnvelope("xppg/state", { update: { format: UPDATE_FORMAT, seq: 1, entries } }), raw.bareEnvelope("text", { text: "after" })));
    await until(() => seenAtText.length === 1, 10_000, "the text after the update");
    expect(seenAtText).toEqual([1000]);
    expect(new Set(sizes)).toEqual(new Set([1000]));
    expect(victim.peers.map((p) => p.peerId)).toContain(raw.peerId);
  });

  it("refuses the whole update when its last row's signature is not the writer's, and drops the sender", async () => {
    const { victim, raw } = await victimAndWriter();
    const left: string[] = [];
    victim.events.on("peer:left", (_peer, reason) => left.push(reason?.code ?? "left"));
    victim.events.on("error", () => {});
    const entries = ownedRows(raw.identity!, 1000);
    const last = entries[999] as [string, number, [string, Uint8Array], number];
    entries[999] = [last[0], last[1], [last[2][0], generateIdentity().sign(signingBytes(last[0], last[1], last[2][0], last[3]))], last[3]];
    await raw.send("xppg/state", { update: { format: UPDATE_FORMAT, seq: 1, entries } });
    await until(() => left.length === 1, 10_000, "the sender dropped");
    expect(left).toEqual(["XPPG_ERR_STATE_WRITE_NOT_ALLOWED"]);
    expect(victim.state.size).toBe(0);
  });
});
