// The handshake checks the peer's identity signature with libsodium's yes
// first (`ed25519Accepts`), node:crypto deciding whenever libsodium says
// no: the verdict must stay node:crypto's, the check every node shares.
import { tcpTransport } from "@xppg/transport-tcp";
import { Collector, within } from "@xppg/transport/compliance";
import type { Connection } from "@xppg/transport";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { MUST_REFUSE, sodiumKeys, type KeysBinding } from "../src/crypto/sodium-keys.js";
import { sodiumCryptoProvider } from "../src/crypto/sodium-provider.js";
import { SECURE_ERROR_CODES, generateIdentity, type Identity, type SecureConnection } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { L, littleEndian, mutated, mutation, scalarOf, SMALL_ORDER, smallOrderSignature } from "./fixtures/ed25519-mutations.js";
import { codeOf } from "./helpers.js";
import { needsSodium, rawBinding, sodiumAead, sodiumProvider } from "./sodium.js";

const withSodium = needsSodium("the libsodium provider's signature checks");
const sodium = sodiumProvider!;

describe.runIf(withSodium)("ed25519Accepts: libsodium's yes, node:crypto's verdict", () => {
  it("is offered by the sodium provider, not by node:crypto's", () => {
    expect(typeof sodium.ed25519Accepts).toBe("function");
    expect(nodeCryptoProvider.ed25519Accepts).toBeUndefined();
  });

  it("accepts a genuine signature, and never one node:crypto refuses (fuzzed: flipped bits, S + L, small-order keys)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), mutation, (seed, message, m) => {
        const { publicKey, data, signature } = mutated(sodium, seed, message, m);
        const quick = sodium.ed25519Accepts!(publicKey, data, signature);
        const full = nodeCryptoProvider.ed25519Verify(publicKey, data, signature);
        if (quick) expect(full).toBe(true);
        if (m.kind === "none") expect(quick).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  it("says no where node:crypto says yes (a small-order key), so its no cannot be the verdict", () => {
    const { publicKey, signature } = smallOrderSignature(12345n);
    const data = Uint8Array.of(9, 9);
    expect(nodeCryptoProvider.ed25519Verify(publicKey, data, signature)).toBe(true);
    expect(sodium.ed25519Accepts!(publicKey, data, signature)).toBe(false);
  });

  it("says no to views over a SharedArrayBuffer (left to node:crypto), for each of the three arguments", () => {
    const signer = sodium.ed25519Signer(new Uint8Array(32).fill(8));
    const data = Uint8Array.of(4, 5, 6);
    const signature = signer.sign(data);
    const shared = (bytes: Uint8Array): Uint8Array => {
      const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      out.set(bytes);
      return out;
    };
    expect(sodium.ed25519Accepts!(signer.publicKey, data, signature)).toBe(true);
    expect(sodium.ed25519Accepts!(shared(signer.publicKey), data, signature)).toBe(false);
    expect(sodium.ed25519Accepts!(signer.publicKey, shared(data), signature)).toBe(false);
    expect(sodium.ed25519Accepts!(signer.publicKey, data, shared(signature))).toBe(false);
    expect(nodeCryptoProvider.ed25519Verify(shared(signer.publicKey), shared(data), shared(signature))).toBe(true);
  });

  it("never throws, and says no to sizes the binding would misread", () => {
    const signer = sodium.ed25519Signer(new Uint8Array(32).fill(7));
    const data = Uint8Array.of(1, 2, 3);
    const signature = signer.sign(data);
    expect(sodium.ed25519Accepts!(signer.publicKey.subarray(0, 31), data, signature)).toBe(false);
    expect(sodium.ed25519Accepts!(signer.publicKey, data, new Uint8Array(65))).toBe(false);
    expect(sodium.ed25519Accepts!(signer.publicKey, data, signature.subarray(0, 63))).toBe(false);
    // A view into a larger buffer is read at its own offset.
    const big = new Uint8Array(200);
    big.set(signature, 17);
    expect(sodium.ed25519Accepts!(signer.publicKey, data, big.subarray(17, 81))).toBe(true);
    expect(sodium.ed25519Accepts!(null as unknown as Uint8Array, data, signature)).toBe(false);
  });

  it("reads a view's bounds through the typed array's own getters, not a subclass's (which could point the binding past the view)", () => {
    const signer = sodium.ed25519Signer(new Uint8Array(32).fill(6));
    const data = Uint8Array.of(7, 8);
    const signature = signer.sign(data);
    // A 4-byte view that claims 64 bytes: over a buffer that holds the whole signature, the binding would take it.
    class Lying extends Uint8Array {
      override get byteLength(): number {
        return 64;
      }
    }
    const lying = new Lying(signature.slice().buffer, 0, 4);
    expect(lying.byteLength).toBe(64);
    expect(sodium.ed25519Accepts!(signer.publicKey, data, lying)).toBe(false);
  });
});


describe("the start-up check that libsodium is the stricter one", () => {
  const raw = rawBinding<KeysBinding>();
  const randomBytes = (n: number): Uint8Array => new Uint8Array(n).map(() => Math.floor(Math.random() * 256));
  const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));

  it("uses signatures that node:crypto judges as the check needs: S + L refused, the small-order key's accepted", () => {
    const [plusL, smallOrder] = MUST_REFUSE.map(([k, m, g]) => nodeCryptoProvider.ed25519Verify(hex(k), hex(m), hex(g)));
    expect(plusL).toBe(false);
    expect(smallOrder).toBe(true);
  });

  it.runIf("binding" in raw)("keeps the quick check over the real binding, and every other key operation", () => {
    const keys = sodiumKeys((raw as { binding: KeysBinding }).binding, randomBytes)!;
    expect(typeof keys.ed25519Accepts).toBe("function");
    for (const [k, m, g] of MUST_REFUSE) expect(keys.ed25519Accepts!(hex(k), hex(m), hex(g))).toBe(false);
  });

  it.runIf("binding" in raw && withSodium)("withholds the quick check, and only it, from a binding that reduces S mod L before verifying", () => {
    const real = (raw as { binding: KeysBinding }).binding;
    const verify = real.crypto_sign_verify_detached!;
    const lenient: KeysBinding = {
      crypto_sign_seed_keypair: (...a) => real.crypto_sign_seed_keypair(...a),
      crypto_sign_detached: (...a) => real.crypto_sign_detached(...a),
      crypto_scalarmult_base: (...a) => real.crypto_scalarmult_base(...a),
      crypto_scalarmult: (...a) => real.crypto_scalarmult(...a),
      crypto_hash_sha256: (...a) => real.crypto_hash_sha256(...a),
      crypto_sign_verify_detached(sig, sigOffset, sigLength, m, mOffset, mLength, pk, pkOffset, pkLength) {
        const reduced = new Uint8Array(sig.slice(sigOffset, sigOffset + sigLength) as ArrayBuffer);
        reduced.set(littleEndian(scalarOf(reduced.subarray(32)) % L), 32);
        return verify.call(real, reduced.buffer, 0, 64, m, mOffset, mLength, pk, pkOffset, pkLength);
      },
    };
    const keys = sodiumKeys(lenient, randomBytes);
    expect(keys).not.toBeNull();
    expect(keys!.ed25519Accepts).toBeUndefined();
    expect(keys!.sha256(Uint8Array.of(1)).byteLength).toBe(32);
    // A provider over such keys checks every signature on node:crypto.
    const provider = sodiumCryptoProvider({ ...sodiumAead!, keys });
    expect(provider.ed25519Accepts).toBeUndefined();
  });

  it.runIf("binding" in raw)("withholds it from a binding that accepts small-order keys", () => {
    const real = (raw as { binding: KeysBinding }).binding;
    const verify = real.crypto_sign_verify_detached!;
    const lenient: KeysBinding = Object.assign(Object.create(real) as KeysBinding, {
      crypto_sign_verify_detached(...a: Parameters<NonNullable<KeysBinding["crypto_sign_verify_detached"]>>) {
        const pk = new Uint8Array(a[6] as ArrayBuffer, a[7], a[8]);
        return SMALL_ORDER.some((p) => Buffer.from(p).equals(pk)) || verify.apply(real, a);
      },
    });
    expect(sodiumKeys(lenient, randomBytes)!.ed25519Accepts).toBeUndefined();
  });

  it.runIf("binding" in raw)("never hands the binding, which checks no bounds, anything but a plain ArrayBuffer", () => {
    const real = (raw as { binding: KeysBinding }).binding;
    const verify = real.crypto_sign_verify_detached!;
    const seen: string[] = [];
    const watched: KeysBinding = Object.assign(Object.create(real) as KeysBinding, {
      crypto_sign_verify_detached(...a: Parameters<NonNullable<KeysBinding["crypto_sign_verify_detached"]>>) {
        for (const i of [0, 3, 6]) seen.push((a[i] as object).constructor.name);
        return verify.apply(real, a);
      },
    });
    const keys = sodiumKeys(watched, randomBytes)!;
    const signer = keys.ed25519Signer(new Uint8Array(32).fill(9));
    const data = Uint8Array.of(1);
    const signature = signer.sign(data);
    const shared = (bytes: Uint8Array): Uint8Array => {
      const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      out.set(bytes);
      return out;
    };
    expect(keys.ed25519Accepts!(shared(signer.publicKey), data, signature)).toBe(false);
    expect(keys.ed25519Accepts!(signer.publicKey, shared(data), signature)).toBe(false);
    expect(keys.ed25519Accepts!(signer.publicKey, data, shared(signature))).toBe(false);
    expect(keys.ed25519Accepts!(signer.publicKey, data, signature)).toBe(true);
    expect(new Set(seen)).toEqual(new Set(["ArrayBuffer"]));
  });

  if ("reason" in raw) it.skip(`needs the prebuilt binding: ${raw.reason}`, () => {});
});

