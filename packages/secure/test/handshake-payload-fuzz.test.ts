// The identity payload inside a peer's handshake (after Noise authenticated
// its static key), arbitrary and mutated-valid (fast-check), with both crypto
// providers: it proves the identity that signed it, or fails with
// XPPG_ERR_HANDSHAKE_FAILED, never another error.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { generateIdentity } from "../src/index.js";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { encodeHandshakePayload, HANDSHAKE_PAYLOAD_SIZE, verifyHandshakePayload } from "../src/handshake-payload.js";

const identity = generateIdentity();
const staticKey = new Uint8Array(32).fill(9);
const valid = encodeHandshakePayload(identity, staticKey);

const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.uint8Array({ minLength: HANDSHAKE_PAYLOAD_SIZE, maxLength: HANDSHAKE_PAYLOAD_SIZE }),
  fc.array(fc.tuple(fc.nat({ max: HANDSHAKE_PAYLOAD_SIZE - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((edits) => {
    const copy = valid.slice();
    for (const [at, b] of edits) copy[at] = b;
    return copy;
  }),
  // Keys of low order or not on the curve, with any signature.
  fc.tuple(fc.constantFrom(new Uint8Array(32), new Uint8Array(32).fill(0xff), Uint8Array.from([1, ...new Array(31).fill(0)]), Uint8Array.from([...new Array(31).fill(0xff), 0x7f])), fc.uint8Array({ minLength: 64, maxLength: 64 })).map(([key, sig]) => Uint8Array.from([1, ...key, ...sig])),
);

describe.each([
  ["node:crypto", nodeCryptoProvider],
  ["@noble", nobleCryptoProvider],
] as const)("the handshake identity payload (%s)", (_name, provider) => {
  it("proves the identity that signed the static key, or fails with XPPG_ERR_HANDSHAKE_FAILED", () => {
    expect(verifyHandshakePayload(provider, valid, staticKey, "peer").peerId).toBe(identity.peerId);
    fc.assert(
      fc.property(payloads, (payload) => {
        try {
          const proven = verifyHandshakePayload(provider, payload, staticKey, "peer");
          // Only the genuine payload (or one whose changes left it whole) proves anything.
          expect(proven.peerId).toBe(identity.peerId);
          expect(payload).toEqual(valid);
        } catch (error) {
          expect(isXppgError(error) && error.code === "XPPG_ERR_HANDSHAKE_FAILED", String(error)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
