import { describe, expect, it, vi } from "vitest";
import { SharedState, STATE_ERROR_CODES, UPDATE_FORMAT, type StateChange } from "../src/index.js";
import { STOPPED_CLOCK } from "./helpers/clock.js";
import { expectStateError } from "./helpers/expect-state-error.js";

describe("SharedState local operations", () => {
  it("sets, gets and overwrites a value (the original's example)", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    state.set("height", 1);
    state.set("height", 2);
    expect(state.get("height")).toBe(2);
    expect(state.versionOf("height")).toBe(2);
  });

  it("get returns undefined or the fallback for a missing key", () => {
    const state = new SharedState<number>({ now: STOPPED_CLOCK });
    expect(state.get("nope")).toBeUndefined();
    expect(state.get("nope", 7)).toBe(7);
    state.set("yes", 0);
    expect(state.get("yes", 7)).toBe(0);
  });

  it("has, size, keys, values, entries and toJSON show live keys only", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    state.set("a", 1).set("b", null).set("c", "x");
    expect(state.delete("b")).toBe(true);
    expect(state.has("a")).toBe(true);
    expect(state.has("b")).toBe(false);
    expect(state.size).toBe(2);
    expect([...state.keys()]).toEqual(["a", "c"]);
    expect([...state.values()]).toEqual([1, "x"]);
    expect([...state.entries()]).toEqual([
      ["a", 1],
      ["c", "x"],
    ]);
    expect(state.toJSON()).toEqual({ a: 1, c: "x" });
    expect(JSON.stringify(state)).toBe('{"a":1,"c":"x"}');
  });

  it("null is a value, not a delete", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    state.set("k", null);
    expect(state.has("k")).toBe(true);
    expect(state.get("k", "fallback")).toBeNull();
  });

  it("delete leaves a versioned tombstone and returns false when there is nothing to delete", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    expect(state.delete("ghost")).toBe(false);
    expect(state.versionOf("ghost")).toBe(0);
    state.set("k", 1);
    expect(state.delete("k")).toBe(true);
    expect(state.versionOf("k")).toBe(2);
    expect(state.delete("k")).toBe(false);
    state.set("k", 3);
    expect(state.versionOf("k")).toBe(3);
    expect(state.get("k")).toBe(3);
  });

  it("stores a frozen copy: the caller cannot change the state behind its back", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const value = { list: [1, 2], nested: { x: 1 } };
    state.set("k", value);
    value.list.push(3);
    value.nested.x = 99;
    const stored = state.get("k") as { list: number[]; nested: { x: number } };
    expect(stored).toEqual({ list: [1, 2], nested: { x: 1 } });
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored.list)).toBe(true);
    expect(() => stored.list.push(4)).toThrow(TypeError);
  });

  it("copies bytes, so a Buffer the caller reuses does not change the state", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const buffer = Buffer.from([1, 2, 3]);
    state.set("bytes", buffer);
    buffer[0] = 9;
    const stored = state.get("bytes") as Uint8Array;
    expect(Array.from(stored)).toEqual([1, 2, 3]);
    expect(Object.getPrototypeOf(stored)).toBe(Uint8Array.prototype);
  });

  it("stores -0 as 0, as MessagePack will deliver it", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    state.set("z", -0);
    expect(Object.is(state.get("z"), 0)).toBe(true);
  });

  it("a key named __proto__ is an ordinary key, in the map and in toJSON", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    state.set("__proto__", { polluted: true });
    state.set("constructor", 1);
    expect(state.get("__proto__")).toEqual({ polluted: true });
    const json = state.toJSON();
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(Object.keys(json)).toEqual(["__proto__", "constructor"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("has a random replica id by default, or the one given", () => {
    expect(new SharedState({ now: STOPPED_CLOCK }).replicaId).not.toBe(new SharedState({ now: STOPPED_CLOCK }).replicaId);
    expect(new SharedState({ now: STOPPED_CLOCK, replicaId: "peer-a" }).replicaId).toBe("peer-a");
  });

  it("seq grows once per operation that changes something", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    expect(state.seq).toBe(0);
    state.set("a", 1);
    state.set("a", 1);
    state.delete("a");
    state.delete("a");
    expect(state.seq).toBe(3);
  });

  it("exposes the resolved options", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, maxKeys: 5 });
    expect(state.options.maxKeys).toBe(5);
    expect(state.options.maxKeyLength).toBe(256);
  });
});

