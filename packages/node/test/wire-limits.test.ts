// Each count and length limit on what a peer sends, at its edge: a message at
// the limit is taken (the peer stays), one past it drops the peer with
// XPPG_ERR_PROTOCOL_VIOLATION.
import { describe, expect, it } from "vitest";
import { generateIdentity } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";
import type { XppgError } from "@xppg/errors";
import { Playground } from "../src/index.js";
import { NODE_CAPABILITIES, PROTOCOL_VERSION, parseBye, parseHello } from "../src/protocol.js";
import { MAX_RECORD_ADDRESSES, parseWireRecord, signRecord, toWire } from "../src/peer-record.js";
import { MAX_PEX_RECORDS } from "../src/peer-exchange.js";
import { buildPacket, PACKET, packetHeader, parsePacket } from "../src/route-wire.js";
import { NOISE_MAX_MESSAGE_SIZE } from "@xppg/secure";
import { decodeRelayMessage, MAX_CONTROL_BYTES } from "../src/relay-wire.js";
import { RawPeer, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

const x = (n: number): string => "x".repeat(n);

describe("limits of the pure readers, at their edge", () => {
  const hello = { app: "a", protocol: PROTOCOL_VERSION, peerId: "p", listen: [] as string[], agent: "" };
  it.each([
    ["app name", { app: x(128) }, { app: x(129) }],
    ["peer id", { peerId: x(256) }, { peerId: x(257) }],
    ["listen addresses", { listen: Array.from({ length: 16 }, () => "a") }, { listen: Array.from({ length: 17 }, () => "a") }],
    ["listen address length", { listen: [x(256)] }, { listen: [x(257)] }],
    ["agent", { agent: x(128) }, { agent: x(129) }],
    ["capabilities", { versions: [3, 3], caps: Array.from({ length: 64 }, (_, i) => `c${i}/1`) }, { versions: [3, 3], caps: Array.from({ length: 65 }, (_, i) => `c${i}/1`) }],
  ])("the hello's %s", (_what, at, past) => {
    expect(typeof parseHello({ ...hello, ...at })).toBe("object");
    expect(typeof parseHello({ ...hello, ...past })).toBe("string");
  });

  it("a bye's code is at most 64 characters; its reason is cut at 500", () => {
    expect(parseBye({ code: x(64), reason: x(600) })).toEqual({ code: x(64), reason: x(500) });
    expect(parseBye({ code: x(65), reason: "" })).toBeNull();
  });

  it("a routed packet's peer ids are 1 to 128 bytes", () => {
    const packet = (origin: number): Uint8Array => {
      const p = packetHeader(x(128), "d", 1, false);
      if (origin === 128) return p;
      const bytes = Uint8Array.from(p);
      bytes[6] = origin;
      return bytes;
    };
    expect(typeof parsePacket(packet(128))).toBe("object");
    expect(parsePacket(packet(129))).toBe("a routed packet with a malformed peer id");
    expect(parsePacket(packet(0))).toBe("a routed packet with a malformed peer id");
  });

  it(`a routed packet's body is at most one Noise message (${NOISE_MAX_MESSAGE_SIZE} bytes)`, () => {
    const header = packetHeader("o", "d", 1, false);
    expect(parsePacket(buildPacket(header, PACKET.DATA, new Uint8Array(NOISE_MAX_MESSAGE_SIZE)))).toMatchObject({ body: { length: NOISE_MAX_MESSAGE_SIZE } });
    expect(parsePacket(buildPacket(header, PACKET.DATA, new Uint8Array(NOISE_MAX_MESSAGE_SIZE + 1)))).toBe(`a routed packet with a body over ${NOISE_MAX_MESSAGE_SIZE} bytes (one Noise message)`);
  });

  it(`a peer record carries at most ${MAX_RECORD_ADDRESSES} addresses of at most 256 characters`, () => {
    const record = toWire(signRecord(generateIdentity(), [], 1), true);
    const withAddresses = (addresses: string[]): unknown => [record[0], addresses, record[2], record[3], record[4]];
    expect(parseWireRecord(withAddresses(Array.from({ length: MAX_RECORD_ADDRESSES }, () => x(256))))).not.toBeNull();
    expect(parseWireRecord(withAddresses(Array.from({ length: MAX_RECORD_ADDRESSES + 1 }, () => "a")))).toBeNull();
    expect(parseWireRecord(withAddresses([x(257)]))).toBeNull();
  });

  it(`a relay control message is at most ${MAX_CONTROL_BYTES} bytes`, () => {
    const refused = (bytes: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ t: "refused", reason: x(bytes - 27) }));
    expect(refused(MAX_CONTROL_BYTES).length).toBe(MAX_CONTROL_BYTES);
    expect(decodeRelayMessage(refused(MAX_CONTROL_BYTES))).toMatchObject({ t: "refused" });
    expect(decodeRelayMessage(refused(MAX_CONTROL_BYTES + 1))).toBeUndefined();
  });
});

