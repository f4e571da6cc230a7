// The public HandshakeState with `negotiate: true`: the size limit holds for
// a negotiating initiator's first message too, and a provider whose ciphers
// load on demand (noble's AES-GCM) is prepared without being told. Its own
// file: no other test has loaded noble's AES-GCM in this module graph.
import { describe, expect, it } from "vitest";
import { NOISE_MAX_MESSAGE_SIZE } from "../src/constants.js";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { HandshakeState } from "../src/noise/handshake-state.js";

describe("HandshakeState with negotiate", () => {
  it("refuses a message 1 payload that would make the message over the Noise limit", async () => {
    const i = new HandshakeState(nobleCryptoProvider, { initiator: true, staticKeyPair: nobleCryptoProvider.x25519Generate(), negotiate: true });
    await expect(i.writeMessage(new Uint8Array(NOISE_MAX_MESSAGE_SIZE))).rejects.toThrow(RangeError);
    // The largest that fits: its 32-byte key and the payload.
    const j = new HandshakeState(nobleCryptoProvider, { initiator: true, staticKeyPair: nobleCryptoProvider.x25519Generate(), negotiate: true });
    expect((await j.writeMessage(new Uint8Array(NOISE_MAX_MESSAGE_SIZE - 32))).byteLength).toBe(NOISE_MAX_MESSAGE_SIZE);
  });

  it("on noble, loads AES-GCM through the provider's prepare when none is given, and completes AESGCM", async () => {
    const i = new HandshakeState(nobleCryptoProvider, { initiator: true, staticKeyPair: nobleCryptoProvider.x25519Generate(), negotiate: true });
    const r = new HandshakeState(nobleCryptoProvider, { initiator: false, staticKeyPair: nobleCryptoProvider.x25519Generate(), negotiate: true });
    await r.readMessage(await i.writeMessage(new Uint8Array(0)));
    await i.readMessage(await r.writeMessage(Uint8Array.of(2)));
    await r.readMessage(await i.writeMessage(Uint8Array.of(3)));
    expect([i.cipher, r.cipher]).toEqual(["AESGCM", "AESGCM"]);
    const [a, b] = await Promise.all([i.split(), r.split()]);
    const sealed = a.send.encryptWithAd(new Uint8Array(0), Uint8Array.of(9));
    expect(Array.from(b.receive.decryptWithAd(new Uint8Array(0), sealed)!)).toEqual([9]);
  });
});
