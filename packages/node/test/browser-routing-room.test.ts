// The page's routing room (the `#routing-room` import under the browser
// condition): Node's room loaded on first use. What comes before the code is
// there is kept in order and handed over; a packet that breaks the protocol
// still drops its neighbour with the typed reason; sends wait and go through.
// (Routed unicast itself, through this room in a real page: real-browser.integration.test.ts.)
import { generateIdentity } from "@xppg/secure";
import { EnvelopeCodec } from "@xppg/framing";
import { describe, expect, it } from "vitest";
import { RoutingRoom } from "../src/browser/routing-room.js";
import { RouteTable } from "../src/mesh/route-table.js";
import { buildPacket, PACKET, packetHeader } from "../src/route-wire.js";
import type { PeerSession } from "../src/peer-session.js";
import type { PeerTable } from "../src/peer-table.js";
import type { PlaygroundStats } from "../src/playground-types.js";
import type { RoutingRoomOptions } from "../src/routing-room.js";

/** A neighbour with route/1 as the room sees it: its id, and what it is closed with. */
function neighbour(peerId: string): PeerSession & { closedWith: unknown[] } {
  const closedWith: unknown[] = [];
  return { peerId, closedWith, close: (error: unknown) => void closedWith.push(error) } as unknown as PeerSession & { closedWith: unknown[] };
}

function room(stats = { droppedUnicasts: 0 } as PlaygroundStats): RoutingRoom {
  const identity = generateIdentity();
  const options: RoutingRoomOptions = {
    identity,
    table: { open: new Map(), supports: () => true } as unknown as PeerTable,
    stats,
    codec: new EnvelopeCodec(),
    routes: new RouteTable({ self: identity.peerId }),
    nextMessageId: () => 1,
    router: { deliverRouted: () => {} },
  };
  return new RoutingRoom(options);
}

