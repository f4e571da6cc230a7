import { describe, expect, it } from "vitest";
import { SharedState, STATE_ERROR_CODES, versionAtTime, type StateUpdate } from "../src/index.js";
import { expectStateError } from "./helpers/expect-state-error.js";

const C = STATE_ERROR_CODES;

function update(entries: unknown[]): StateUpdate {
  return { format: 3, seq: 1, entries } as unknown as StateUpdate;
}

/** A clock the test moves by hand. */
function manualClock(start: number): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe("one peer cannot fill the state for everyone", () => {
  it("1,000,000 distinct keys from one peer: it keeps its share, other peers and local writes still find room", () => {
    const victim = new SharedState({ replicaId: "victim" });
    const version = versionAtTime(Date.now());
    const codes = new Set<string>();
    for (let batch = 0; batch < 100; batch++) {
      const rows = Array.from({ length: 10_000 }, (_, i) => [`spam-${batch}-${i}`, version, "mallory", 1]);
      // As the node would: the update is cut to fit; each piece is all-or-nothing.
      for (const piece of victim.splitUpdate(update(rows), { maxEntries: 500 })) {
        try {
          victim.apply(piece, "mallory");
        } catch (error) {
          codes.add((error as { code: string }).code);
        }
      }
    }
    expect([...codes]).toEqual([C.TOO_MANY_KEYS_FROM_PEER]);
    expect(victim.size).toBe(victim.options.maxKeysPerPeer);
    // Another peer's new keys are still accepted.
    victim.apply(update([["alice-key", version, "alice", "hello"]]), "alice");
    expect(victim.get("alice-key")).toBe("hello");
    // And this replica's own.
    victim.set("mine", 1);
    expect(victim.get("mine")).toBe(1);
  }, 60_000); // under 2 s alone; a million rows on a loaded machine take longer

  it("received updates leave reservedLocalKeys free for local writes", () => {
    const state = new SharedState({ maxKeys: 10, reservedLocalKeys: 3, maxKeysPerPeer: 10 });
    const version = versionAtTime(Date.now());
    for (let i = 0; i < 7; i++) state.apply(update([[`k${i}`, version, "p", i]]), `peer-${i}`);
    expectStateError(() => state.apply(update([["k7", version, "p", 7]]), "peer-7"), C.TOO_MANY_KEYS);
    state.set("a", 1).set("b", 2).set("c", 3);
    expectStateError(() => state.set("d", 4), C.TOO_MANY_KEYS);
    // Deleting frees room: a key counts only while it holds a value.
    state.delete("k0");
    state.set("d", 4);
    expect(state.size).toBe(10);
    // Peers may still only fill maxKeys - reservedLocalKeys.
    state.delete("a");
    expectStateError(() => state.apply(update([["k8", version, "p", 8]]), "peer-8"), C.TOO_MANY_KEYS);
  });

  it("a key counts against the sender that made it hold a value, until it is deleted", () => {
    const state = new SharedState({ maxKeys: 100, maxKeysPerPeer: 2 });
    const v = versionAtTime(Date.now());
    state.apply(update([["a", v, "m", 1], ["b", v, "m", 1]]), "mallory");
    expectStateError(() => state.apply(update([["c", v, "m", 1]]), "mallory"), C.TOO_MANY_KEYS_FROM_PEER);
    // Overwriting its own keys, or one another peer added, adds nothing to its count.
    state.apply(update([["a", v + 1, "m", 2]]), "mallory");
    state.apply(update([["x", v, "alice", 1]]), "alice");
    state.apply(update([["x", v + 1, "m", 2]]), "mallory");
    // A delete in the same update makes room for a new key.
    state.apply(update([["a", v + 2, "m"], ["c", v, "m", 1]]), "mallory");
    expect([state.has("a"), state.get("c"), state.get("x")]).toEqual([false, 1, 2]);
  });
});

describe("one peer cannot fill maxTotalSize for everyone", () => {
  it("300 values of 60 KiB from one peer (more than the whole 16 MiB): another peer's values and local writes still fit", () => {
    const victim = new SharedState({ replicaId: "victim" });
    const version = versionAtTime(Date.now());
    const blob = new Uint8Array(60 * 1024);
    const codes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      try {
        victim.apply(update([[`blob-${i}`, version, "mallory", blob]]), "mallory");
      } catch (error) {
        codes.add((error as { code: string }).code);
      }
    }
    expect([...codes]).toEqual([C.TOO_LARGE_FROM_PEER]);
    for (let i = 0; i < 16; i++) victim.apply(update([[`alice-${i}`, version, "alice", blob]]), "alice");
    for (let i = 0; i < 16; i++) victim.set(`mine-${i}`, blob);
    expect(victim.has("alice-15") && victim.has("mine-15")).toBe(true);
  });

  it("received updates leave reservedLocalSize free for local writes", () => {
    const state = new SharedState({ maxTotalSize: 100_000, reservedLocalSize: 30_000, maxTotalSizePerPeer: 100_000 });
    const version = versionAtTime(Date.now());
    const blob = new Uint8Array(10_000);
    for (let i = 0; i < 6; i++) state.apply(update([[`r${i}`, version, "p", blob]]), `peer-${i}`);
    expectStateError(() => state.apply(update([["r6", version, "p", blob]]), "peer-6"), C.TOO_LARGE);
    for (let i = 0; i < 3; i++) state.set(`l${i}`, blob);
    expectStateError(() => state.set("l3", blob), C.TOO_LARGE);
  });
});

describe("tombstones expire and never lock anyone out", () => {
  it("20,000 deletes of unknown keys: tombstones stay within maxTombstones and new keys are still written", () => {
    const victim = new SharedState({ replicaId: "victim" });
    const version = versionAtTime(Date.now());
    for (let batch = 0; batch < 40; batch++) {
      victim.apply(update(Array.from({ length: 500 }, (_, i) => [`ghost-${batch}-${i}`, version, "mallory"])), "mallory");
    }
    expect(victim.tombstones).toBe(victim.options.maxTombstones);
    victim.set("new-key", 1);
    expect(victim.get("new-key")).toBe(1);
    victim.apply(update([["alice-key", version, "alice", 2]]), "alice");
    expect(victim.get("alice-key")).toBe(2);
  });

  it("a tombstone is forgotten tombstoneTtlMs after its version's time; a late older write then brings the key back (the documented risk)", () => {
    const clock = manualClock(1_800_000_000_000);
    const state = new SharedState({ now: clock.now, tombstoneTtlMs: 60_000 });
    const old = versionAtTime(clock.now());
    state.set("k", 1);
    clock.advance(1);
    state.delete("k");
    expect(state.tombstones).toBe(1);
    // Within the grace period a late, older write is stopped.
    state.apply(update([["k", old, "w", "stale"]]), "w");
    expect(state.has("k")).toBe(false);
    clock.advance(60_000);
    expect(state.snapshot().entries).toEqual([]);
    expect(state.tombstones).toBe(0);
    state.apply(update([["k", old, "w", "stale"]]), "w");
    expect(state.get("k")).toBe("stale");
  });

  it("a received delete already past its time is not remembered", () => {
    const state = new SharedState({ tombstoneTtlMs: 1000 });
    state.apply(update([["gone", versionAtTime(Date.now() - 5000), "w"]]), "w");
    expect(state.tombstones).toBe(0);
    expect(state.snapshot().entries).toEqual([]);
  });
});
