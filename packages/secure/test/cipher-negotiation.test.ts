// The cipher negotiated in the handshake (README, "Cipher negotiation"): an
// initiator that prefers AESGCM offers it in the top bit of its ephemeral
// key, a responder that takes it answers in its own; nobody else's choice
// (a node of the last release, which ignores the bit) changes.
import { memoryTransport } from "@xppg/transport";
import { Collector, within } from "@xppg/transport/compliance";
import { describe, expect, it } from "vitest";
import type { NoiseCipher } from "../src/constants.js";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { webCrypto } from "../src/crypto/web-crypto.js";
import { SECURE_ERROR_CODES, generateIdentity, type SecureConnection } from "../src/index.js";
import { HandshakeState } from "../src/noise/handshake-state.js";
import { secureConnectionWith, type SecureConnectionOptions } from "../src/record-secure-connection.js";
import { codeOf } from "./helpers.js";
import { needsSodium, sodiumProvider } from "./sodium.js";

/** The Node entry's provider: libsodium's where it loaded, node:crypto's otherwise (the negotiation is the same on both). */
const nodeSide: CryptoProvider = sodiumProvider ?? nodeCryptoProvider;
const providers: CryptoProvider[] = [nodeCryptoProvider, ...(needsSodium("the libsodium provider's negotiation") ? [sodiumProvider!] : []), nobleCryptoProvider];
/** An initiator that offers AESGCM, as a page's provider does. */
const offering: CryptoProvider = { ...nobleCryptoProvider, offersAesGcm: true };

/** Runs the three XX messages (empty payloads) between two handshake states; returns the offer bits of messages 1 and 2 as sent. */
async function offerBitsOfXX(i: HandshakeState, r: HandshakeState): Promise<[number, number]> {
  const m1 = await i.writeMessage(new Uint8Array(0));
  await r.readMessage(m1);
  const m2 = await r.writeMessage(new Uint8Array(0));
  const bits: [number, number] = [m1[31]! & 0x80, m2[31]! & 0x80];
  await i.readMessage(m2);
  await r.readMessage(await i.writeMessage(new Uint8Array(0)));
  return bits;
}

/** Runs secureConnectionWith on both ends of a memory pair and exchanges one frame each way. */
async function talk(dialer: CryptoProvider, listener: CryptoProvider, dialerOptions: Partial<SecureConnectionOptions> = {}, listenerOptions: Partial<SecureConnectionOptions> = {}): Promise<[SecureConnection, SecureConnection]> {
  const t = memoryTransport();
  let accepted!: Promise<SecureConnection>;
  const l = await t.listen("memory://", (c) => {
    accepted = secureConnectionWith(listener, c, { identity: generateIdentity(), ...listenerOptions });
    accepted.catch(() => {}); // observed below, unless the dialler failed first
  });
  try {
    const client = await secureConnectionWith(dialer, await t.dial(l.address), { identity: generateIdentity(), ...dialerOptions });
    const server = await within(accepted, "the listener's handshake");
    const atServer = new Collector(server);
    const atClient = new Collector(client);
    await client.send(Uint8Array.of(1, 2, 3));
    await server.send(Uint8Array.of(4, 5));
    await Promise.all([atServer.waitFor(1), atClient.waitFor(1)]);
    expect(Array.from(atServer.frames[0]!)).toEqual([1, 2, 3]);
    expect(Array.from(atClient.frames[0]!)).toEqual([4, 5]);
    await client.close();
    await server.closed;
    return [client, server];
  } finally {
    await l.close();
  }
}

