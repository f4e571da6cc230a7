// The Node entry's provider choice: libsodium (sodium-native, optional)
// for records when it loads, node:crypto otherwise; both speak the same
// bytes, so either side may use either over real TCP.
import { tcpTransport } from "@xppg/transport-tcp";
import { Collector, patterned, sameBytes, within } from "@xppg/transport/compliance";
import { memoryTransport, type Connection } from "@xppg/transport";
import { afterEach, describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { loadSodiumAead } from "../src/crypto/sodium-loader.js";
import { sodiumCryptoProvider } from "../src/crypto/sodium-provider.js";
import { cryptoProvider, cryptoProviderName, generateIdentity } from "../src/index.js";
import type { SecureConnection } from "../src/secure-channel.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { needsSodium, sodiumAead } from "./sodium.js";

const savedEnv = process.env["XPPG_CRYPTO_PROVIDER"];
const EMPTY = new Uint8Array(0);
const withSodium = needsSodium("the libsodium provider's tests");
afterEach(() => {
  if (savedEnv === undefined) delete process.env["XPPG_CRYPTO_PROVIDER"];
  else process.env["XPPG_CRYPTO_PROVIDER"] = savedEnv;
});

describe("the Node entry's crypto provider", () => {
  it.runIf(withSodium)("is libsodium where sodium-native is installed (as in this repository), and says so", () => {
    expect(cryptoProviderName).toBe("sodium");
    expect(cryptoProvider.name).toBe("sodium");
    expect(typeof cryptoProvider.sealInto).toBe("function");
  });

  it.runIf(withSodium)("opens the pinned prebuilt binary straight, found in the nearest node_modules, with its key operations", () => {
    const aead = sodiumAead!;
    expect(aead.via).toBe("prebuilt");
    expect(aead.keys).not.toBeNull();
  });

  it("is node:crypto when XPPG_CRYPTO_PROVIDER=node", () => {
    process.env["XPPG_CRYPTO_PROVIDER"] = "node";
    expect(loadSodiumAead()).toBeNull();
    delete process.env["XPPG_CRYPTO_PROVIDER"];
    // Unset, it loads libsodium again (where it loaded for this run).
    if (withSodium) expect(loadSodiumAead()).not.toBeNull();
  });

  it.runIf(withSodium)("seals what node:crypto seals and refuses a record node:crypto would refuse", () => {
    const sodium = sodiumCryptoProvider(sodiumAead!);
    const key = new Uint8Array(32).map((_, i) => i * 3 + 5);
    for (const size of [0, 1, 100, 65_516]) {
      const plain = patterned(size, size);
      const counter = 2 ** 40 + size;
      const sealed = nodeCryptoProvider.seal(key, counter, new Uint8Array(0), plain);
      const buf = plain.slice();
      const tag = new Uint8Array(16);
      sodium.sealInto!("ChaChaPoly", key, counter, buf, buf, tag);
      expect(sameBytes(buf, sealed.subarray(0, size)) && sameBytes(tag, sealed.subarray(size)), `size ${size}`).toBe(true);
      expect(sameBytes(sodium.open(key, counter, new Uint8Array(0), sealed)!, plain)).toBe(true);
      const flipped = sealed.slice();
      flipped[flipped.length - 1]! ^= 1;
      expect(sodium.open(key, counter, new Uint8Array(0), flipped)).toBeNull();
      expect(sodium.open(key, counter + 1, new Uint8Array(0), sealed)).toBeNull();
    }
  });

  it.runIf(withSodium)("seals and opens a handshake message (associated data) as node:crypto does, and refuses other associated data", () => {
    const sodium = sodiumCryptoProvider(sodiumAead!);
    const key = new Uint8Array(32).map((_, i) => i * 7 + 1);
    const hash = patterned(32, 9);
    for (const size of [0, 48, 97, 1000]) {
      const plain = patterned(size, size + 1);
      const sealed = sodium.seal(key, size, hash, plain);
      expect(sameBytes(sealed, nodeCryptoProvider.seal(key, size, hash, plain)), `size ${size}`).toBe(true);
      expect(sameBytes(nodeCryptoProvider.open(key, size, hash, sealed)!, plain)).toBe(true);
      expect(sameBytes(sodium.open(key, size, hash, sealed)!, plain)).toBe(true);
      const otherHash = hash.slice();
      otherHash[0]! ^= 1;
      expect(sodium.open(key, size, otherHash, sealed)).toBeNull();
      expect(sodium.open(key, size, new Uint8Array(0), sealed)).toBeNull();
    }
  });

  it.runIf(withSodium)("derives, signs, agrees, hashes and MACs on libsodium the bytes node:crypto gives, and verifies on node:crypto", () => {
    const aead = sodiumAead!;
    expect(aead.keys).toBeTruthy();
    const sodium = sodiumCryptoProvider(aead);
    expect(sodium.ed25519Signer).not.toBe(nodeCryptoProvider.ed25519Signer);
    expect(sodium.ed25519Verify).toBe(nodeCryptoProvider.ed25519Verify);
    for (let i = 0; i < 20; i++) {
      const seed = nodeCryptoProvider.randomBytes(32);
      const data = patterned(i * 37, i);
      const [a, b] = [sodium.ed25519Signer(seed), nodeCryptoProvider.ed25519Signer(seed)];
      expect(sameBytes(a.publicKey, b.publicKey) && sameBytes(a.sign(data), b.sign(data))).toBe(true);
      const mine = sodium.x25519Generate();
      const theirs = nodeCryptoProvider.x25519Generate();
      expect(sameBytes(mine.publicKey, nodeCryptoProvider.x25519PublicKey(mine.secretKey))).toBe(true);
      expect(sameBytes(sodium.x25519(mine.secretKey, theirs.publicKey), nodeCryptoProvider.x25519(theirs.secretKey, mine.publicKey))).toBe(true);
      expect(sameBytes(sodium.sha256(data), nodeCryptoProvider.sha256(data))).toBe(true);
      const key = patterned(i * 13, i + 3); // 0 to 247 bytes: shorter and longer than the 64-byte block
      expect(sameBytes(sodium.hmacSha256(key, data), nodeCryptoProvider.hmacSha256(key, data)), `hmac ${i}`).toBe(true);
    }
    // The edges of HMAC's key handling: exactly one 64-byte block (used as it is) and one byte more (hashed first).
    for (const size of [0, 32, 63, 64, 65, 128]) {
      const key = patterned(size, size + 1);
      const data = patterned(100, size);
      expect(sameBytes(sodium.hmacSha256(key, data), nodeCryptoProvider.hmacSha256(key, data)), `hmac key of ${size} bytes`).toBe(true);
    }
    // A low-order public key (all zeros) gives an all-zero secret: refused, as node:crypto refuses it.
    expect(() => sodium.x25519(sodium.x25519Generate().secretKey, new Uint8Array(32))).toThrow();
    expect(() => nodeCryptoProvider.x25519(nodeCryptoProvider.x25519Generate().secretKey, new Uint8Array(32))).toThrow();
    expect(() => sodium.ed25519Signer(new Uint8Array(31))).toThrow(RangeError);
    expect(() => sodium.x25519(new Uint8Array(32), new Uint8Array(33))).toThrow(RangeError);
  });

  it.runIf(withSodium)("seals a record in one piece (an empty tag: ciphertext then tag) as node:crypto does, in place or not, and opens only what authenticates", () => {
    expect(sodiumCryptoProvider(sodiumAead!).wholeRecords).toBe(true);
    const sodium = sodiumCryptoProvider(sodiumAead!);
    const key = new Uint8Array(32).map((_, i) => i * 5 + 2);
    for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
      const sealWith = cipher === "AESGCM" ? nodeCryptoProvider.aesGcmSeal : nodeCryptoProvider.seal;
      for (const size of [0, 1, 100, 4096, 65_519]) {
        const plain = patterned(size, size + 7);
        const counter = 2 ** 33 + size;
        const sealed = sealWith(key, counter, new Uint8Array(0), plain);
        // In place: the plaintext is the record's first bytes, at an odd offset in a larger buffer.
        const memory = new Uint8Array(size + 16 + 3);
        const record = memory.subarray(3, 3 + size + 16);
        const body = record.subarray(0, size);
        body.set(plain);
        sodium.sealInto!(cipher, key, counter, body, record, EMPTY);
        expect(sameBytes(record, sealed), `${cipher} ${size} in place`).toBe(true);
        // From elsewhere into the record.
        const other = new Uint8Array(size + 16);
        sodium.sealInto!(cipher, key, counter, plain, other, EMPTY);
        expect(sameBytes(other, sealed), `${cipher} ${size}`).toBe(true);
        const out = new Uint8Array(size);
        expect(sodium.openInto!(cipher, key, counter, sealed, EMPTY, out) && sameBytes(out, plain)).toBe(true);
        expect(sodium.openInto!(cipher, key, counter, record, EMPTY, body) && sameBytes(body, plain), `${cipher} ${size} opened in place`).toBe(true);
        expect(sodium.openInto!(cipher, key, counter + 1, sealed, EMPTY, out), "another nonce").toBe(false);
        for (const at of [0, size, size + 15]) {
          if (at >= sealed.byteLength) continue;
          const flipped = sealed.slice();
          flipped[at]! ^= 0x40;
          expect(sodium.openInto!(cipher, key, counter, flipped, EMPTY, new Uint8Array(size)), `${cipher} ${size}, bit flipped at ${at}`).toBe(false);
        }
      }
    }
  });

  it.runIf(withSodium)("refuses keys, tags and outputs of the wrong size before calling into libsodium", () => {
    const sodium = sodiumCryptoProvider(sodiumAead!);
    const buf = new Uint8Array(8);
    expect(() => sodium.sealInto!("ChaChaPoly", new Uint8Array(16), 0, buf, buf, new Uint8Array(16))).toThrow(RangeError);
    expect(() => sodium.sealInto!("ChaChaPoly", new Uint8Array(32), 0, buf, new Uint8Array(4), new Uint8Array(16))).toThrow(RangeError);
    expect(() => sodium.openInto!("ChaChaPoly", new Uint8Array(32), 0, buf, new Uint8Array(8), buf)).toThrow(RangeError);
    // A record in one piece (an empty tag): the record must be 16 bytes longer than the plaintext.
    expect(() => sodium.sealInto!("ChaChaPoly", new Uint8Array(31), 0, buf, new Uint8Array(24), EMPTY)).toThrow(RangeError);
    expect(() => sodium.sealInto!("ChaChaPoly", new Uint8Array(32), 0, buf, new Uint8Array(23), EMPTY)).toThrow(RangeError);
    expect(() => sodium.openInto!("ChaChaPoly", new Uint8Array(32), 0, new Uint8Array(24), EMPTY, new Uint8Array(9))).toThrow(RangeError);
    expect(() => sodium.openInto!("AESGCM", new Uint8Array(32), 0, new Uint8Array(24), EMPTY, new Uint8Array(7))).toThrow(RangeError);
  });

  it.runIf(withSodium)("refuses a record's plaintext that lies in the record's memory at another offset than its first byte, and takes it at the first byte, beside it or apart", () => {
    const sodium = sodiumCryptoProvider(sodiumAead!);
    const key = new Uint8Array(32).fill(9);
    const memory = new Uint8Array(96);
    const record = memory.subarray(8, 48);
    for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
      // 24 bytes overlapping the record's 40, shifted either way.
      for (const from of [0, 9, 20, 32]) {
        const shifted = memory.subarray(from, from + 24);
        expect(() => sodium.sealInto!(cipher, key, 0, shifted, record, EMPTY), `${cipher} seal from ${from}`).toThrow(/overlaps its record/);
        expect(() => sodium.openInto!(cipher, key, 0, record, EMPTY, shifted), `${cipher} open into ${from}`).toThrow(/overlaps its record/);
      }
      // At the record's first byte (in place), just after it, and in memory of its own: sealed and opened.
      for (const plain of [memory.subarray(8, 32), memory.subarray(48, 72), new Uint8Array(24)]) {
        plain.set(patterned(24, 7));
        sodium.sealInto!(cipher, key, 1, plain, record, EMPTY);
        // (In place the plaintext's bytes are now the ciphertext's.)
        if (plain.buffer !== record.buffer || plain.byteOffset !== record.byteOffset) plain.fill(0);
        expect(sodium.openInto!(cipher, key, 1, record, EMPTY, plain), `${cipher} at ${plain.byteOffset}`).toBe(true);
        expect(sameBytes(plain, patterned(24, 7))).toBe(true);
      }
      // An empty plaintext overlaps nothing, wherever it lies in the record's memory.
      const tagOnly = memory.subarray(8, 24);
      sodium.sealInto!(cipher, key, 2, memory.subarray(12, 12), tagOnly, EMPTY);
      expect(sodium.openInto!(cipher, key, 2, tagOnly, EMPTY, memory.subarray(12, 12))).toBe(true);
    }
  });

  it.runIf(withSodium)("a provider spread from it with sealInto and openInto of its own is not taken to seal records in one piece", async () => {
    const sodium = sodiumCryptoProvider(sodiumAead!);
    const emptyTags: string[] = [];
    // sealInto/openInto that take only the detached form (a 16-byte tag), as a provider written before records in one piece.
    const detachedOnly: CryptoProvider = {
      ...sodium,
      sealInto(cipher, key, counter, plaintext, out, tag) {
        if (tag.byteLength !== 16) emptyTags.push("sealInto");
        sodium.sealInto!(cipher, key, counter, plaintext, out, tag);
      },
      openInto(cipher, key, counter, ciphertext, tag, out) {
        if (tag.byteLength !== 16) emptyTags.push("openInto");
        return sodium.openInto!(cipher, key, counter, ciphertext, tag, out);
      },
    };
    expect(detachedOnly.wholeRecords).toBeUndefined();
    const t = memoryTransport();
    let accepted!: Promise<SecureConnection>;
    const listener = await t.listen("memory://", (c) => {
      accepted = secureConnectionWith(detachedOnly, c, { identity: generateIdentity() });
    });
    try {
      const client = await secureConnectionWith(detachedOnly, await t.dial(listener.address), { identity: generateIdentity() });
      const server = await within(accepted, "the server's handshake");
      const at = new Collector(server);
      const frames = [patterned(10, 1), patterned(1000, 2), patterned(0, 3)];
      await Promise.all(frames.map((f) => client.send(f)));
      await at.waitFor(frames.length);
      frames.forEach((f, i) => expect(sameBytes(at.frames[i]!, f), `frame ${i}`).toBe(true));
      expect(emptyTags).toEqual([]);
      await client.close();
    } finally {
      await listener.close();
    }
  });
});