describe("routed unicast in a browser page", () => {
  it("loads on the first packet, and a malformed one queued meanwhile drops its neighbour with XPPG_ERR_PROTOCOL_VIOLATION", async () => {
    const r = room();
    const bad = neighbour(generateIdentity().peerId);
    // Nothing is thrown while the code loads: the packet waits.
    expect(() => r.receive(bad, new Uint8Array(3))).not.toThrow();
    expect(bad.closedWith).toEqual([]);
    await expect.poll(() => bad.closedWith).toHaveLength(1);
    expect(bad.closedWith[0]).toMatchObject({ code: "XPPG_ERR_PROTOCOL_VIOLATION", message: expect.stringContaining("a routed packet shorter than its header") as unknown });
    // Loaded: the next one is refused at once, as in Node.
    expect(() => r.receive(bad, 42)).toThrow(expect.objectContaining({ code: "XPPG_ERR_PROTOCOL_VIOLATION" }));
    await r.close();
  });

  it("refuses a packet that is not bytes at once, as Node does, and keeps nothing of it", async () => {
    const stats = { droppedUnicasts: 0 } as PlaygroundStats;
    const r = room(stats);
    const bad = neighbour(generateIdentity().peerId);
    // A route payload decodes as any value: a string of 1 MiB would be held and counted as nothing.
    for (const payload of ["x".repeat(1 << 20), 42, { a: 1 }, null]) {
      expect(() => r.receive(bad, payload)).toThrow(expect.objectContaining({ code: "XPPG_ERR_PROTOCOL_VIOLATION", message: expect.stringContaining(`The peer ${bad.peerId} broke the xppg protocol: it sent a routed packet that is not bytes`) as unknown }));
    }
    // Not queued: nothing loads, nothing is handed over, nothing counted as dropped.
    await expect(r.send(generateIdentity().peerId, "note", 1)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    expect(bad.closedWith).toEqual([]);
    expect(stats.droppedUnicasts).toBe(0);
    await r.close();
  });

  it("keeps at most 8 MiB while the code loads, counting what it holds: 9 packets of 1 MiB drop one, views or not", async () => {
    const MiB = 1 << 20;
    // Views into one 4 MiB buffer: each is held as its own copy, so each counts its own length.
    const frame = new Uint8Array(4 * MiB);
    for (const packets of [Array.from({ length: 9 }, () => new Uint8Array(MiB)), Array.from({ length: 9 }, (_, i) => frame.subarray((i % 4) * MiB, (i % 4 + 1) * MiB))]) {
      const stats = { droppedUnicasts: 0 } as PlaygroundStats;
      const r = room(stats);
      const bad = neighbour(generateIdentity().peerId);
      for (const packet of packets) r.receive(bad, packet);
      expect(stats.droppedUnicasts).toBe(1);
      // Each one kept drops (here: records) its neighbour once handed over.
      await expect.poll(() => bad.closedWith.length).toBe(8);
      await r.close();
    }
  });

  it("holds a copy of a packet, not a view into its frame: the frame may be reused before the code is there", async () => {
    const stats = { droppedUnicasts: 0 } as PlaygroundStats;
    const r = room(stats);
    const from = neighbour(generateIdentity().peerId);
    // A reset for a node this one has no route to: handed over, it is dropped and counted, its neighbour kept.
    const packet = buildPacket(packetHeader(from.peerId!, generateIdentity().peerId, 7, false), PACKET.RESET, new Uint8Array(0));
    const frame = new Uint8Array(packet.length + 64);
    frame.set(packet, 16);
    r.receive(from, frame.subarray(16, 16 + packet.length));
    // The transport reads the next frame into the same buffer.
    frame.fill(0);
    await expect.poll(() => stats.droppedUnicasts).toBe(1);
    expect(from.closedWith).toEqual([]);
    await r.close();
  });

  it("sends wait for the code and get Node's answers; no route is XPPG_ERR_UNREACHABLE, a stopped node XPPG_ERR_STOPPED", async () => {
    const r = room();
    const far = generateIdentity().peerId;
    expect(r.reachable(far)).toBe(false);
    expect(r.channelCount).toBe(0);
    const sends = [r.send(far, "note", 1), r.send("not a peer id", "note", 2)];
    await expect(sends[0]).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE", message: expect.stringContaining("no neighbour has a route to it") as unknown });
    await expect(sends[1]).rejects.toMatchObject({ code: "XPPG_ERR_UNKNOWN_PEER" });
    // Loaded now: straight to Node's room.
    await expect(r.send(far, "note", 3)).rejects.toMatchObject({ code: "XPPG_ERR_UNREACHABLE" });
    await r.close();
    await expect(r.send(far, "note", 4)).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
  });

  it("keeps at most 1024 packets while the code loads: the rest are dropped and counted", async () => {
    const stats = { droppedUnicasts: 0 } as PlaygroundStats;
    const r = room(stats);
    const bad = neighbour(generateIdentity().peerId);
    // Packets too short to read: each one handed over drops (here: records) its neighbour.
    for (let i = 0; i < 1030; i++) r.receive(bad, new Uint8Array(1));
    expect(stats.droppedUnicasts).toBe(6);
    await expect.poll(() => bad.closedWith.length).toBe(1024);
    await r.close();
  });

  it("a packet that comes after stop loads nothing and is handed to no room", async () => {
    const r = room();
    const bad = neighbour(generateIdentity().peerId);
    await r.close();
    r.receive(bad, "not bytes");
    // A send waits for the load (if any) and for the packets held to be handed over: then nothing was.
    await expect(r.send(generateIdentity().peerId, "note", 1)).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
    expect(bad.closedWith).toEqual([]);
  });

  it("a node stopped while the code loads ends up with a closed room", async () => {
    const r = room();
    const far = generateIdentity().peerId;
    const send = r.send(far, "note", 1);
    await r.close();
    await expect(send).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
  });
});