/** A provider over `base` that counts the identity checks the handshake makes. */
function counting(base: CryptoProvider, accepts: CryptoProvider["ed25519Accepts"]): CryptoProvider & { quick: number; full: number } {
  const p = {
    ...base,
    quick: 0,
    full: 0,
    ed25519Verify(k: Uint8Array, d: Uint8Array, s: Uint8Array) {
      p.full++;
      return base.ed25519Verify(k, d, s);
    },
    ...(accepts === undefined ? {} : {
      ed25519Accepts(k: Uint8Array, d: Uint8Array, s: Uint8Array) {
        p.quick++;
        return accepts(k, d, s);
      },
    }),
  };
  return p;
}

/** A handshake over real TCP on loopback between the two providers, then one frame each way. */
async function handshake(dialer: CryptoProvider, listener: CryptoProvider): Promise<void> {
  const t = tcpTransport();
  let accepted!: Promise<SecureConnection>;
  const l = await t.listen("tcp://127.0.0.1:0", (c: Connection) => {
    accepted = secureConnectionWith(listener, c, { identity: generateIdentity() });
    accepted.catch(() => {});
  });
  try {
    const client = await secureConnectionWith(dialer, await t.dial(l.address), { identity: generateIdentity() });
    const server = await within(accepted, "the listener's handshake");
    const atServer = new Collector(server);
    const atClient = new Collector(client);
    await client.send(Uint8Array.of(1));
    await server.send(Uint8Array.of(2));
    await Promise.all([atServer.waitFor(1), atClient.waitFor(1)]);
    await client.close();
    await server.closed;
  } finally {
    await l.close();
  }
}

