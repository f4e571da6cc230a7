import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SharedState, STATE_ERROR_CODES } from "../src/index.js";
import { openFileStore, readRecords, FILE_STORE_MAGIC } from "../src/store/index.js";
import { expectStateError } from "./helpers/expect-state-error.js";

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "xppg-state-"));
  path = join(dir, "state.log");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function reopen(replicaId = "a"): SharedState {
  return new SharedState({ replicaId, store: openFileStore(path) });
}

describe("openFileStore", () => {
  it("keeps writes, deletes, bytes and received keys across a restart", () => {
    const a = reopen();
    a.set("n", 1).set("obj", { list: [1, "two", null], b: new Uint8Array([1, 2, 3]) }).set("gone", true);
    a.delete("gone");
    const b = new SharedState({ replicaId: "b" });
    b.set("from-b", "hi");
    a.apply(b.snapshot(), "b");
    const versions = [a.versionOf("n"), a.versionOf("gone")];
    a.close();

    const again = reopen();
    expect(again.toJSON()).toEqual({ n: 1, obj: { list: [1, "two", null], b: new Uint8Array([1, 2, 3]) }, "from-b": "hi" });
    expect([again.versionOf("n"), again.versionOf("gone")]).toEqual(versions);
    expect(again.tombstones).toBe(1);
    expect(Object.isFrozen(again.get("obj"))).toBe(true);
    // The next local write is above what was kept, and a late older write does not bring a deleted key back.
    again.set("n", 2);
    expect(again.versionOf("n")).toBeGreaterThan(versions[0] as number);
    expect(again.apply({ format: 3, seq: 1, entries: [["gone", 1, "z", "old"]] }, "z")).toEqual([]);
    // The key received from b is still charged to b.
    expect(again.snapshot().entries.length).toBe(4);
    again.close();
  });

  it("ignores a torn last record and cuts it off, never failing", () => {
    const a = reopen();
    a.set("x", 1).set("y", 2);
    a.close();
    const whole = statSync(path).size;
    // A write cut by a crash: a header promising more bytes than follow.
    appendFileSync(path, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    const store = openFileStore(path);
    expect(store.recoveredBytes).toBe(10);
    const again = new SharedState({ replicaId: "a", store });
    expect(again.toJSON()).toEqual({ x: 1, y: 2 });
    expect(statSync(path).size).toBe(whole);
    again.set("z", 3);
    again.close();
    expect(reopen().toJSON()).toEqual({ x: 1, y: 2, z: 3 });
  });

  it("ignores a last record whose checksum fails (a half-written payload)", () => {
    const a = reopen();
    a.set("x", 1);
    a.set("y", "a value long enough to be cut");
    a.close();
    truncateSync(path, statSync(path).size - 5);
    const data = readFileSync(path);
    expect(readRecords(data, FILE_STORE_MAGIC.length).validLength).toBeLessThan(data.length);
    expect(reopen().toJSON()).toEqual({ x: 1 });
  });

  it("refuses a file that is not a state log and leaves it as it was", () => {
    writeFileSync(path, "my notes\n");
    expectStateError(() => openFileStore(path), STATE_ERROR_CODES.STORE_FAILED);
    expect(readFileSync(path, "utf8")).toBe("my notes\n");
  });

  it("compacts a long log into the live slots, atomically", () => {
    // Group commit, so the test does not wait for 12,000 syncs.
    const a = new SharedState({ replicaId: "a", store: openFileStore(path, { syncIntervalMs: 1000 }) });
    for (let i = 0; i < 12_000; i++) a.set(`k${i % 100}`, i);
    a.close();
    // 12,000 writes of 100 keys, one record each: the log was rewritten on the way, so it holds far fewer records.
    const records = readRecords(readFileSync(path), FILE_STORE_MAGIC.length).payloads.length;
    expect(records).toBeLessThan(4300);
    const again = reopen();
    expect(again.size).toBe(100);
    expect(again.get("k99")).toBe(11_999);
    again.close();
  });

  it("rewrites, on open, a log that is mostly gone (tombstones past their time)", () => {
    let now = 1_800_000_000_000;
    const options = { replicaId: "a", tombstoneTtlMs: 1000, now: () => now };
    const a = new SharedState({ ...options, store: openFileStore(path, { syncIntervalMs: 1000 }) });
    for (let i = 0; i < 3000; i++) a.set(`k${i}`, i);
    for (let i = 10; i < 3000; i++) a.delete(`k${i}`);
    a.close();
    const before = statSync(path).size;
    now += 10_000;
    const again = new SharedState({ ...options, store: openFileStore(path) });
    expect(again.size).toBe(10);
    expect(again.tombstones).toBe(0);
    expect(statSync(path).size).toBeLessThan(before / 10);
    again.close();
    expect(reopen().size).toBe(10);
  });

  it("refuses to open a store that holds more keys or bytes than the replica's limits (STORE_FAILED), and opens it with the limits it was written with", () => {
    const a = reopen();
    for (let i = 0; i < 20; i++) a.set(`k${i}`, "x".repeat(100));
    a.close();
    const error = expectStateError(() => new SharedState({ replicaId: "a", maxKeys: 10, store: openFileStore(path) }), STATE_ERROR_CODES.STORE_FAILED);
    expect(error.message).toMatch(/20 keys \(maxKeys 10\)/);
    expectStateError(() => new SharedState({ replicaId: "a", maxTotalSize: 1_000, store: openFileStore(path) }), STATE_ERROR_CODES.STORE_FAILED);
    expect(reopen().size).toBe(20);
  });

  it("a write the store refuses changes nothing (STORE_FAILED)", () => {
    const a = reopen();
    a.set("x", 1);
    a.close();
    expectStateError(() => a.set("x", 2), STATE_ERROR_CODES.STORE_FAILED);
    expect(a.get("x")).toBe(1);
  });

  it("with group commit, writes are in the file at once and synced later", () => {
    const store = openFileStore(path, { syncIntervalMs: 50 });
    const a = new SharedState({ replicaId: "a", store });
    a.set("x", 1);
    // Written already (it would survive the process being killed), before any sync.
    expect(new SharedState({ store: openFileStore(path) }).get("x")).toBe(1);
    a.close();
  });

  it("checks its options", () => {
    expectStateError(() => openFileStore(""), STATE_ERROR_CODES.INVALID_ARGUMENT);
    expectStateError(() => openFileStore(path, { syncIntervalMs: -1 }), STATE_ERROR_CODES.INVALID_ARGUMENT);
    expectStateError(() => new SharedState({ store: {} as never }), STATE_ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe("the log's JSON records", () => {
  it("carry bytes, non-finite numbers and $-keys exactly", () => {
    const tricky = { $n: "NaN", "$$x": [1], plain: { $b: 1 } };
    const values = [new Uint8Array([0, 255]), Number.NaN, Number.POSITIVE_INFINITY, -Number.MAX_VALUE, tricky, { $b: "not bytes" }, ["\u{1F600}", null, false]];
    const a = reopen();
    values.forEach((v, i) => a.set(`v${i}`, v));
    a.close();
    const again = reopen();
    values.forEach((v, i) => expect(again.get(`v${i}`)).toEqual(v));
    
    expect(Object.keys(again.get("v4") as object)).toEqual(["$n", "$$x", "plain"]);
  });
});