describe("SharedState change events", () => {
  it("reports local sets and deletes with old and new values", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, replicaId: "me" });
    const seen: StateChange[][] = [];
    state.on("change", (changes) => seen.push([...changes]));
    state.set("k", 1);
    state.set("k", 2);
    state.delete("k");
    expect(seen).toEqual([
      [{ key: "k", value: 1, deleted: false, oldValue: undefined, version: 1, source: "local", origin: undefined }],
      [{ key: "k", value: 2, deleted: false, oldValue: 1, version: 2, source: "local", origin: undefined }],
      [{ key: "k", value: undefined, deleted: true, oldValue: 2, version: 3, source: "local", origin: undefined }],
    ]);
  });

  it("does not report a write that leaves the value as it was", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const listener = vi.fn();
    state.set("k", { a: [1] });
    state.on("change", listener);
    state.set("k", { a: [1] });
    expect(listener).not.toHaveBeenCalled();
    expect(state.versionOf("k")).toBe(2);
  });

  it("reports remote changes with the origin given to apply", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    a.set("x", 1).set("y", 2);
    const listener = vi.fn();
    b.on("change", listener);
    const changes = b.apply(a.snapshot(), "peer-a");
    expect(changes.map((c) => [c.key, c.value, c.source, c.origin])).toEqual([
      ["x", 1, "remote", "peer-a"],
      ["y", 2, "remote", "peer-a"],
    ]);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener.mock.calls[0]?.[0]).toEqual(changes);
  });

  it("unsubscribes, and a function added twice is called twice", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const listener = vi.fn();
    const off1 = state.on("change", listener);
    const off2 = state.on("change", listener);
    state.set("a", 1);
    expect(listener).toHaveBeenCalledTimes(2);
    off1();
    off1();
    state.set("a", 2);
    expect(listener).toHaveBeenCalledTimes(3);
    off2();
    state.set("a", 3);
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it("a throwing listener does not stop the others or undo the change; LISTENER_FAILED follows", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const boom = new Error("listener bug");
    const after = vi.fn();
    state.on("change", () => {
      throw boom;
    });
    state.on("change", after);
    const error = expectStateError(() => state.set("k", 1), STATE_ERROR_CODES.LISTENER_FAILED);
    expect(error.cause).toBe(boom);
    expect(after).toHaveBeenCalledTimes(1);
    expect(state.get("k")).toBe(1);
  });

  it("a listener may write to the state (a reaction), and sees consistent state", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    state.on("change", (changes) => {
      for (const change of changes) if (change.key === "celsius" && typeof change.value === "number") state.set("fahrenheit", change.value * 1.8 + 32);
    });
    state.set("celsius", 100);
    expect(state.get("fahrenheit")).toBe(212);
  });

  it("refuses an unknown event name", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    expectStateError(() => state.on("chnage" as "change", () => {}), STATE_ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe("SharedState replication", () => {
  it("snapshot holds every entry, tombstones included, in the documented wire shape", () => {
    const state = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    state.set("x", 1).set("y", new Uint8Array([7]));
    state.delete("x");
    expect(state.snapshot()).toEqual({
      format: UPDATE_FORMAT,
      seq: 3,
      entries: [
        ["x", 2, "a"],
        ["y", 1, "a", new Uint8Array([7])],
      ],
    });
  });

  it("delta holds only what changed after a sequence number, remote changes included", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    a.set("one", 1);
    const first = a.snapshot();
    a.set("two", 2);
    b.set("three", 3);
    a.apply(b.snapshot());
    const delta = a.delta(first.seq);
    expect(delta.entries.map((e) => e[0]).sort()).toEqual(["three", "two"]);
    expect(a.delta(delta.seq).entries).toEqual([]);
    expect(a.delta(0)).toEqual(a.snapshot());
    expectStateError(() => a.delta(-1), STATE_ERROR_CODES.INVALID_ARGUMENT);
    expectStateError(() => a.delta(1.5), STATE_ERROR_CODES.INVALID_ARGUMENT);
  });

  it("newer versions win, older ones are ignored", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    a.set("k", "old");
    const old = a.snapshot();
    a.set("k", "new");
    b.apply(a.snapshot());
    expect(b.apply(old)).toEqual([]);
    expect(b.get("k")).toBe("new");
    expect(b.versionOf("k")).toBe(2);
  });

  it("a local write goes above every version seen for the key", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    for (let i = 0; i < 5; i++) a.set("k", i);
    b.apply(a.snapshot());
    b.set("k", "mine");
    expect(b.versionOf("k")).toBe(6);
    a.apply(b.snapshot());
    expect(a.get("k")).toBe("mine");
  });

  it("a tombstone stops a late, older set from bringing a key back", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    a.set("k", 1);
    const lateSet = a.snapshot();
    a.delete("k");
    b.apply(a.snapshot());
    b.apply(lateSet);
    expect(b.has("k")).toBe(false);
    expect(b.versionOf("k")).toBe(2);
  });

  it("a remote delete is reported as a change", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    a.set("k", 1);
    b.apply(a.snapshot());
    a.delete("k");
    const changes = b.apply(a.delta(1));
    expect(changes).toEqual([{ key: "k", value: undefined, deleted: true, oldValue: 1, version: 2, source: "remote", origin: undefined }]);
  });

  it("apply is idempotent: a duplicate changes nothing and reports nothing", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    a.set("k", { deep: [1, 2] });
    const update = a.snapshot();
    expect(b.apply(update)).toHaveLength(1);
    const seq = b.seq;
    expect(b.apply(update)).toEqual([]);
    expect(b.seq).toBe(seq);
  });

  it("splitUpdate cuts an update by entries and by bytes, and the pieces apply to the same state", () => {
    const a = new SharedState({ now: STOPPED_CLOCK, replicaId: "a" });
    for (let i = 0; i < 10; i++) a.set(`k${i}`, "x".repeat(100));
    const whole = a.snapshot();
    const byCount = a.splitUpdate(whole, { maxEntries: 3 });
    expect(byCount.map((p) => p.entries.length)).toEqual([3, 3, 3, 1]);
    const byBytes = a.splitUpdate(whole, { maxBytes: 400 });
    expect(byBytes.length).toBeGreaterThan(3);
    for (const piece of byBytes) expect(piece.seq).toBe(whole.seq);
    const b = new SharedState({ now: STOPPED_CLOCK, replicaId: "b" });
    for (const piece of byBytes.reverse()) b.apply(piece);
    expect(b.toJSON()).toEqual(a.toJSON());
    expect(a.splitUpdate(a.delta(a.seq))).toEqual([{ format: 3, seq: a.seq, entries: [] }]);
  });

  it("validateUpdate returns a frozen copy of a good update", () => {
    const state = new SharedState({ now: STOPPED_CLOCK });
    const input = { format: 3, seq: 3, entries: [["k", 1, "w", { a: 1 }]], extra: "ignored" };
    const update = state.validateUpdate(input);
    expect(update).toEqual({ format: 3, seq: 3, entries: [["k", 1, "w", { a: 1 }]] });
    expect(Object.isFrozen(update.entries[0])).toBe(true);
    expect(update.entries[0]?.[3]).not.toBe(input.entries[0]?.[3]);
  });
});
