import { describe, expect, it } from "vitest";
import { isXppgError, type XppgError } from "@xppg/errors";
import { generateIdentity } from "@xppg/secure";
import { SharedState, STATE_ERROR_CODES } from "@xppg/state";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

/** A node on real loopback TCP, with the errors it reports. */
async function tcpNode(options: PlaygroundOptions = {}): Promise<Playground & { errors: [XppgError, string | undefined][] }> {
  const pg = track(new Playground("own-test", { host: "127.0.0.1", port: 0, ...options }));
  const errors: [XppgError, string | undefined][] = [];
  pg.events.on("error", (error, peerId) => void errors.push([error, peerId]));
  await pg.start();
  return Object.assign(pg, { errors });
}

/** A node whose replica checks nothing (an old or hostile peer): it takes forged writes and passes them on. */
async function naiveNode(): Promise<Playground & { errors: [XppgError, string | undefined][] }> {
  const identity = generateIdentity();
  return tcpNode({ identity, state: new SharedState({ replicaId: identity.peerId }) });
}

const refused = (pg: { errors: [XppgError, string | undefined][] }, from: string): boolean =>
  pg.errors.some(([error, peerId]) => isXppgError(error, STATE_ERROR_CODES.WRITE_NOT_ALLOWED) && peerId === from);

describe("Playground: per-key ownership of the state", () => {
  it("a forged write to another node's key is refused directly and through an intermediate peer, and the sender is dropped with a strike", async () => {
    const a = await tcpNode();
    const c = await tcpNode();
    const b = await naiveNode(); // the intermediate: it does not check, so it forwards the forgery
    const m = await naiveNode(); // the forger
    await b.join(a.addresses[0]!);
    await c.join(b.addresses[0]!);
    a.state.set(`@${a.peerId}/name`, "Alice");
    a.state.set("lobby", "open");
    await until(() => c.state.get(`@${a.peerId}/name`) === "Alice" && c.state.get("lobby") === "open", 5000, "a's keys reach c through b");

    // m writes a's key in its own replica (nothing stops it there), then meets a directly and c through b.
    const key = `@${a.peerId}/name`;
    m.state.apply({ format: 3, seq: 1, entries: [[key, a.state.versionOf(key) + 1024, a.peerId, "forged"]] }, "m");
    await m.join(a.addresses[0]!).catch(() => {});
    await m.join(b.addresses[0]!);

    await until(() => refused(a, m.peerId), 5000, "a refuses m's forgery");
    await until(() => refused(c, b.peerId), 5000, "c refuses the forgery forwarded by b");
    expect(b.state.get(key)).toBe("forged"); // the naive peer took it...
    expect(a.state.get(key)).toBe("Alice"); // ...no checking replica did
    expect(c.state.get(key)).toBe("Alice");
    expect(a.stats.droppedPeers).toBeGreaterThanOrEqual(1);
    expect(c.stats.droppedPeers).toBeGreaterThanOrEqual(1);
    expect(a.peers.some((p) => p.peerId === m.peerId)).toBe(false);
    // Shared keys stay writable by all, and a's own writes still reach everyone it is connected to.
    a.state.set(key, "Alice II");
    await until(() => a.state.get(key) === "Alice II", 5000, "a writes its key again");
  });

  it("stateCanWrite refuses what the application forbids, locally and from peers", async () => {
    const canWrite = (_writer: string, key: string): boolean => !key.startsWith("admin/");
    const a = await tcpNode({ stateCanWrite: canWrite });
    const m = await naiveNode();
    expect(() => a.state.set("admin/mode", 1)).toThrow(expect.objectContaining({ code: STATE_ERROR_CODES.WRITE_NOT_ALLOWED }));
    m.state.set("admin/mode", 2);
    await m.join(a.addresses[0]!);
    await until(() => refused(a, m.peerId), 5000, "a refuses m's write");
    expect(a.state.has("admin/mode")).toBe(false);
  });
});