describe.runIf(withSodium)("libsodium and node:crypto sides over real TCP", () => {
  const sodium = sodiumAead && sodiumCryptoProvider(sodiumAead);
  const pairs: Array<[CryptoProvider, CryptoProvider]> = sodium === null ? [] : [
    [sodium, nodeCryptoProvider],
    [nodeCryptoProvider, sodium],
    [sodium, sodium],
  ];
  for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
    for (const [dialer, listener] of pairs) {
      it(`${cipher}: a ${dialer.name} dialler and a ${listener.name} listener exchange small and 64 KiB frames both ways`, async () => {
        const t = tcpTransport();
        let accepted!: Promise<SecureConnection>;
        const l = await t.listen("tcp://127.0.0.1:0", (c: Connection) => {
          accepted = secureConnectionWith(listener, c, { identity: generateIdentity(), cipher });
        });
        try {
          const client = await secureConnectionWith(dialer, await t.dial(l.address), { identity: generateIdentity(), cipher });
          const server = await within(accepted, "the server's handshake");
          const atServer = new Collector(server);
          const atClient = new Collector(client);
          const frames = [patterned(100, 1), patterned(65_536, 2), patterned(3, 3), patterned(65_536, 4), patterned(300_000, 5), patterned(0, 6)];
          await Promise.all([...frames.map((f) => client.send(f)), ...frames.map((f) => server.send(f))]);
          await atServer.waitFor(frames.length);
          await atClient.waitFor(frames.length);
          frames.forEach((f, i) => {
            expect(sameBytes(atServer.frames[i]!, f), `to the server, frame ${i}`).toBe(true);
            expect(sameBytes(atClient.frames[i]!, f), `to the client, frame ${i}`).toBe(true);
          });
          await client.close();
          await server.closed;
        } finally {
          await l.close();
        }
      });
    }
  }
});

