// A signer whose signature comes later (WebCrypto's, in a page): a write to
// an own key is made once signed, in the order of the writes, and travels
// signed like any other.
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { SharedState, type StateChange } from "../src/index.js";

const pair = generateKeyPairSync("ed25519");
const verify = (writer: string, data: Uint8Array, sig: Uint8Array): boolean => writer === "alice" && cryptoVerify(null, data, pair.publicKey, sig);
const signNow = (data: Uint8Array): Uint8Array => new Uint8Array(cryptoSign(null, data, pair.privateKey));

describe("a signer whose signature comes later", () => {
  it("makes an own key's write once signed, in order, and the other replica takes it as signed by its owner", async () => {
    const waiting: (() => void)[] = [];
    // Each signature comes when the test lets it: the first one last, to show the writes keep their order.
    const later = (data: Uint8Array): Promise<Uint8Array> => new Promise((resolve) => waiting.push(() => resolve(signNow(data))));
    const alice = new SharedState({ replicaId: "alice", sign: later, verify });
    const changes: StateChange[] = [];
    alice.on("change", (c) => void changes.push(...c));
    alice.set("@alice/name", "A").set("@alice/name", "B").set("shared", 1);
    // A shared key needs no signature: made at once; the own key's two writes wait.
    expect(alice.get("shared")).toBe(1);
    expect(alice.get("@alice/name")).toBeUndefined();
    expect(waiting).toHaveLength(2);
    waiting[1]!();
    waiting[0]!();
    await vi.waitFor(() => expect(alice.get("@alice/name")).toBe("B"));
    expect(changes.filter((c) => c.key === "@alice/name").map((c) => c.value)).toEqual(["A", "B"]);
    const bob = new SharedState({ replicaId: "bob", verify });
    bob.apply(structuredClone(alice.snapshot()), "alice");
    expect(bob.toJSON()).toEqual({ "@alice/name": "B", shared: 1 });
  });

  it("a signer that fails leaves the state as it was and reports the error as uncaught", async () => {
    const uncaught = vi.fn();
    const onError = (error: unknown): void => uncaught(error);
    process.on("uncaughtException", onError);
    try {
      let fail = true;
      const alice = new SharedState({ replicaId: "alice", sign: async (data) => (fail ? Promise.reject(new Error("no key")) : signNow(data)), verify });
      alice.set("@alice/name", "A");
      await vi.waitFor(() => expect(uncaught).toHaveBeenCalledWith(expect.objectContaining({ message: "no key" })));
      expect(alice.get("@alice/name")).toBeUndefined();
      // The next write is not held back by the failed one.
      fail = false;
      alice.set("@alice/name", "B");
      await vi.waitFor(() => expect(alice.get("@alice/name")).toBe("B"));
    } finally {
      process.off("uncaughtException", onError);
    }
  });

  it("a signature that fails while an earlier one waits is no unhandled rejection", async () => {
    const unhandled = vi.fn();
    const uncaught = vi.fn();
    const onUnhandled = (reason: unknown): void => unhandled(reason);
    const onUncaught = (error: unknown): void => uncaught(error);
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUncaught);
    try {
      const waiting: (() => void)[] = [];
      let n = 0;
      const sign = (data: Uint8Array): Promise<Uint8Array> =>
        n++ === 0 ? new Promise((resolve) => waiting.push(() => resolve(signNow(data)))) : Promise.reject(new Error("no key"));
      const alice = new SharedState({ replicaId: "alice", sign, verify });
      alice.set("@alice/a", 1).set("@alice/b", 2);
      // A turn of the event loop: Node tells of a rejection left unhandled at its end.
      await new Promise((resolve) => setImmediate(resolve));
      waiting[0]!();
      await vi.waitFor(() => expect(uncaught).toHaveBeenCalledWith(expect.objectContaining({ message: "no key" })));
      expect(unhandled).not.toHaveBeenCalled();
      expect(alice.toJSON()).toEqual({ "@alice/a": 1 });
    } finally {
      process.off("unhandledRejection", onUnhandled);
      process.off("uncaughtException", onUncaught);
    }
  });

  it("does not make a write once the replica holds a newer version of the key (another replica of the same owner)", async () => {
    const waiting: (() => void)[] = [];
    const alice = new SharedState({ replicaId: "alice", sign: (data) => new Promise((resolve) => waiting.push(() => resolve(signNow(data)))), verify });
    alice.set("@alice/name", "A");
    // The same owner elsewhere, its clock ahead: its write is newer.
    const tab = new SharedState({ replicaId: "alice", sign: signNow, verify, now: () => Date.now() + 60_000 });
    tab.set("@alice/name", "Z");
    alice.apply(structuredClone(tab.snapshot()), "alice");
    expect(alice.get("@alice/name")).toBe("Z");
    const version = alice.versionOf("@alice/name");
    const changes: StateChange[] = [];
    alice.on("change", (c) => void changes.push(...c));
    waiting[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(alice.get("@alice/name")).toBe("Z");
    expect(alice.versionOf("@alice/name")).toBe(version);
    expect(changes).toEqual([]);
  });

  it("makes no waiting write after close()", async () => {
    const waiting: (() => void)[] = [];
    const alice = new SharedState({ replicaId: "alice", sign: (data) => new Promise((resolve) => waiting.push(() => resolve(signNow(data)))), verify });
    const changes: StateChange[] = [];
    alice.on("change", (c) => void changes.push(...c));
    alice.set("@alice/name", "A");
    alice.close();
    waiting[0]!();
    // Every promise settled by then: the signature's, and the chain's after it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(alice.get("@alice/name")).toBeUndefined();
    expect(changes).toEqual([]);
  });
});
