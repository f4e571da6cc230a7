// `topic` on a private DHT of 20 nodes on 127.0.0.1: each chat is given the
// DHT's bootstrap list, and the loopback guard makes anything else throw.
import "../../../tools/test/loopback-only.js";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";
import { QuickChat, type ChatDhtOptions } from "../src/index.js";
import { loopbackChat, made } from "./helpers.js";

let net: PrivateDht;
beforeAll(async () => {
  net = await privateDht(20);
});
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.stop()));
});
afterAll(() => net.close());

const dht = (): ChatDhtOptions => ({
  bootstrap: net.bootstrap,
  host: "127.0.0.1",
  firstLookupDelaysMs: [],
  lookupIntervalMs: 300,
  queryTimeoutMs: 500,
  maxPacketsPerSecondPerHost: 100_000,
  maxPacketsPerSecond: 100_000,
});

describe("QuickChat topic", () => {
  it("two chats with the same room and topic find each other with no address, and chat", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xppg-chat-topic-"));
    const alice = loopbackChat("topic-room", { name: "alice", keyFile: join(dir, "alice.key"), topic: { topic: "our band", dht: dht() } });
    const bob = loopbackChat("topic-room", { name: "bob", topic: { topic: "our band", dht: dht() } });
    const heard = new Promise<string>((resolve) => bob.onMessage((user, text) => resolve(`${user}: ${text}`)));
    await Promise.all([alice.start(), bob.start()]);
    expect(alice.topic).toBe("our band");
    await expect.poll(() => alice.peers.map((p) => p.peerId), { timeout: 15_000 }).toEqual([bob.peerId]);
    await alice.send("hello across the DHT");
    expect(await heard).toBe("alice: hello across the DHT");
    const how = [alice.foundBy(bob.peerId), bob.foundBy(alice.peerId)];
    expect(how).toContain("topic");
    // The DHT nodes alice knew are kept beside her key file when she stops.
    await alice.stop();
    const nodesFile = join(dir, "alice.key.dht-nodes.json");
    expect(existsSync(nodesFile)).toBe(true);
    expect((JSON.parse(readFileSync(nodesFile, "utf8")) as { nodes: string[] }).nodes.length).toBeGreaterThan(0);
  }, 30_000);

  it("a chat of another topic is not joined", async () => {
    const a = loopbackChat("topic-room", { topic: { topic: "one", dht: dht() } });
    const b = loopbackChat("topic-room", { topic: { topic: "two", dht: dht() } });
    await Promise.all([a.start(), b.start()]);
    await expect.poll(() => a.playground.topics.stats?.topics.one?.lookups ?? 0, { timeout: 10_000 }).toBeGreaterThan(5);
    expect(a.peers).toEqual([]);
    expect(b.peers).toEqual([]);
  });

  it("refuses an empty topic with XPPG_ERR_INVALID_ARGUMENT", () => {
    expect(() => new QuickChat("r", { topic: " " })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });
});
