// pg.send keeps the last kind it checked to skip the checks for a stream of one
// kind. Its own file, so the module is fresh: the first send of the process
// here has no kind, and must be checked like any other.
import { describe, expect, it } from "vitest";
import { collect, node, roundTrip, stopNodesAfterEach } from "./helpers.js";

stopNodesAfterEach();

const badKind = expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("a message kind must be a string") as unknown });

describe("pg.send's first call in a process", () => {
  it("rejects a missing kind, with no peers and to a neighbour", async () => {
    const a = await node();
    const b = await node();
    // The very first send of this module: nothing was ever checked before it.
    await expect(a.send(undefined as never, 1)).rejects.toEqual(badKind);
    await expect((a.send as () => Promise<void>)()).rejects.toEqual(badKind);
    await a.join(b.addresses[0]!);
    const atB = collect(b, "note");
    await expect(a.send(undefined as never, 1, { to: b.peerId })).rejects.toEqual(badKind);
    await expect(a.send(undefined as never, 1)).rejects.toEqual(badKind);
    // Nothing went out, and the link is as it was: a good message still arrives.
    await a.send("note", 2, { to: b.peerId });
    await roundTrip(a, b);
    expect(atB.map((m) => m.payload)).toEqual([2]);
    expect(b.peers.map((p) => p.peerId)).toEqual([a.peerId]);
  });
});