describe("the record layer with an in-place provider", () => {
  /** `conn`, counting the frames its user hands to send and to sendParts. */
  function counted(conn: Connection): { conn: Connection; calls: { send: number; sendParts: number } } {
    const calls = { send: 0, sendParts: 0 };
    const proxy = new Proxy(conn, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== "function") return value;
        const fn = (value as (...a: unknown[]) => unknown).bind(target);
        if (key === "send" || key === "sendParts") {
          return (...a: unknown[]) => {
            calls[key]++;
            return fn(...a);
          };
        }
        return fn;
      },
    });
    return { conn: proxy, calls };
  }

  for (const provider of [...(withSodium ? [sodiumCryptoProvider(sodiumAead!)] : []), nodeCryptoProvider]) {
    const how = provider.sealInto
      ? "records of every size sealed where they lie and sent with send (copied): no buffer per record"
      : "records sent unjoined with sendParts";
    it(`${provider.name}: ${how}, and arrive intact`, async () => {
      const t = memoryTransport();
      let accepted!: Promise<SecureConnection>;
      const l = await t.listen("memory://", (c) => {
        accepted = secureConnectionWith(provider, c, { identity: generateIdentity() });
      });
      try {
        const { conn, calls } = counted(await t.dial(l.address));
        const client = await secureConnectionWith(provider, conn, { identity: generateIdentity() });
        const server = await within(accepted, "the server's handshake");
        const at = new Collector(server);
        const before = { ...calls };
        const frames = [patterned(100, 1), patterned(200_000, 2), patterned(7, 3)];
        for (const f of frames) await client.send(f);
        await at.waitFor(frames.length);
        frames.forEach((f, i) => expect(sameBytes(at.frames[i]!, f), `frame ${i}`).toBe(true));
        const viaSend = calls.send - before.send;
        const viaParts = calls.sendParts - before.sendParts;
        // The 100 B frame, 200,004 bytes (a head record and three full ones) and the 7 B frame: all sealed in place.
        if (provider.sealInto) expect([viaSend >= 5, viaParts]).toEqual([true, 0]);
        else expect([viaParts >= 4, viaSend]).toEqual([true, 0]);
        await client.close();
      } finally {
        await l.close();
      }
    });
  }
});
