// Every parser of a peer's bytes or values in the node, fed arbitrary and
// mutated-valid input (fast-check): each returns a value within its limits or
// its refusal (undefined, null or a sentence), and never throws.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateIdentity, NOISE_MAX_MESSAGE_SIZE } from "@xppg/secure";
import { parseBye, parseHello, parseText } from "../src/protocol.js";
import { decodeClientMessage, decodeRelayMessage, encodeControl, MAX_CONTROL_BYTES } from "../src/relay-wire.js";
import { parseDial, parseDialbackResult, parseDialed, parseObserved, parsePort } from "../src/reach-wire.js";
import { buildPacket, PACKET, packetHeader, parsePacket } from "../src/route-wire.js";
import { MAX_ADDRESS_LENGTH, MAX_RECORD_ADDRESSES, parseWireRecord, signRecord, toWire } from "../src/peer-record.js";
import { decodePeerRecord, encodePeerRecord } from "../src/peer-locator.js";
import { parseRelayAddress } from "../src/relay-transport.js";

/** What a decoded MessagePack payload can be, and then some: every parser below takes `unknown`. */
const anyValue = fc.anything({
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
  withNullPrototype: true,
  // MessagePack (and JSON) decode arrays dense: a hole cannot come from the wire.
  withSparseArray: false,
  maxDepth: 3,
  maxKeys: 6,
});

/** A valid value with one field (or one element) replaced by anything, or removed. */
function mutated(valid: Record<string, unknown> | unknown[]): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.tuple(fc.constantFrom(...keys), anyValue, fc.boolean()).map(([key, value, remove]) => {
    const copy: Record<string, unknown> | unknown[] = Array.isArray(valid) ? [...valid] : { ...valid };
    if (remove && !Array.isArray(copy)) delete copy[key];
    else (copy as Record<string, unknown>)[key] = value;
    return copy;
  });
}

/** Bytes with one byte changed, a cut, or bytes added. */
function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
      const copy = valid.slice();
      copy[at] = v;
      return copy;
    }),
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((extra) => new Uint8Array([...valid, ...extra])),
  );
}

const utf8 = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v)) ?? "null");
const RUNS = { numRuns: 1500 };

describe("the hello, bye and text parsers", () => {
  const hello = { app: "test-app", protocol: 3, versions: [3, 3], caps: ["mesh/1"], peerId: generateIdentity().peerId, listen: ["tcp://127.0.0.1:1"], agent: "x", time: 1 };

  it("read a hello within its limits or say what is wrong, whatever the value", () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, mutated(hello)), (payload) => {
        const h = parseHello(payload);
        if (typeof h === "string") return;
        expect(h.app.length).toBeGreaterThan(0);
        expect(h.app.length).toBeLessThanOrEqual(128);
        expect(h.peerId.length).toBeLessThanOrEqual(256);
        expect(h.listen.length).toBeLessThanOrEqual(16);
        for (const a of h.listen) expect(typeof a === "string" && a.length > 0 && a.length <= 256).toBe(true);
        expect(typeof h.agent === "string" && h.agent.length <= 128).toBe(true);
        expect(h.time === undefined || Number.isFinite(h.time)).toBe(true);
        expect(h.offer.capabilities.length).toBeLessThanOrEqual(64);
        expect(Number.isSafeInteger(h.offer.min) && h.offer.min <= h.offer.max).toBe(true);
      }),
      RUNS,
    );
  });

  it("read a bye and a text or return null", () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, mutated({ code: "XPPG_ERR_X", reason: "r" }), mutated({ text: "t" })), (payload) => {
        const bye = parseBye(payload);
        if (bye !== null) {
          expect(bye.code.length).toBeLessThanOrEqual(64);
          expect(bye.reason.length).toBeLessThanOrEqual(500);
        }
        const text = parseText(payload);
        if (text !== null) expect(typeof text.text).toBe("string");
      }),
      RUNS,
    );
  });
});

describe("the relay's control messages", () => {
  const valid = [
    { t: "reserve", id: "abc" },
    { t: "connect", to: "abc" },
    { t: "accept", circuit: "0".repeat(32) },
    { t: "dialback", port: 4000 },
    { t: "reserved", observed: "127.0.0.1:4000", ttlMs: 60_000 },
    { t: "incoming", circuit: "a".repeat(32) },
    { t: "ready", circuit: "a".repeat(32), observed: "127.0.0.1:1", peerObserved: "127.0.0.1:2" },
    { t: "refused", reason: "no" },
    { t: "dialback", ok: true, observed: "127.0.0.1:1" },
  ];
  const frames = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom(...valid).chain((v) => fc.oneof(mutated(v).map(utf8), mutatedBytes(utf8(v)))),
    fc.jsonValue({ maxDepth: 3 }).map(utf8),
  );

  it("are decoded within their limits or refused (undefined), whatever the bytes", () => {
    fc.assert(
      fc.property(frames, (frame) => {
        const client = decodeClientMessage(frame);
        const relay = decodeRelayMessage(frame);
        if (client !== undefined || relay !== undefined) expect(frame.byteLength).toBeLessThanOrEqual(MAX_CONTROL_BYTES);
        if (client?.t === "dialback") expect(Number.isInteger(client.port) && client.port >= 1 && client.port <= 65535).toBe(true);
        if (relay?.t === "refused") expect(relay.reason.length).toBeLessThanOrEqual(200);
        if (relay?.t === "reserved") expect(relay.ttlMs).toBeLessThanOrEqual(86_400_000);
      }),
      RUNS,
    );
  });

  it("read back every valid message, and refuse one past the size limit", () => {
    for (const v of valid) expect([decodeClientMessage(encodeControl(v as never)), decodeRelayMessage(encodeControl(v as never))]).toContainEqual(v);
    expect(decodeRelayMessage(utf8({ t: "refused", reason: "x".repeat(MAX_CONTROL_BYTES) }))).toBeUndefined();
  });
});

