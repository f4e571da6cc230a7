// Replays the published cacophony vectors for Noise_XX_25519_AESGCM_SHA256
// and Noise_XX_25519_ChaChaPoly_SHA256 (sources named in the fixtures) with
// every crypto provider (node:crypto, @noble, libsodium), comparing every handshake message, the handshake
// hash and every transport message byte for byte.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { NoiseCipher } from "../src/constants.js";
import { loadNobleAesGcm, nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { writeAesGcmNonce } from "../src/crypto/aes-gcm-nonce.js";
import { writeNonce, type CryptoProvider } from "../src/crypto/provider.js";
import { HandshakeState } from "../src/noise/handshake-state.js";
import { needsSodium, sodiumProvider } from "./sodium.js";

// noble's AES-GCM is loaded on first use (browsers download it only then); these tests call it directly.
beforeAll(() => loadNobleAesGcm());

// sodium-native is an optional dependency: where it did not load, the libsodium provider's vectors are skipped.
const withSodium = needsSodium("the Noise test vectors on the libsodium provider");

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const load = (file: string): Vector => JSON.parse(readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8")) as Vector;
const suites: Array<{ cipher: NoiseCipher; protocolName: string; vector: Vector }> = [
  { cipher: "AESGCM", protocolName: "Noise_XX_25519_AESGCM_SHA256", vector: load("noise-xx-25519-aesgcm-sha256.json") },
  { cipher: "ChaChaPoly", protocolName: "Noise_XX_25519_ChaChaPoly_SHA256", vector: load("noise-xx-25519-chachapoly-sha256.json") },
];
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function keyPair(provider: CryptoProvider, secret: string) {
  const secretKey = hex(secret);
  return { secretKey, publicKey: provider.x25519PublicKey(secretKey) };
}

for (const { cipher, protocolName, vector } of suites) for (const provider of [nodeCryptoProvider, nobleCryptoProvider, ...(withSodium ? [sodiumProvider!] : [])]) {
  describe(`Noise XX test vector, ${cipher} (${provider.name} provider)`, () => {
    it("is the vector for the protocol this cipher speaks", async () => {
      expect(vector.protocol_name).toBe(protocolName);
      expect(new HandshakeState(provider, { initiator: true, cipher, staticKeyPair: keyPair(provider, vector.init_static) }).protocolName).toBe(protocolName);
      expect(vector.messages.length).toBe(6);
    });

    it("reproduces every handshake and transport message byte for byte", async () => {
      const init = new HandshakeState(provider, {
        initiator: true,
        cipher,
        prologue: hex(vector.init_prologue),
        staticKeyPair: keyPair(provider, vector.init_static),
        ephemeralKeyPair: keyPair(provider, vector.init_ephemeral),
      });
      const resp = new HandshakeState(provider, {
        initiator: false,
        cipher,
        prologue: hex(vector.resp_prologue),
        staticKeyPair: keyPair(provider, vector.resp_static),
        ephemeralKeyPair: keyPair(provider, vector.resp_ephemeral),
      });
      const [m0, m1, m2, ...transport] = vector.messages;
      for (const [i, m] of [m0!, m1!, m2!].entries()) {
        const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
        const message = await writer.writeMessage(hex(m.payload));
        expect(toHex(message), `handshake message ${i}`).toBe(m.ciphertext);
        expect(toHex(await reader.readMessage(message)), `payload ${i}`).toBe(m.payload);
      }
      expect(init.complete && resp.complete).toBe(true);
      const a = await init.split();
      const b = await resp.split();
      expect(toHex(a.handshakeHash)).toBe(vector.handshake_hash);
      expect(toHex(b.handshakeHash)).toBe(vector.handshake_hash);
      expect(toHex(a.remoteStaticKey)).toBe(toHex(provider.x25519PublicKey(hex(vector.resp_static))));
      expect(toHex(b.remoteStaticKey)).toBe(toHex(provider.x25519PublicKey(hex(vector.init_static))));
      const empty = new Uint8Array(0);
      transport.forEach((m, j) => {
        // Index 3 + j: even indexes are the initiator's.
        const [sender, receiver] = (3 + j) % 2 === 0 ? [a, b] : [b, a];
        const ct = sender.send.encryptWithAd(empty, hex(m.payload));
        expect(toHex(ct), `transport message ${3 + j}`).toBe(m.ciphertext);
        expect(toHex(receiver.receive.decryptWithAd(empty, ct)!)).toBe(m.payload);
      });
    });

    it("seals the vector's transport messages apart (ciphertext, tag) with the record layer's encryptParts", async () => {
      const mk = (initiator: boolean, s: string, e: string) =>
        new HandshakeState(provider, { initiator, cipher, prologue: hex(vector.init_prologue), staticKeyPair: keyPair(provider, s), ephemeralKeyPair: keyPair(provider, e) });
      const init = mk(true, vector.init_static, vector.init_ephemeral);
      const resp = mk(false, vector.resp_static, vector.resp_ephemeral);
      const [m0, m1, m2, ...transport] = vector.messages;
      await resp.readMessage(await init.writeMessage(hex(m0!.payload)));
      await init.readMessage(await resp.writeMessage(hex(m1!.payload)));
      await resp.readMessage(await init.writeMessage(hex(m2!.payload)));
      const a = await init.split();
      const b = await resp.split();
      transport.forEach((m, j) => {
        const sender = (3 + j) % 2 === 0 ? a : b;
        const [body, tag] = sender.send.encryptParts(hex(m.payload));
        expect(tag.byteLength).toBe(16);
        expect(toHex(body) + toHex(tag), `transport message ${3 + j}`).toBe(m.ciphertext);
      });
    });

    it("seals the vector's transport messages in place and opens them in place with encryptInto/decryptInto", async () => {
      const mk = (initiator: boolean, s: string, e: string) =>
        new HandshakeState(provider, { initiator, cipher, prologue: hex(vector.init_prologue), staticKeyPair: keyPair(provider, s), ephemeralKeyPair: keyPair(provider, e) });
      const init = mk(true, vector.init_static, vector.init_ephemeral);
      const resp = mk(false, vector.resp_static, vector.resp_ephemeral);
      const [m0, m1, m2, ...transport] = vector.messages;
      await resp.readMessage(await init.writeMessage(hex(m0!.payload)));
      await init.readMessage(await resp.writeMessage(hex(m1!.payload)));
      await resp.readMessage(await init.writeMessage(hex(m2!.payload)));
      const a = await init.split();
      const b = await resp.split();
      if (!a.send.inPlace) {
        expect(provider.name).not.toBe("sodium");
        return;
      }
      transport.forEach((m, j) => {
        const [sender, receiver] = (3 + j) % 2 === 0 ? [a, b] : [b, a];
        const buf = hex(m.payload);
        const tag = new Uint8Array(16);
        sender.send.encryptInto(buf, buf, tag);
        expect(toHex(buf) + toHex(tag), `transport message ${3 + j}`).toBe(m.ciphertext);
        const badTag = tag.slice();
        badTag[15]! ^= 0x80;
        const copy = buf.slice();
        expect(receiver.receive.decryptInto(copy, badTag, copy)).toBe(false);
        expect(receiver.receive.decryptInto(buf, tag, buf)).toBe(true);
        expect(toHex(buf)).toBe(m.payload);
      });
    });

    it("refuses a transport message replayed or altered", async () => {
      const mk = (initiator: boolean, s: string, e: string) =>
        new HandshakeState(provider, { initiator, cipher, staticKeyPair: keyPair(provider, s), ephemeralKeyPair: keyPair(provider, e) });
      const init = mk(true, vector.init_static, vector.init_ephemeral);
      const resp = mk(false, vector.resp_static, vector.resp_ephemeral);
      await resp.readMessage(await init.writeMessage(new Uint8Array(0)));
      await init.readMessage(await resp.writeMessage(new Uint8Array(0)));
      await resp.readMessage(await init.writeMessage(new Uint8Array(0)));
      const a = await init.split();
      const b = await resp.split();
      const empty = new Uint8Array(0);
      const ct = a.send.encryptWithAd(empty, hex("00112233"));
      const flipped = ct.slice();
      flipped[1]! ^= 1;
      expect(b.receive.decryptWithAd(empty, flipped)).toBeNull();
      expect(toHex(b.receive.decryptWithAd(empty, ct)!)).toBe("00112233");
      expect(b.receive.decryptWithAd(empty, ct)).toBeNull();
    });
  });
}

describe("Noise nonces and the two providers", () => {
  it("AESGCM puts the counter big-endian after 4 zero bytes, ChaChaPoly little-endian (Noise spec sections 12.3, 12.4)", () => {
    const n = 0x0102_0304_0506; // above 2^32, so both halves of the 64-bit counter count
    const be = new Uint8Array(12).fill(0xee);
    const le = new Uint8Array(12).fill(0xee);
    writeAesGcmNonce(be, n);
    writeNonce(le, n);
    expect(toHex(be)).toBe("000000000000010203040506");
    expect(toHex(le)).toBe("000000000605040302010000");
    // Every byte of the 64-bit counter, up to the largest nonce a CipherState takes.
    for (const counter of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER - 1]) {
      const expected = new Uint8Array(12);
      new DataView(expected.buffer).setBigUint64(4, BigInt(counter));
      writeAesGcmNonce(be.fill(0xee), counter);
      expect(toHex(be), `counter ${counter}`).toBe(toHex(expected));
    }
  });

  for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
    it(`${cipher}: node:crypto and @noble seal the same bytes and open each other's, at large counters too`, () => {
      const seal = (p: CryptoProvider) => (cipher === "AESGCM" ? p.aesGcmSeal.bind(p) : p.seal.bind(p));
      const open = (p: CryptoProvider) => (cipher === "AESGCM" ? p.aesGcmOpen.bind(p) : p.open.bind(p));
      const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
      const ad = hex("00112233");
      for (const counter of [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER - 1]) {
        for (const size of [0, 1, 16, 1000]) {
          const plain = new Uint8Array(size).map((_, i) => (i * 31 + counter) & 0xff);
          const a = seal(nodeCryptoProvider)(key, counter, ad, plain);
          const b = seal(nobleCryptoProvider)(key, counter, ad, plain);
          expect(toHex(a), `counter ${counter}, ${size} bytes`).toBe(toHex(b));
          expect(a.byteLength).toBe(size + 16);
          expect(toHex(open(nobleCryptoProvider)(key, counter, ad, a)!)).toBe(toHex(plain));
          expect(toHex(open(nodeCryptoProvider)(key, counter, ad, b)!)).toBe(toHex(plain));
          expect(open(nodeCryptoProvider)(key, counter + 1, ad, a)).toBeNull();
          expect(open(nobleCryptoProvider)(key, counter + 1, ad, a)).toBeNull();
        }
      }
    });
  }

  it("the two ciphers give different bytes under the same key and counter", () => {
    const key = new Uint8Array(32).fill(9);
    const plain = new Uint8Array(32).fill(1);
    for (const p of [nodeCryptoProvider, nobleCryptoProvider]) {
      expect(toHex(p.aesGcmSeal(key, 0, new Uint8Array(0), plain))).not.toBe(toHex(p.seal(key, 0, new Uint8Array(0), plain)));
      expect(p.aesGcmOpen(key, 0, new Uint8Array(0), p.seal(key, 0, new Uint8Array(0), plain))).toBeNull();
    }
  });
});
