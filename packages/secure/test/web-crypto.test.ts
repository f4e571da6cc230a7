// The handshake's hashing and key agreement on WebCrypto (what a page's
// `crypto.subtle` gives; Node has the same API): the published Noise vectors
// byte for byte, a low-order key refused, and agreement with node:crypto.
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isXppgError } from "@xppg/errors";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { webCryptoHandshake } from "../src/crypto/web-crypto.js";
import { HandshakeState } from "../src/noise/handshake-state.js";

const web = webCryptoHandshake(webcrypto.subtle);
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const vector = JSON.parse(readFileSync(new URL("./fixtures/noise-xx-25519-chachapoly-sha256.json", import.meta.url), "utf8")) as {
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
};
/** Node's subtle with its own `exportKey`, as another browser's may behave. */
function subtleExporting(exportKey: (format: "raw" | "pkcs8" | "jwk", key: webcrypto.CryptoKey) => Promise<unknown>): Parameters<typeof webCryptoHandshake>[0] {
  const s = webcrypto.subtle;
  return { generateKey: s.generateKey.bind(s), importKey: s.importKey.bind(s), deriveBits: s.deriveBits.bind(s), digest: s.digest.bind(s), sign: s.sign.bind(s), verify: s.verify.bind(s), exportKey } as unknown as Parameters<typeof webCryptoHandshake>[0];
}
const keyPair = (secret: string) => ({ secretKey: hex(secret), publicKey: nodeCryptoProvider.x25519PublicKey(hex(secret)) });

describe("the handshake on WebCrypto", () => {
  it("reproduces the Noise_XX_25519_ChaChaPoly_SHA256 vector byte for byte", async () => {
    const mk = (initiator: boolean, prologue: string, s: string, e: string) =>
      new HandshakeState(nodeCryptoProvider, { initiator, prologue: hex(prologue), staticKeyPair: keyPair(s), ephemeralKeyPair: keyPair(e), crypto: web });
    const init = mk(true, vector.init_prologue, vector.init_static, vector.init_ephemeral);
    const resp = mk(false, vector.resp_prologue, vector.resp_static, vector.resp_ephemeral);
    for (const [i, m] of vector.messages.slice(0, 3).entries()) {
      const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
      const message = await writer.writeMessage(hex(m.payload));
      expect(toHex(message), `handshake message ${i}`).toBe(m.ciphertext);
      expect(toHex(await reader.readMessage(message))).toBe(m.payload);
    }
    const a = await init.split();
    const b = await resp.split();
    expect(toHex(a.handshakeHash)).toBe(vector.handshake_hash);
    expect(toHex(b.handshakeHash)).toBe(vector.handshake_hash);
    // Message 3 is the responder's first transport message.
    const transport = vector.messages[3]!;
    expect(toHex(b.send.encryptWithAd(new Uint8Array(0), hex(transport.payload)))).toBe(transport.ciphertext);
  });

  it("agrees with node:crypto on generated keys, SHA-256 and HMAC", async () => {
    const a = await web.x25519Generate();
    const b = nodeCryptoProvider.x25519Generate();
    expect(toHex(nodeCryptoProvider.x25519PublicKey(a.secretKey))).toBe(toHex(a.publicKey));
    expect(toHex(await web.x25519(a.secretKey, b.publicKey))).toBe(toHex(nodeCryptoProvider.x25519(b.secretKey, a.publicKey)));
    const data = hex("00010203");
    expect(toHex(await web.sha256(data))).toBe(toHex(nodeCryptoProvider.sha256(data)));
    expect(toHex(await web.hmacSha256(data, data))).toBe(toHex(nodeCryptoProvider.hmacSha256(data, data)));
  });

  it("refuses a low-order ephemeral key with XPPG_ERR_HANDSHAKE_FAILED", async () => {
    const responder = new HandshakeState(nodeCryptoProvider, { initiator: false, staticKeyPair: await web.x25519Generate(), crypto: web });
    await responder.readMessage(new Uint8Array(32));
    const error = await responder.writeMessage(new Uint8Array(0)).then(() => undefined, (err: unknown) => err);
    expect(isXppgError(error, "XPPG_ERR_HANDSHAKE_FAILED"), String(error)).toBe(true);
    expect((error as Error).message).toContain("low-order public key");
  });

  it("takes a generated secret key whatever its PKCS #8 layout (v2 carries the public key after it)", async () => {
    // Node's subtle, but its X25519 secret keys exported as PKCS #8 v2 (RFC 5958), as another browser may give them.
    const v2 = subtleExporting(async (format, key) => {
      if (format !== "pkcs8") return format === "jwk" ? webcrypto.subtle.exportKey("jwk", key) : webcrypto.subtle.exportKey(format, key);
      const secret = new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", key)).slice(-32);
      const prefix = [0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];
      return Uint8Array.from([...prefix, ...secret, 0x81, 0x21, 0x00, ...nodeCryptoProvider.x25519PublicKey(secret)]).buffer;
    });
    const a = await webCryptoHandshake(v2).x25519Generate();
    const b = nodeCryptoProvider.x25519Generate();
    expect(toHex(nodeCryptoProvider.x25519PublicKey(a.secretKey))).toBe(toHex(a.publicKey));
    expect(toHex(await web.x25519(a.secretKey, b.publicKey))).toBe(toHex(nodeCryptoProvider.x25519(b.secretKey, a.publicKey)));
  });

  it("refuses with XPPG_ERR_INVALID_KEY when WebCrypto gives no secret key it can read", async () => {
    // A private key exported with no secret it can read, in any format.
    const odd = subtleExporting(async (format, key) => (format === "raw" ? webcrypto.subtle.exportKey("raw", key) : format === "jwk" ? {} : new ArrayBuffer(40)));
    const error = await Promise.resolve(webCryptoHandshake(odd).x25519Generate()).then(() => undefined, (err: unknown) => err);
    expect(isXppgError(error, "XPPG_ERR_INVALID_KEY"), String(error)).toBe(true);
  });
});