describe("cipher negotiation", () => {
  for (const provider of providers) {
    it(`${provider.name}: X25519 ignores the top bit of the peer's key (what a node of the last release relies on when offered)`, () => {
      const a = provider.x25519Generate();
      const b = provider.x25519Generate();
      const flagged = b.publicKey.slice();
      flagged[31] = flagged[31]! | 0x80;
      expect(b.publicKey[31]! & 0x80).toBe(0);
      expect(Array.from(provider.x25519(a.secretKey, flagged))).toEqual(Array.from(provider.x25519(a.secretKey, b.publicKey)));
    });

    it(`an offering initiator and a ${provider.name} responder with no cipher set run AESGCM`, async () => {
      const [client, server] = await talk(offering, provider);
      expect([client.cipher, server.cipher]).toEqual(["AESGCM", "AESGCM"]);
    });

    it(`an offering initiator and a ${provider.name} responder that speaks only ChaChaPoly (as a node of the last release) run ChaChaPoly`, async () => {
      const [client, server] = await talk(offering, provider, {}, { cipher: "ChaChaPoly" });
      expect([client.cipher, server.cipher]).toEqual(["ChaChaPoly", "ChaChaPoly"]);
    });
  }

  it("WebCrypto's X25519 (Node's) ignores the top bit of the peer's key too", async () => {
    const web = webCrypto(globalThis.crypto.subtle);
    const a = await web.x25519Generate();
    const b = await web.x25519Generate();
    const flagged = b.publicKey.slice();
    flagged[31] = flagged[31]! | 0x80;
    expect(Array.from(await web.x25519(a.secretKey, flagged))).toEqual(Array.from(await web.x25519(a.secretKey, b.publicKey)));
  });

  it("the key agreement gets the peer's ephemeral key with the offer bit cleared (an engine that refused the bit still agrees), while the key is hashed as sent", async () => {
    const strict = {
      ...nodeSide,
      x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
        if ((publicKey[31]! & 0x80) !== 0) throw new Error("a public key with bit 255 set");
        return nodeSide.x25519(secretKey, publicKey);
      },
    };
    const i = new HandshakeState(nodeSide, { initiator: true, staticKeyPair: nodeSide.x25519Generate(), negotiate: true, crypto: strict });
    const r = new HandshakeState(nodeSide, { initiator: false, staticKeyPair: nodeSide.x25519Generate(), negotiate: true, crypto: strict });
    expect(await offerBitsOfXX(i, r)).toEqual([0x80, 0x80]);
    expect([i.cipher, r.cipher]).toEqual(["AESGCM", "AESGCM"]);
    expect(Buffer.from(i.handshakeHash).equals(Buffer.from(r.handshakeHash))).toBe(true);
  });

  it("between two Node sides with no cipher set: ChaChaPoly, and neither ephemeral key carries the bit (the wire is unchanged)", async () => {
    const [client, server] = await talk(nodeSide, nodeCryptoProvider);
    expect([client.cipher, server.cipher]).toEqual(["ChaChaPoly", "ChaChaPoly"]);
    const i = new HandshakeState(nodeSide, { initiator: true, staticKeyPair: nodeSide.x25519Generate() });
    const r = new HandshakeState(nodeSide, { initiator: false, staticKeyPair: nodeSide.x25519Generate(), negotiate: true });
    const m1 = await i.writeMessage(new Uint8Array(0));
    await r.readMessage(m1);
    const m2 = await r.writeMessage(new Uint8Array(0));
    expect([m1[31]! & 0x80, m2[31]! & 0x80]).toEqual([0, 0]);
    await i.readMessage(m2);
    expect(i.protocolName).toBe("Noise_XX_25519_ChaChaPoly_SHA256");
  });

  it("loads the chosen cipher's code through prepare, and only that one", async () => {
    const asked: NoiseCipher[] = [];
    const counting: CryptoProvider = { ...offering, prepare: (c) => (asked.push(c), undefined) };
    await talk(counting, nodeCryptoProvider, {}, { cipher: "ChaChaPoly" });
    await talk(counting, nodeCryptoProvider);
    expect(asked).toEqual(["ChaChaPoly", "AESGCM"]);
  });

  /** A negotiating initiator and responder, message 1 and 2 passed through `onPath`. */
  async function tampered(onPath: (message: Uint8Array, index: number) => void, responderNegotiates = true): Promise<string> {
    const i = new HandshakeState(nodeSide, { initiator: true, staticKeyPair: nodeSide.x25519Generate(), negotiate: true });
    const r = new HandshakeState(nodeSide, { initiator: false, staticKeyPair: nodeSide.x25519Generate(), negotiate: responderNegotiates });
    const m1 = await i.writeMessage(new Uint8Array(0));
    onPath(m1, 1);
    await r.readMessage(m1);
    const m2 = await r.writeMessage(new Uint8Array(0));
    onPath(m2, 2);
    return codeOf(i.readMessage(m2));
  }

  it("fails, and runs no other suite, when the path clears the offer or flips the answer: no downgrade", async () => {
    expect(await tampered((m, n) => n === 1 && (m[31] = m[31]! & 0x7f))).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
    expect(await tampered((m, n) => n === 2 && (m[31] = m[31]! & 0x7f))).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
    // A responder that answers ChaChaPoly, its answer turned into AESGCM on the path.
    expect(await tampered((m, n) => n === 2 && (m[31] = m[31]! | 0x80), false)).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
  });

  it("refuses, with a typed error, an answer of AESGCM to an initiator that did not offer it", async () => {
    const i = new HandshakeState(nodeSide, { initiator: true, staticKeyPair: nodeSide.x25519Generate() });
    const r = new HandshakeState(nodeSide, { initiator: false, staticKeyPair: nodeSide.x25519Generate(), cipher: "AESGCM" });
    const m1 = await i.writeMessage(new Uint8Array(0));
    m1[31] = m1[31]! | 0x80; // the responder is made to believe it was offered
    await r.readMessage(m1);
    const m2 = await r.writeMessage(new Uint8Array(0));
    const error = await i.readMessage(m2).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(error?.code).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
    expect(error?.message).toContain("did not make");
  });

  it("a cipher set on both sides is run as before, offer or not", async () => {
    const [client, server] = await talk(offering, nodeCryptoProvider, { cipher: "ChaChaPoly" }, { cipher: "AESGCM" }).then(
      () => [undefined, undefined],
      (e: { code?: string }) => [e.code, undefined],
    );
    expect(client).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
    expect(server).toBeUndefined();
    const [a, b] = await talk(offering, nodeCryptoProvider, { cipher: "AESGCM" }, { cipher: "AESGCM" });
    expect([a.cipher, b.cipher]).toEqual(["AESGCM", "AESGCM"]);
  });

  it("a responder with cipher AESGCM set that is really offered it runs AESGCM and answers the offer", async () => {
    // The initiator sets no cipher: it offers (the case above sets one on both sides, so nobody offers).
    const [a, b] = await talk(offering, nodeCryptoProvider, {}, { cipher: "AESGCM" });
    expect([a.cipher, b.cipher]).toEqual(["AESGCM", "AESGCM"]);
    const i = new HandshakeState(nodeSide, { initiator: true, staticKeyPair: nodeSide.x25519Generate(), negotiate: true });
    const r = new HandshakeState(nodeSide, { initiator: false, staticKeyPair: nodeSide.x25519Generate(), cipher: "AESGCM" });
    expect(await offerBitsOfXX(i, r)).toEqual([0x80, 0x80]);
    expect([i.cipher, r.cipher]).toEqual(["AESGCM", "AESGCM"]);
  });

  it("a negotiating initiator's message 1 payload reaches a negotiating responder and is hashed alike on both sides", async () => {
    for (const responderCipher of ["AESGCM", "ChaChaPoly"] as const) {
      const i = new HandshakeState(nodeSide, { initiator: true, staticKeyPair: nodeSide.x25519Generate(), negotiate: true });
      const r = new HandshakeState(nodeSide, { initiator: false, staticKeyPair: nodeSide.x25519Generate(), negotiate: true, cipher: responderCipher });
      const m1 = await i.writeMessage(Uint8Array.of(1, 2, 3));
      expect(m1.byteLength).toBe(35);
      expect(Array.from(await r.readMessage(m1))).toEqual([1, 2, 3]);
      expect(Array.from(await i.readMessage(await r.writeMessage(Uint8Array.of(4))))).toEqual([4]);
      expect(Array.from(await r.readMessage(await i.writeMessage(Uint8Array.of(5))))).toEqual([5]);
      // Offered: the responder takes AESGCM whatever cipher it would run unoffered.
      expect([i.cipher, r.cipher]).toEqual(["AESGCM", "AESGCM"]);
      expect(Buffer.from(i.handshakeHash).equals(Buffer.from(r.handshakeHash))).toBe(true);
    }
  });

  it("a cipher's code that fails to load fails the handshake with a typed error and closes the connection; a later handshake whose load succeeds runs", async () => {
    const t = memoryTransport();
    const l = await t.listen("memory://", (c) => void secureConnectionWith(nodeCryptoProvider, c, { identity: generateIdentity() }).catch(() => {}));
    try {
      const failing: CryptoProvider = { ...offering, prepare: () => Promise.reject(new Error("injected: the chunk could not be fetched")) };
      const raw = await t.dial(l.address);
      const error = await secureConnectionWith(failing, raw, { identity: generateIdentity() }).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      expect(error?.code).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
      expect(error?.message).toContain("could not be loaded");
      expect((await raw.closed).error?.code).toBe(SECURE_ERROR_CODES.HANDSHAKE_FAILED);
    } finally {
      await l.close();
    }
    // Loading again (a new import, or a reload of the page) succeeds: the same process connects.
    const [a, b] = await talk({ ...offering, prepare: () => Promise.resolve() }, nodeCryptoProvider);
    expect([a.cipher, b.cipher]).toEqual(["AESGCM", "AESGCM"]);
  });
});
