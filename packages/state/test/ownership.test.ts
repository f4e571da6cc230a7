import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyOwner, SharedState, signingBytes, STATE_ERROR_CODES, timeOfVersion, type StateUpdate, type UpdateEntry } from "../src/index.js";
import { openFileStore } from "../src/store/index.js";
import { expectStateError } from "./helpers/expect-state-error.js";

const C = STATE_ERROR_CODES;
const pairs = new Map(["alice", "bob", "carol", "mallory"].map((id) => [id, generateKeyPairSync("ed25519")]));
const verify = (writer: string, data: Uint8Array, sig: Uint8Array): boolean => {
  const pair = pairs.get(writer);
  return pair !== undefined && cryptoVerify(null, data, pair.publicKey, sig);
};
const signAs = (id: string) => (data: Uint8Array) => new Uint8Array(cryptoSign(null, data, pairs.get(id)!.privateKey));
const replica = (id: string, more: object = {}): SharedState => new SharedState({ replicaId: id, sign: signAs(id), verify, ...more });
const update = (...entries: UpdateEntry[]): StateUpdate => ({ format: 3, seq: 1, entries });
const copy = <T>(value: T): T => structuredClone(value);

describe("per-key ownership", () => {
  it("names the owner of @<id>/ keys only", () => {
    expect(keyOwner("@alice/score")).toBe("alice");
    expect(keyOwner("@alice/")).toBe("alice");
    expect(keyOwner("@/x")).toBeUndefined();
    expect(keyOwner("alice/score")).toBeUndefined();
    expect(keyOwner("@alice")).toBeUndefined();
  });

  it("a peer's own keys travel signed, directly and forwarded, and shared keys stay writable by all", () => {
    const [alice, bob, carol] = [replica("alice"), replica("bob"), replica("carol")];
    alice.set("@alice/name", "Alice").set("lobby", "open");
    bob.apply(copy(alice.snapshot()), "alice");
    carol.apply(copy(bob.snapshot()), "bob"); // forwarded: the signature is alice's, not bob's
    expect(carol.toJSON()).toEqual({ "@alice/name": "Alice", lobby: "open" });
    carol.set("lobby", "closed");
    alice.apply(copy(carol.delta(0)), "carol");
    expect(alice.get("lobby")).toBe("closed");
  });

  it("checks each signed write once: the same update sent again, or forwarded back, costs no signature check; a changed value under a held signature is still refused", () => {
    let checks = 0;
    const counting = (writer: string, data: Uint8Array, sig: Uint8Array): boolean => (checks++, verify(writer, data, sig));
    const alice = replica("alice");
    const bob = replica("bob", { verify: counting });
    for (let i = 0; i < 200; i++) alice.set(`@alice/k${i}`, i);
    const snapshot = alice.snapshot();
    bob.apply(copy(snapshot), "alice");
    expect(checks).toBe(200);
    for (let round = 0; round < 20; round++) bob.apply(copy(snapshot), "mallory"); // replayed by anyone
    expect(checks).toBe(200);
    // An older write of a key loses anyway: no check either.
    const older = copy(snapshot.entries[0]!);
    alice.set("@alice/k0", "newer");
    bob.apply(copy(alice.delta(snapshot.seq)), "alice");
    expect(checks).toBe(201);
    bob.apply(update(older), "mallory");
    expect(checks).toBe(201);
    expect(bob.get("@alice/k0")).toBe("newer");
    // The held signature with another value is not the held write: checked, and refused.
    const held = alice.delta(snapshot.seq).entries.find((e) => e[0] === "@alice/k0")!;
    expectStateError(() => bob.apply(update([held[0], held[1], held[2], "evil"] as UpdateEntry), "mallory"), C.WRITE_NOT_ALLOWED);
    expect(checks).toBe(202);
    expect(bob.get("@alice/k0")).toBe("newer");
  });

  it("checks a row older than a deleted key's tombstone: the tombstone may be forgotten while the update is applied", () => {
    const t0 = 1_900_000_000_000;
    let reading: () => number = () => t0;
    const clock = { now: () => reading() };
    const alice = replica("alice", clock);
    alice.set("@alice/k", "v1");
    alice.delete("@alice/k");
    const bob = replica("bob", clock);
    bob.apply(copy(alice.snapshot()), "alice");
    const v = bob.versionOf("@alice/k");
    const expiry = timeOfVersion(v) + bob.options.tombstoneTtlMs;
    // The first reading of the clock in this apply is just before the tombstone's expiry, every later one just after.
    let readings = 0;
    reading = () => (readings++ === 0 ? expiry - 1 : expiry + 1);
    const forged: UpdateEntry = ["@alice/k", v - 1, ["alice", new Uint8Array(64)], "EVIL"];
    expectStateError(() => bob.apply(update(forged), "mallory"), C.WRITE_NOT_ALLOWED);
    expect(bob.get("@alice/k")).toBeUndefined();
  });

  it("refuses, everywhere, a forged write to another's key: unsigned, signed by the wrong key, altered, or under another name", () => {
    const [alice, bob, carol] = [replica("alice"), replica("bob"), replica("carol")];
    alice.set("@alice/name", "Alice");
    bob.apply(copy(alice.snapshot()), "alice");
    const v = alice.versionOf("@alice/name") + 1;
    const good = signAs("alice")(signingBytes("@alice/name", v, "alice", "Alice II"));
    const forgeries: UpdateEntry[] = [
      ["@alice/name", v, "alice", "evil"], // unsigned
      ["@alice/name", v, ["alice", signAs("mallory")(signingBytes("@alice/name", v, "alice", "evil"))], "evil"], // wrong key
      ["@alice/name", v, ["alice", good], "evil"], // a real signature over another value
      ["@alice/name", v + 1, ["alice", good], "Alice II"], // ... or another version
      ["@alice/name", v, ["mallory", signAs("mallory")(signingBytes("@alice/name", v, "mallory", "evil"))], "evil"], // mallory's own name
      ["@alice/name", v, "mallory"], // a delete
    ];
    for (const entry of forgeries) {
      for (const target of [bob, carol]) {
        expectStateError(() => target.apply(copy(update(entry)), "mallory"), C.WRITE_NOT_ALLOWED);
      }
    }
    expect(bob.get("@alice/name")).toBe("Alice");
    expect(carol.has("@alice/name")).toBe(false);
    // The whole update is refused, its honest rows too.
    expectStateError(() => bob.apply(copy(update(["shared", 1, "mallory", 1], forgeries[0]!)), "mallory"), C.WRITE_NOT_ALLOWED);
    expect(bob.has("shared")).toBe(false);
    // The real one is taken.
    bob.apply(copy(update(["@alice/name", v, ["alice", good], "Alice II"])), "carol");
    expect(bob.get("@alice/name")).toBe("Alice II");
  });

  it("a replica cannot write or delete another's keys locally, nor its own without sign", () => {
    const bob = replica("bob");
    expectStateError(() => bob.set("@alice/name", "x"), C.WRITE_NOT_ALLOWED);
    const unsigned = new SharedState({ replicaId: "dave", verify });
    expectStateError(() => unsigned.set("@dave/x", 1), C.WRITE_NOT_ALLOWED);
    expect(bob.size + unsigned.size).toBe(0);
  });

  it("canWrite decides for local and received writes", () => {
    const canWrite = (writer: string, key: string): boolean => !key.startsWith("config/") || writer === "alice";
    const [alice, bob] = [replica("alice", { canWrite }), replica("bob", { canWrite })];
    alice.set("config/mode", "fast");
    bob.apply(copy(alice.snapshot()), "alice");
    expect(bob.get("config/mode")).toBe("fast");
    expectStateError(() => bob.set("config/mode", "slow"), C.WRITE_NOT_ALLOWED);
    expectStateError(() => alice.apply(copy(update(["config/mode", alice.versionOf("config/mode") + 1, "bob", "slow"])), "bob"), C.WRITE_NOT_ALLOWED);
    const throwing = new SharedState({ canWrite: () => { throw new Error("boom"); } });
    expectStateError(() => throwing.set("k", 1), C.WRITE_NOT_ALLOWED);
  });

  it("signed rows survive a restart and still verify when forwarded", () => {
    const dir = mkdtempSync(join(tmpdir(), "xppg-own-"));
    try {
      const path = join(dir, "alice.log");
      const alice = replica("alice", { store: openFileStore(path) });
      alice.set("@alice/name", "Alice");
      alice.close();
      const again = replica("alice", { store: openFileStore(path) });
      const bob = replica("bob");
      bob.apply(copy(again.snapshot()), "alice");
      expect(bob.get("@alice/name")).toBe("Alice");
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a malformed signed writer as an invalid update", () => {
    const bob = replica("bob");
    for (const writer of [["alice"], ["alice", "sig"], ["alice", new Uint8Array(0)], ["alice", new Uint8Array(129)], [1, new Uint8Array(64)]]) {
      expectStateError(() => bob.apply({ format: 3, seq: 1, entries: [["@alice/x", 1, writer, 1]] }, "m"), C.INVALID_UPDATE);
    }
  });
});
