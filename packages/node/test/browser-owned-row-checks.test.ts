// A page's owned-row checks (browser/owned-row-checks.ts): its signature
// check answers later (WebCrypto), so every owned row of an update is
// checked ahead with the sender's reading held, and the replica then takes
// exactly those rows, all or nothing.
import { describe, expect, it } from "vitest";
import { SharedState, UPDATE_FORMAT, signingBytes } from "@xppg/state";
import { generateIdentity, isPeerId, publicKeyFromPeerId, verifySignatureAsync } from "@xppg/secure";
import { OwnedRowChecks } from "../src/browser/owned-row-checks.js";
import type { PeerSession } from "../src/peer-session.js";

/** The session's part the checks use: its reading held until the promise settles. */
function session(): { held: Promise<unknown>[]; closed: unknown[]; s: PeerSession } {
  const held: Promise<unknown>[] = [];
  const closed: unknown[] = [];
  const s = { isClosed: false, holdReadingUntil: (p: Promise<unknown>) => void held.push(p), close: (e: unknown) => void closed.push(e) } as unknown as PeerSession;
  return { held, closed, s };
}

function pageReplica(): { state: SharedState; checks: OwnedRowChecks } {
  const checks = new OwnedRowChecks((writer, data, sig) => isPeerId(writer) && verifySignatureAsync(publicKeyFromPeerId(writer), data, sig));
  const state = new SharedState({ replicaId: generateIdentity().peerId, verify: checks.verifier });
  return { state, checks };
}

describe("a page's owned-row checks", () => {
  it("checks an update's owned rows ahead, holding the reading, then the replica applies them", async () => {
    const writer = generateIdentity();
    const { state, checks } = pageReplica();
    const version = Date.now() * 1024;
    const entries = [0, 1, 2].map((i) => {
      const key = `@${writer.peerId}/k${i}`;
      return [key, version, [writer.peerId, writer.sign(signingBytes(key, version, writer.peerId, i))], i];
    });
    const { held, closed, s } = session();
    checks.applyChecked(s, entries, () => state.apply({ format: UPDATE_FORMAT, seq: 1, entries }, writer.peerId), () => false);
    expect(held).toHaveLength(1);
    await held[0];
    expect(closed).toEqual([]);
    expect(state.get(`@${writer.peerId}/k2`)).toBe(2);
  });

  it("refuses the whole update when one row's signature is not its owner's, and the sender is closed", async () => {
    const writer = generateIdentity();
    const forger = generateIdentity();
    const { state, checks } = pageReplica();
    const version = Date.now() * 1024;
    const entries = [0, 1].map((i) => {
      const key = `@${writer.peerId}/k${i}`;
      const by = i === 1 ? forger : writer;
      return [key, version, [writer.peerId, by.sign(signingBytes(key, version, writer.peerId, i))], i];
    });
    const { held, closed, s } = session();
    checks.applyChecked(s, entries, () => state.apply({ format: UPDATE_FORMAT, seq: 1, entries }, writer.peerId), () => false);
    await held[0];
    expect(state.get(`@${writer.peerId}/k0`)).toBeUndefined();
    expect(closed).toHaveLength(1);
  });

  it("checks a row older than a tombstone it holds, so an honest peer that still has the row is not refused", async () => {
    const owner = generateIdentity();
    const { state, checks } = pageReplica();
    const key = `@${owner.peerId}/k`;
    const v1 = Date.now() * 1024;
    const written = [key, v1, [owner.peerId, owner.sign(signingBytes(key, v1, owner.peerId, 1))], 1];
    const deleted = [key, v1 + 1, [owner.peerId, owner.sign(signingBytes(key, v1 + 1, owner.peerId, undefined))]];
    const { held, closed, s } = session();
    let seq = 0;
    for (const entries of [[written], [deleted], [written]]) {
      checks.applyChecked(s, entries, () => state.apply({ format: UPDATE_FORMAT, seq: ++seq, entries }, owner.peerId), () => false);
      await held.at(-1);
      if (seq === 2) expect(state.versionOf(key)).toBe(v1 + 1);
    }
    expect(closed).toEqual([]);
    expect(state.get(key)).toBeUndefined();
  });

  it("stops at the first invalid row: the update is refused anyway", async () => {
    const writer = generateIdentity();
    const forger = generateIdentity();
    let asked = 0;
    const checks = new OwnedRowChecks((w, data, sig) => (asked++, isPeerId(w) && verifySignatureAsync(publicKeyFromPeerId(w), data, sig)));
    const state = new SharedState({ replicaId: generateIdentity().peerId, verify: checks.verifier });
    const version = Date.now() * 1024;
    const entries = [0, 1, 2, 3].map((i) => {
      const key = `@${writer.peerId}/k${i}`;
      return [key, version, [writer.peerId, (i === 0 ? forger : writer).sign(signingBytes(key, version, writer.peerId, i))], i];
    });
    const { held: reading, closed, s } = session();
    checks.applyChecked(s, entries, () => state.apply({ format: UPDATE_FORMAT, seq: 1, entries }, writer.peerId), () => false);
    await reading[0];
    expect(asked).toBe(1);
    expect(closed).toHaveLength(1);
    expect(state.get(`@${writer.peerId}/k1`)).toBeUndefined();
  });
});