describe("the reach/1 messages", () => {
  it("are read within their limits or refused (undefined), whatever the value", () => {
    const payloads = fc.oneof(
      anyValue,
      mutated({ addr: "127.0.0.1:4000" }),
      mutated({ port: 4000 }),
      mutated({ ok: true, via: "127.0.0.1" }),
      mutated({ host: "127.0.0.1", port: 1, token: "0123456789abcdef" }),
      mutated({ token: "0123456789abcdef", ok: false }),
      fc.string({ maxLength: 30 }).map((addr) => ({ addr })),
    );
    const isPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;
    fc.assert(
      fc.property(payloads, (payload) => {
        const observed = parseObserved(payload);
        if (observed !== undefined) expect(observed).toMatch(/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/);
        const port = parsePort(payload);
        if (port !== undefined) expect(isPort(port)).toBe(true);
        const result = parseDialbackResult(payload);
        if (result !== undefined) expect(typeof result.ok).toBe("boolean");
        const dial = parseDial(payload);
        if (dial !== undefined) expect(isPort(dial.port) && /^[0-9a-f]{16}$/.test(dial.token)).toBe(true);
        const dialed = parseDialed(payload);
        if (dialed !== undefined) expect(dialed.token).toMatch(/^[0-9a-f]{16}$/);
      }),
      RUNS,
    );
  });
});

describe("routed packets", () => {
  const header = packetHeader(generateIdentity().peerId, generateIdentity().peerId, 7, false);
  const valid = buildPacket(header, PACKET.DATA, new Uint8Array([1, 2, 3]));

  it("cut short right after the origin's id, are refused (no empty destination, no body of the whole packet)", () => {
    const originEnd = 7 + header[6]!;
    expect(parsePacket(valid.subarray(0, originEnd))).toBe("a routed packet with a malformed peer id");
    expect(parsePacket(valid)).toMatchObject({ type: PACKET.DATA, channel: 7, body: new Uint8Array([1, 2, 3]) });
  });

  it("are read with their ids within bounds and the body a view inside the packet, or refused with a sentence", () => {
    // A valid header before a body of about the most one Noise message takes, either side of it.
    const large = fc.integer({ min: NOISE_MAX_MESSAGE_SIZE - 4, max: NOISE_MAX_MESSAGE_SIZE + 4 }).map((n) => buildPacket(header, PACKET.DATA, new Uint8Array(n)));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutatedBytes(valid), large), (bytes) => {
        const packet = parsePacket(bytes);
        if (typeof packet === "string") return;
        expect(packet.body.length).toBeLessThanOrEqual(NOISE_MAX_MESSAGE_SIZE);
        expect(packet.type).toBeLessThanOrEqual(PACKET.RESET);
        for (const id of [packet.origin, packet.destination]) expect(id.length >= 1 && id.length <= 128).toBe(true);
        expect(packet.body.buffer).toBe(bytes.buffer);
        expect(packet.body.byteOffset + packet.body.byteLength).toBe(bytes.byteOffset + bytes.byteLength);
      }),
      RUNS,
    );
  });
});

describe("peer exchange records and DHT peer records", () => {
  const identity = generateIdentity();
  const wire = toWire(signRecord(identity, ["tcp://127.0.0.1:1"], 1000), true);

  it("a wire record is read within its limits or refused (null), whatever the value", () => {
    fc.assert(
      fc.property(fc.oneof(anyValue, mutated(wire), fc.array(anyValue, { minLength: 5, maxLength: 5 })), (value) => {
        const parsed = parseWireRecord(value);
        if (parsed === null) return;
        expect(parsed.record.addresses.length).toBeLessThanOrEqual(MAX_RECORD_ADDRESSES);
        for (const a of parsed.record.addresses) expect(a.length > 0 && a.length <= MAX_ADDRESS_LENGTH).toBe(true);
        expect(parsed.record.signature.length).toBe(64);
        expect(Number.isSafeInteger(parsed.record.time)).toBe(true);
      }),
      RUNS,
    );
  });

  it("a DHT record's value is read as at most 8 addresses or refused (undefined), whatever the bytes: JSON null, numbers and lists too", () => {
    const valid = encodePeerRecord(["tcp://127.0.0.1:1"]);
    expect(decodePeerRecord(valid)).toEqual(["tcp://127.0.0.1:1"]);
    for (const json of ["null", "1", "true", '"a"', "[]"]) expect(decodePeerRecord(new TextEncoder().encode(json))).toBeUndefined();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.jsonValue({ maxDepth: 3 }).map(utf8), mutated({ v: 1, a: ["x"] }).map(utf8), mutatedBytes(valid)), (bytes) => {
        const addresses = decodePeerRecord(bytes);
        if (addresses === undefined) return;
        expect(addresses.length).toBeLessThanOrEqual(MAX_RECORD_ADDRESSES);
        for (const a of addresses) expect(typeof a === "string" && a.length > 0 && a.length <= MAX_ADDRESS_LENGTH).toBe(true);
      }),
      RUNS,
    );
  });

  it("a relay address learnt from a peer is parsed or refused (undefined), whatever the string", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ maxLength: 60 }).map((s) => `relay://${s}`), fc.string({ maxLength: 20 }).map((s) => `relay://127.0.0.1:4000/p/${s}`)), (address) => {
        const parsed = parseRelayAddress(address);
        if (parsed !== undefined) expect(parsed.port >= 1 && parsed.port <= 65535).toBe(true);
      }),
      RUNS,
    );
  });
});
