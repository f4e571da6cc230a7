import { isXppgError } from "@xppg/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { generateIdentityWith, identityFromSecretKeyWith } from "../src/identity.js";
import {
  SECURE_ERROR_CODES,
  generateIdentity,
  identityFromSecretKey,
  isIdentity,
  isPeerId,
  peerIdFromPublicKey,
  publicKeyFromPeerId,
  verifySignature,
} from "../src/index.js";
import * as browser from "../src/browser.js";

const INVALID = SECURE_ERROR_CODES.INVALID_PEER_ID;

function codeOfThrow(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe("identity", () => {
  it("generates an identity with a 55-character xp1 peer id derived from its public key", () => {
    const id = generateIdentity();
    expect(id.peerId).toMatch(/^xp1[a-z2-7]{52}$/);
    expect(id.peerId.length).toBe(55);
    expect(id.publicKey.byteLength).toBe(32);
    expect(peerIdFromPublicKey(id.publicKey)).toBe(id.peerId);
    expect(Array.from(publicKeyFromPeerId(id.peerId))).toEqual(Array.from(id.publicKey));
    expect(isIdentity(id)).toBe(true);
  });

  it("round-trips through exportSecretKey and never shows the secret key when serialised", () => {
    const id = generateIdentity();
    const again = identityFromSecretKey(id.exportSecretKey());
    expect(again.peerId).toBe(id.peerId);
    const secretHex = Buffer.from(id.exportSecretKey()).toString("hex");
    expect(JSON.stringify(id)).not.toContain(secretHex);
    expect(JSON.stringify(id)).toContain(id.peerId);
    expect(Object.keys(id)).not.toContain("secretKey");
  });

  it("sign and signAsync given no Uint8Array: a TypeError with XPPG_ERR_INVALID_ARGUMENT naming data and what it got", async () => {
    const id = generateIdentity();
    let syncError: unknown;
    try {
      id.sign("hello" as never);
    } catch (e) {
      syncError = e;
    }
    const asyncError = await id.signAsync([1, 2] as never).catch((e: unknown) => e);
    for (const [error, call, shown] of [[syncError, "identity.sign", '"hello"'], [asyncError, "identity.signAsync", "an array"]] as const) {
      expect(error).toBeInstanceOf(TypeError);
      expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
      expect((error as Error).message).toBe(`${call}: data must be a Uint8Array (the bytes to sign), got ${shown}. Pass a Uint8Array (the bytes to sign).`);
    }
  });

  it("signs and verifies; a changed message, key or signature does not verify", () => {
    const id = generateIdentity();
    const data = new TextEncoder().encode("hello");
    const sig = id.sign(data);
    expect(sig.byteLength).toBe(64);
    expect(verifySignature(id.publicKey, data, sig)).toBe(true);
    expect(verifySignature(id.publicKey, new TextEncoder().encode("hellp"), sig)).toBe(false);
    expect(verifySignature(generateIdentity().publicKey, data, sig)).toBe(false);
    const bad = sig.slice();
    bad[10]! ^= 1;
    expect(verifySignature(id.publicKey, data, bad)).toBe(false);
    expect(verifySignature(new Uint8Array(31), data, sig)).toBe(false);
    expect(verifySignature(id.publicKey, data, sig.subarray(0, 63))).toBe(false);
  });

  it("node:crypto and @noble give the same keys and signatures (RFC 8032 is deterministic)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), (seed, data) => {
        const n = identityFromSecretKey(seed);
        const b = identityFromSecretKeyWith(nobleCryptoProvider, seed);
        expect(b.peerId).toBe(n.peerId);
        const sig = n.sign(data);
        expect(Buffer.from(b.sign(data)).equals(Buffer.from(sig))).toBe(true);
        expect(browser.verifySignature(n.publicKey, data, sig)).toBe(true);
      }),
      { numRuns: 15 },
    );
    expect(generateIdentityWith(nobleCryptoProvider).peerId).toMatch(/^xp1/);
  });

  it("refuses secret keys of the wrong size with XPPG_ERR_INVALID_KEY", () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), "x" as unknown as Uint8Array]) {
      expect(codeOfThrow(() => identityFromSecretKey(bad))).toBe(SECURE_ERROR_CODES.INVALID_KEY);
    }
    expect(codeOfThrow(() => peerIdFromPublicKey(new Uint8Array(16)))).toBe(SECURE_ERROR_CODES.INVALID_KEY);
  });
});

describe("peer ids", () => {
  it("round-trip every 32-byte key", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const id = peerIdFromPublicKey(key);
        expect(id.length).toBe(55);
        expect(isPeerId(id)).toBe(true);
        expect(Buffer.from(publicKeyFromPeerId(id)).equals(Buffer.from(key))).toBe(true);
      }),
    );
  });

  it("rejects malformed ids with XPPG_ERR_INVALID_PEER_ID, never anything else", () => {
    const good = generateIdentity().peerId;
    const fixed = [
      "",
      "xp1",
      good.toUpperCase(),
      good.slice(0, 54),
      `${good}a`,
      `xp2${good.slice(3)}`,
      `${good.slice(0, 10)}1${good.slice(11)}`,
      `${good.slice(0, 10)}=${good.slice(11)}`,
      ` ${good.slice(1)}`,
      `${good.slice(0, 54)}7`, // non-zero trailing bits: a second spelling of a key
      `${good.slice(0, 20)}é${good.slice(21)}`,
    ];
    for (const bad of fixed) expect(codeOfThrow(() => publicKeyFromPeerId(bad)), bad).toBe(INVALID);
    for (const bad of [undefined, null, 42, {}, []]) expect(codeOfThrow(() => publicKeyFromPeerId(bad as string))).toBe(INVALID);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const code = codeOfThrow(() => publicKeyFromPeerId(s));
        if (code !== undefined) expect(code).toBe(INVALID);
        else expect(peerIdFromPublicKey(publicKeyFromPeerId(s))).toBe(s);
      }),
    );
    // One changed character of a valid id: still valid (another key) or rejected, never a different spelling of the same key.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 54 }), fc.integer({ min: 0, max: 0xffff }), (at, ch) => {
        const s = good.slice(0, at) + String.fromCharCode(ch) + good.slice(at + 1);
        const code = codeOfThrow(() => publicKeyFromPeerId(s));
        if (code !== undefined) expect(code).toBe(INVALID);
        else expect(peerIdFromPublicKey(publicKeyFromPeerId(s))).toBe(s);
      }),
    );
  });
});
