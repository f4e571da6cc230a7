import { describe, expect, it } from "vitest";
import { EnvelopeCodec, ENVELOPE_VERSION, isSignedEnvelope, type Envelope } from "../src/index.js";

const codec = new EnvelopeCodec();
const base: Envelope = { version: ENVELOPE_VERSION, kind: "text", source: "peerA", destination: null, id: 1, hopLimit: 3, payload: { text: "hi" } };

describe("isSignedEnvelope", () => {
  it("tells a signed envelope from an unsigned one without decoding it, at any offset", () => {
    const signed = codec.encodeSigned(base, () => new Uint8Array(64).fill(7));
    const unsigned = codec.encode(base);
    const joined = new Uint8Array(3 + unsigned.byteLength + signed.byteLength);
    joined.set(unsigned, 3);
    joined.set(signed, 3 + unsigned.byteLength);
    expect(isSignedEnvelope(joined, 3, 3 + unsigned.byteLength)).toBe(false);
    expect(isSignedEnvelope(joined, 3 + unsigned.byteLength, joined.byteLength)).toBe(true);
    expect(codec.decode(joined, 3 + unsigned.byteLength, joined.byteLength).signature).toEqual(new Uint8Array(64).fill(7));
  });

  it("reads nothing past the end it is given", () => {
    const signed = codec.encodeSigned(base, () => new Uint8Array(64));
    expect(isSignedEnvelope(signed, 0, 1)).toBe(false);
    expect(isSignedEnvelope(signed, 0, 0)).toBe(false);
  });
});