describe.runIf(withSodium)("the handshake's identity check", () => {
  it("takes libsodium's yes for a genuine peer: the provider's ed25519Verify is not called", async () => {
    const [a, b] = [counting(sodium, sodium.ed25519Accepts), counting(sodium, sodium.ed25519Accepts)];
    await handshake(a, b);
    expect([a.quick, a.full, b.quick, b.full]).toEqual([1, 0, 1, 0]);
  });

  it("asks node:crypto when the quick check says no, and its yes lets the peer in", async () => {
    const [a, b] = [counting(sodium, () => false), counting(sodium, () => false)];
    await handshake(a, b);
    expect([a.quick, a.full, b.quick, b.full]).toEqual([1, 1, 1, 1]);
  });

  it("lets node:crypto decide when the quick check throws, and the peer is let in", async () => {
    const throwing = (): boolean => {
      throw new Error("the quick check broke");
    };
    const [a, b] = [counting(sodium, throwing), counting(sodium, throwing)];
    await handshake(a, b);
    expect([a.quick, a.full, b.quick, b.full]).toEqual([1, 1, 1, 1]);
  });

  it("uses ed25519Verify alone with a provider that has no quick check, against one that has", async () => {
    const [a, b] = [counting(nodeCryptoProvider, undefined), counting(sodium, sodium.ed25519Accepts)];
    await handshake(a, b);
    expect([a.quick, a.full, b.quick, b.full]).toEqual([0, 1, 1, 0]);
  });

  it("still refuses a peer whose identity signature is forged: both checks say no", async () => {
    const genuine = generateIdentity();
    const forge = (sig: Uint8Array): Uint8Array => {
      const out = sig.slice();
      out[5] = out[5]! ^ 0x10;
      return out;
    };
    // An identity that signs with one bit off: its handshake payload carries a signature that does not verify.
    const forged: Identity = { peerId: genuine.peerId, publicKey: genuine.publicKey, exportSecretKey: () => genuine.exportSecretKey(), sign: (d) => forge(genuine.sign(d)), signAsync: async (d) => forge(await genuine.signAsync(d)) };
    const listener = counting(sodium, sodium.ed25519Accepts);
    const t = tcpTransport();
    let accepted!: Promise<SecureConnection>;
    const l = await t.listen("tcp://127.0.0.1:0", (c: Connection) => {
      accepted = secureConnectionWith(listener, c, { identity: generateIdentity() });
      accepted.catch(() => {});
    });
    try {
      const dialled = secureConnectionWith(sodium, await t.dial(l.address), { identity: forged });
      dialled.catch(() => {});
      const refused = await within(codeOf(accepted), "the listener's verdict");
      expect(refused).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
      expect([listener.quick, listener.full]).toEqual([1, 1]);
    } finally {
      await l.close();
    }
  });
});
