import { describe, expect, it } from "vitest";
import { ENVELOPE_VERSION, EnvelopeCodec } from "@xppg/framing";
import { generateIdentity, secureConnection } from "@xppg/secure";
import { memoryTransport } from "@xppg/transport";
import type { XppgError } from "@xppg/errors";
import { Playground, PROTOCOL_VERSION, type PlaygroundOptions } from "../src/index.js";
import { node, RawPeer, stopNodesAfterEach, until } from "./helpers.js";

stopNodesAfterEach();

/** A node, the errors it reports, and a raw peer that has done the secure handshake with it. */
async function target(options: PlaygroundOptions = {}) {
  const pg = await node("test-app", options);
  const errors: XppgError[] = [];
  pg.events.on("error", (e) => {
    errors.push(e);
  });
  const raw = await RawPeer.dial(memoryTransport(), pg.addresses[0]!);
  return { pg, errors, raw };
}

function hello(raw: RawPeer, fields: Record<string, unknown>): Promise<void> {
  return raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, peerId: raw.peerId, listen: [], agent: "raw", ...fields });
}

function byeOf(raw: RawPeer): { code: string; reason: string } | undefined {
  return raw.received.find((m) => m.kind === "xppg/bye")?.payload as { code: string; reason: string } | undefined;
}

/** A well-behaved node can still join afterwards: the bad handshake cost only its own connection. */
async function stillServes(pg: Playground): Promise<void> {
  const good = await node();
  await good.join(pg.addresses[0]!);
  await until(() => pg.peers.some((p) => p.peerId === good.peerId), 5000, "a good peer joins");
}

describe("negotiation in the handshake", () => {
  it("two nodes settle on the highest common version and the capabilities both have; pg.peers shows them on both sides", async () => {
    const a = await node("test-app", { capabilities: ["x-both/1", "x-only-a/1"] });
    const b = await node("test-app", { capabilities: ["x-only-b/2", "x-both/1"] });
    await b.join(a.addresses[0]!);
    await until(() => a.peers.length === 1, 5000, "a sees b");
    for (const [pg, other] of [
      [a, b],
      [b, a],
    ] as const) {
      expect(pg.peers).toEqual([expect.objectContaining({ peerId: other.peerId, protocol: PROTOCOL_VERSION, capabilities: ["dup/1", "files-push/1", "files/2", "lean/1", "mesh/1", "pex/1", "reach/1", "route/1", "x-both/1"] })]);
    }
  });

  it("a hello from before negotiation (one protocol number, no capabilities) is the range [v, v]: accepted, no capabilities shared", async () => {
    const { pg, raw } = await target({ capabilities: ["x-both/1"] });
    await raw.hello("test-app", PROTOCOL_VERSION);
    await until(() => pg.peers.length === 1, 5000, "old-style peer admitted");
    expect(pg.peers[0]).toMatchObject({ peerId: raw.peerId, protocol: PROTOCOL_VERSION, capabilities: [] });
  });

  it("unknown fields and unknown capabilities are ignored; duplicate capabilities collapse", async () => {
    const { pg, raw } = await target({ capabilities: ["x-both/1"] });
    await hello(raw, {
      versions: [PROTOCOL_VERSION, PROTOCOL_VERSION + 7],
      caps: ["x-both/1", "x-both/1", "x-both/1", "teleport/3", "Future Form!"],
      future: { anything: [1, 2, 3] },
    });
    await raw.send("xppg/welcome", null);
    await until(() => pg.peers.length === 1, 5000, "newer peer admitted");
    expect(pg.peers[0]).toMatchObject({ protocol: PROTOCOL_VERSION, capabilities: ["x-both/1"] });
  });

  it("a range that does not overlap is refused with a reason naming both ranges and who should upgrade, on both sides", async () => {
    const { pg, errors, raw } = await target();
    await hello(raw, { protocol: PROTOCOL_VERSION + 1, versions: [PROTOCOL_VERSION + 1, PROTOCOL_VERSION + 3] });
    await raw.conn.closed;
    const bye = byeOf(raw)!;
    expect(bye.code).toBe("XPPG_ERR_PROTOCOL_MISMATCH");
    const [first, second] = pg.peerId < raw.peerId ? [pg.peerId, raw.peerId] : [raw.peerId, pg.peerId];
    const ranges = { [pg.peerId]: `version ${PROTOCOL_VERSION}`, [raw.peerId]: `versions ${PROTOCOL_VERSION + 1} to ${PROTOCOL_VERSION + 3}` };
    expect(bye.reason).toBe(
      `protocol mismatch: ${first} speaks xppg protocol ${ranges[first]}, ${second} speaks ${ranges[second]}; no version in common. ${pg.peerId} runs the older release and should upgrade.`,
    );
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_MISMATCH");
    await stillServes(pg);
  });

  it.each([
    ["10,000 capabilities", { caps: Array.from({ length: 10_000 }, (_, i) => `c${i}/1`) }, /lists 10000 capabilities; at most 64/],
    ["a capability name of 100,000 characters", { caps: ["x".repeat(100_000)] }, /capability name of 100000 characters; at most 64/],
    ["the version range [0, 2^53]", { versions: [0, 2 ** 53] }, /version range \[0, 9007199254740992\] is not within \[1, 65535\]/],
    ["a range given highest first", { versions: [PROTOCOL_VERSION + 1, PROTOCOL_VERSION] }, /lowest first/],
    ["capabilities that are not names", { caps: [7, { n: 1 }] }, /not a name/],
  ])("a hello with %s is refused with a clear reason; the node carries on", async (_what, fields, reason) => {
    const { pg, errors, raw } = await target();
    await hello(raw, { versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], ...fields });
    await raw.conn.closed;
    const bye = byeOf(raw)!;
    expect(bye.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    expect(bye.reason).toMatch(reason);
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_PROTOCOL_VIOLATION");
    await stillServes(pg);
  });

  it("a capability name of 1 MB does not fit a frame: refused before it is read, the node carries on", async () => {
    const pg = await node();
    const errors: XppgError[] = [];
    pg.events.on("error", (e) => {
      errors.push(e);
    });
    // A sender that allows itself frames of 4 MiB; the node keeps its default limit of 1 MiB.
    const identity = generateIdentity();
    const big = 4 << 20;
    const conn = await secureConnection(await memoryTransport({ maxFrameSize: big }).dial(pg.addresses[0]!), { identity, maxFrameSize: big });
    const envelope = new EnvelopeCodec({ maxSize: big }).encode({
      version: ENVELOPE_VERSION,
      kind: "xppg/hello",
      source: identity.peerId,
      destination: null,
      id: 1,
      hopLimit: 0,
      payload: { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["x".repeat(1 << 20)], peerId: identity.peerId, listen: [], agent: "raw" },
    });
    await conn.send(RawPeer.bundle(envelope)).catch(() => {});
    await conn.closed;
    await until(() => errors.length > 0, 5000, "error event");
    expect(errors[0]!.code).toBe("XPPG_ERR_FRAME_TOO_LARGE");
    expect(pg.peers).toEqual([]);
    await stillServes(pg);
  });

  it("an application capability must be named x-<feature>/<N>, at most 16", () => {
    for (const capabilities of [["mesh/1"], ["x-Bad/1"], ["x-ok"], "x-a/1", Array.from({ length: 17 }, (_, i) => `x-f${i}/1`)]) {
      expect(() => new Playground("test-app", { capabilities: capabilities as string[], transports: [memoryTransport()] })).toThrow(
        expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }),
      );
    }
  });
});