describe("limits of the control messages, at their edge, on a real node", () => {
  const origin = generateIdentity().peerId;
  const record = toWire(signRecord(generateIdentity(), ["tcp://127.0.0.1:1"], Date.now()), false);
  const rows: [string, string, unknown, unknown][] = [
    ["256 mesh announcements", "xppg/mesh-ihave", Array.from({ length: 256 }, (_, i) => [origin, i + 1, 1]), Array.from({ length: 257 }, (_, i) => [origin, i + 1, 1])],
    ["a graft's origin of 256 characters", "xppg/mesh-graft", { o: x(256), i: 1 }, { o: x(257), i: 1 }],
    [`${MAX_PEX_RECORDS} peer records`, "xppg/pex", Array.from({ length: MAX_PEX_RECORDS }, () => record), Array.from({ length: MAX_PEX_RECORDS + 1 }, () => record)],
    ["a request kind of 255 characters", "xppg/request", { r: 1, k: x(255), p: null }, { r: 1, k: x(256), p: null }],
    ["a response message of 1024 characters", "xppg/response", { r: 1, p: null, m: x(1024) }, { r: 1, p: null, m: x(1025) }],
    ["a state epoch of 64 characters", "xppg/state-hello", { epoch: x(64) }, { epoch: x(65) }],
    ["a state request id of 2^31", "xppg/state-request", { rid: 2 ** 31 }, { rid: 2 ** 31 + 1 }],
  ];

  it.each(rows)("%s: taken at the limit, the peer dropped past it", async (_what, kind, at, past) => {
    const target = track(new Playground("test-app", { listen: ["tcp://127.0.0.1:0"], limits: { banThreshold: Number.MAX_SAFE_INTEGER } }));
    await target.start();
    const errors: XppgError[] = [];
    target.events.on("error", (e) => void errors.push(e));
    const open = async (): Promise<RawPeer> => {
      const raw = await RawPeer.dial(tcpTransport(), target.addresses[0]!);
      await raw.send("xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [...NODE_CAPABILITIES], peerId: raw.peerId, listen: [], agent: "limits", time: Date.now() });
      await raw.send("xppg/welcome", null);
      await until(() => target.peers.some((p) => p.peerId === raw.peerId), 5000, "the raw peer joined");
      return raw;
    };
    const fine = await open();
    await fine.send(kind, at);
    await fine.send("xppg/ping", null);
    await until(() => fine.received.some((m) => m.kind === "xppg/pong"), 5000, "a pong after the message at the limit");
    expect(fine.conn.isClosed).toBe(false);
    expect(errors).toEqual([]);
    const bad = await open();
    await bad.send(kind, past);
    await bad.conn.closed;
    await until(() => errors.length > 0, 5000, "the violation reported");
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_PROTOCOL_VIOLATION"]);
    expect(fine.conn.isClosed).toBe(false);
  });
});
