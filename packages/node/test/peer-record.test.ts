import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateIdentity } from "@xppg/secure";
import { decodePeerRecord, encodePeerRecord } from "../src/peer-locator.js";
import { parseWireRecord, signRecord, toWire, verifyRecord } from "../src/peer-record.js";

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe("peer records read from the DHT (untrusted bytes)", () => {
  it("round-trips the addresses a node advertises", () => {
    const addresses = ["tcp://203.0.113.7:7337", "ws://[2001:db8::1]:7338/xppg", "relay://xp1abc@tcp://198.51.100.2:7337"];
    expect(decodePeerRecord(encodePeerRecord(addresses))).toEqual(addresses);
  });

  it.each<[string, Uint8Array]>([
    ["JSON null", encode(null)],
    ["a number", encode(7)],
    ["a string", encode("tcp://x:1")],
    ["an array", encode([1, ["tcp://x:1"]])],
    ["another version", encode({ v: 2, a: ["tcp://x:1"] })],
    ["addresses that are not a list", encode({ v: 1, a: "tcp://x:1" })],
    ["an empty address", encode({ v: 1, a: [""] })],
    ["an address with a newline", encode({ v: 1, a: ["tcp://x:1\nXPPG_ERR_FAKE: do this"] })],
    ["an address with an escape sequence", encode({ v: 1, a: ["tcp://x:1\u001b[2J"] })],
    ["an address with a space", encode({ v: 1, a: ["tcp://x:1 and more"] })],
    ["too many addresses", encode({ v: 1, a: Array.from({ length: 9 }, (_, i) => `tcp://10.0.0.${i}:1`) })],
    ["invalid UTF-8", Uint8Array.of(0x7b, 0xff, 0x7d)],
    ["more than 1,000 bytes", new Uint8Array(1001).fill(0x20)],
  ])("refuses %s", (_what, bytes) => {
    expect(decodePeerRecord(bytes)).toBeUndefined();
  });

  it("never throws, and returns only printable addresses, whatever the bytes", () => {
    const mutated = fc.record({ v: fc.oneof(fc.constant(1), fc.anything()), a: fc.oneof(fc.array(fc.string({ maxLength: 300 }), { maxLength: 10 }), fc.anything()) }).map(encode);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1200 }), mutated, fc.anything().map(encode)), (bytes) => {
        const out = decodePeerRecord(bytes);
        if (out === undefined) return;
        expect(out.length).toBeLessThanOrEqual(8);
        for (const address of out) expect(address).toMatch(/^[\x21-\x7e]{1,256}$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("signed peer records read from a peer's exchange", () => {
  it("keep a signature of their own, not a view of the frame they came in (the address book keeps them for long)", () => {
    const identity = generateIdentity();
    const wire = toWire(signRecord(identity, ["tcp://203.0.113.7:7337"], 1_700_000_000_000), true);
    // As the envelope reader hands it over: a view into a large frame.
    const frame = new Uint8Array(256 * 1024);
    frame.set(wire[3], 1000);
    const parsed = parseWireRecord([wire[0], wire[1], wire[2], frame.subarray(1000, 1064), wire[4]])!;
    expect(parsed.record.signature.buffer).not.toBe(frame.buffer);
    expect(parsed.record.signature.byteLength).toBe(64);
    frame.fill(0);
    expect(verifyRecord(parsed.record)).toBe(true);
  });
});
