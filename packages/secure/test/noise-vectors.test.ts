// Replays the published cacophony vector for Noise_XX_25519_ChaChaPoly_SHA256
// (source named in the fixture) with both crypto providers, comparing every
// handshake message, the handshake hash and every transport message byte for byte.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { HandshakeState } from "../src/noise/handshake-state.js";

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

const vector = JSON.parse(readFileSync(new URL("./fixtures/noise-xx-25519-chachapoly-sha256.json", import.meta.url), "utf8")) as Vector;
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function keyPair(provider: CryptoProvider, secret: string) {
  const secretKey = hex(secret);
  return { secretKey, publicKey: provider.x25519PublicKey(secretKey) };
}

for (const provider of [nodeCryptoProvider, nobleCryptoProvider]) {
  describe(`Noise XX test vector (${provider.name} provider)`, () => {
    it("is the vector for the protocol this package speaks", () => {
      expect(vector.protocol_name).toBe("Noise_XX_25519_ChaChaPoly_SHA256");
      expect(vector.messages.length).toBe(6);
    });

    it("reproduces every handshake and transport message byte for byte", () => {
      const init = new HandshakeState(provider, {
        initiator: true,
        prologue: hex(vector.init_prologue),
        staticKeyPair: keyPair(provider, vector.init_static),
        ephemeralKeyPair: keyPair(provider, vector.init_ephemeral),
      });
      const resp = new HandshakeState(provider, {
        initiator: false,
        prologue: hex(vector.resp_prologue),
        staticKeyPair: keyPair(provider, vector.resp_static),
        ephemeralKeyPair: keyPair(provider, vector.resp_ephemeral),
      });
      const [m0, m1, m2, ...transport] = vector.messages;
      for (const [i, m] of [m0!, m1!, m2!].entries()) {
        const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
        const message = writer.writeMessage(hex(m.payload));
        expect(toHex(message), `handshake message ${i}`).toBe(m.ciphertext);
        expect(toHex(reader.readMessage(message)), `payload ${i}`).toBe(m.payload);
      }
      expect(init.complete && resp.complete).toBe(true);
      const a = init.split();
      const b = resp.split();
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

    it("refuses a transport message replayed or altered", () => {
      const mk = (initiator: boolean, s: string, e: string) =>
        new HandshakeState(provider, { initiator, staticKeyPair: keyPair(provider, s), ephemeralKeyPair: keyPair(provider, e) });
      const init = mk(true, vector.init_static, vector.init_ephemeral);
      const resp = mk(false, vector.resp_static, vector.resp_ephemeral);
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      init.readMessage(resp.writeMessage(new Uint8Array(0)));
      resp.readMessage(init.writeMessage(new Uint8Array(0)));
      const a = init.split();
      const b = resp.split();
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
