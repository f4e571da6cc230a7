import { FRAME_RELEASED, memoryTransport, type Connection, type FrameSink } from "@xppg/transport";
import { Collector, patterned, sameBytes, within } from "@xppg/transport/compliance";
import { beforeAll, describe, expect, it } from "vitest";
import { loadNobleAesGcm, nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { isXppgError } from "@xppg/errors";
import { CipherState } from "../src/noise/cipher-state.js";
import { HandshakeState } from "../src/noise/handshake-state.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { cryptoProvider, cryptoProviderName, generateIdentity } from "../src/index.js";
import { plaintextOf, rawHandshake } from "./helpers.js";

// noble's AES-GCM is loaded on first use (browsers download it only then); these tests call it directly.
beforeAll(() => loadNobleAesGcm());

const EMPTY = new Uint8Array(0);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** `conn` as a JavaScript user's own Connection from before `sendParts` existed. */
function withoutSendParts(conn: Connection): Connection {
  return new Proxy(conn, {
    get(target, key) {
      if (key === "sendParts") return undefined;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("the record layer", () => {
  it("runs over a connection that has no sendParts (records are joined and sent whole)", async () => {
    const t = memoryTransport();
    let accepted!: Promise<Connection>;
    const listener = await t.listen("memory://", (c) => {
      accepted = secureConnectionWith(nodeCryptoProvider, withoutSendParts(c), { identity: generateIdentity() });
    });
    try {
      const client = await secureConnectionWith(nodeCryptoProvider, withoutSendParts(await t.dial(listener.address)), { identity: generateIdentity() });
      const server = await within(accepted, "the server's handshake");
      const at = new Collector(server);
      const frames = [patterned(10, 1), patterned(200_000, 2), patterned(0, 3)];
      await Promise.all(frames.map((f) => client.send(f)));
      await at.waitFor(frames.length);
      frames.forEach((f, i) => expect(sameBytes(at.frames[i]!, f), `frame ${i}`).toBe(true));
      await client.close();
    } finally {
      await listener.close();
    }
  });

  for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
    it(`${cipher}: a provider without sealParts seals records whole and splits them, the same bytes`, () => {
      const { sealParts: _unused, ...rest } = nodeCryptoProvider;
      const plain: CryptoProvider = rest;
      const key = new Uint8Array(32).fill(5);
      const a = new CipherState(nodeCryptoProvider, key, cipher);
      const b = new CipherState(plain, key, cipher);
      for (const size of [0, 1, 1000]) {
        const msg = patterned(size, size + 1);
        const [bodyA, tagA] = a.encryptParts(msg);
        const [bodyB, tagB] = b.encryptParts(msg);
        expect(tagB.byteLength).toBe(16);
        expect(hex(bodyB) + hex(tagB)).toBe(hex(bodyA) + hex(tagA));
      }
    });
  }

  it("node:crypto notices a key array overwritten in place (no stale cached key)", () => {
    for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
      const seal = (p: CryptoProvider, key: Uint8Array) => (cipher === "AESGCM" ? p.aesGcmSeal(key, 0, EMPTY, patterned(64, 9)) : p.seal(key, 0, EMPTY, patterned(64, 9)));
      const key = new Uint8Array(32).fill(1);
      const first = seal(nodeCryptoProvider, key);
      key.fill(2);
      const second = seal(nodeCryptoProvider, key);
      expect(hex(second), cipher).not.toBe(hex(first));
      expect(hex(second), cipher).toBe(hex(seal(nobleCryptoProvider, new Uint8Array(32).fill(2))));
      expect(nodeCryptoProvider.open(key, 0, EMPTY, new Uint8Array(16)) ?? null).toBeNull();
    }
  });
});

describe("a low-order ephemeral key in message 1", () => {
  for (const provider of [nodeCryptoProvider, nobleCryptoProvider, cryptoProvider]) {
    it(`is refused as XPPG_ERR_HANDSHAKE_FAILED naming the reason (${provider.name})`, async () => {
      const responder = new HandshakeState(provider, { initiator: false, staticKeyPair: provider.x25519Generate(), peerLabel: "tcp://192.0.2.9:1" });
      // Message 1 of XX is the initiator's ephemeral key alone: all zeros here.
      await responder.readMessage(new Uint8Array(32));
      let error: unknown;
      try {
        await responder.writeMessage(EMPTY);
      } catch (err) {
        error = err;
      }
      expect(isXppgError(error, "XPPG_ERR_HANDSHAKE_FAILED"), String(error)).toBe(true);
      expect((error as Error).message).toContain("low-order public key");
    });
  }
});

/** `conn` with the plaintext size of every record this side sends from `arm()` on. */
function recordingSizes(conn: Connection): { conn: Connection; sizes: number[]; arm(): void } {
  const sizes: number[] = [];
  let armed = false;
  const wrapped = new Proxy(conn, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (key === "send") return (frame: Uint8Array) => (armed && sizes.push(frame.byteLength - 16), target.send(frame));
      if (key === "sendParts") return (parts: Uint8Array[]) => (armed && sizes.push(parts.reduce((n, p) => n + p.byteLength, 0) - 16), target.sendParts(parts));
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { conn: wrapped, sizes, arm: () => (armed = true) };
}

describe("records around large frames", () => {
  const FILL = 65_516;
  for (const [sender, receiver, cipher] of [
    [cryptoProvider, cryptoProvider, "ChaChaPoly"],
    [cryptoProvider, nodeCryptoProvider, "ChaChaPoly"],
    [nodeCryptoProvider, cryptoProvider, "ChaChaPoly"],
    [cryptoProvider, cryptoProvider, "AESGCM"],
  ] as const) {
    it(`a frame larger than a record ends a record with its head, then fills whole records (${sender.name} to ${receiver.name}, ${cipher})`, async () => {
      const t = memoryTransport();
      let accepted!: Promise<Connection>;
      const listener = await t.listen("memory://", (c) => {
        accepted = secureConnectionWith(receiver, c, { identity: generateIdentity(), cipher });
      });
      try {
        const recorder = recordingSizes(await t.dial(listener.address));
        const client = await secureConnectionWith(sender, recorder.conn, { identity: generateIdentity(), cipher });
        const server = await within(accepted, "the server's handshake");
        const at = new Collector(server);
        recorder.arm();
        // The first frame of a tick is sealed at once, in a record of its own (24 bytes); the others then share the tick's records.
        const frames = [patterned(20, 0), patterned(100, 1), patterned(200_000, 2), patterned(70_000, 3), patterned(10, 4), patterned(2 * FILL - 4, 5), patterned(FILL + 1, 6)];
        await Promise.all(frames.map((f) => client.send(f)));
        await at.waitFor(frames.length);
        frames.forEach((f, i) => expect(sameBytes(at.frames[i]!, f), `frame ${i}`).toBe(true));
        // 104 + the 3456-byte head of 200 004 (= 3 x 65 516 + 3456), then its three whole records;
        // 70 004 = 4488 + 65 516; 14 bytes fill in after it; 2 x 65 516 is two whole records;
        // 65 521 = 5 + 65 516 (its head takes the record after the 14 bytes).
        expect(recorder.sizes).toEqual([24, 3560, FILL, FILL, FILL, 4488, FILL, 14, FILL, FILL, 5, FILL]);
        await client.close();
      } finally {
        await listener.close();
      }
    });
  }
});

describe("when records are sealed", () => {
  it("seals the first frame of every tick at once, the tick's later frames together on the next turn", async () => {
    const t = memoryTransport();
    let accepted!: Promise<Connection>;
    const listener = await t.listen("memory://", (c) => {
      accepted = secureConnectionWith(cryptoProvider, c, { identity: generateIdentity() });
    });
    try {
      const recorder = recordingSizes(await t.dial(listener.address));
      const client = await secureConnectionWith(cryptoProvider, recorder.conn, { identity: generateIdentity() });
      const server = await within(accepted, "the server's handshake");
      const at = new Collector(server);
      recorder.arm();
      for (let tick = 0; tick < 3; tick++) {
        const sent = [client.send(patterned(10, 1)), client.send(patterned(20, 2)), client.send(patterned(30, 3))];
        // The first went out before send returned; the other two wait for the tick's flush.
        expect(recorder.sizes).toEqual([...Array.from({ length: tick }, () => [14, 58]).flat(), 14]);
        await Promise.all(sent);
        await new Promise((resolve) => setImmediate(resolve));
        expect(recorder.sizes.slice(-2)).toEqual([14, 24 + 34]);
      }
      await at.waitFor(9);
      expect(at.frames.map((f) => f.byteLength)).toEqual([10, 20, 30, 10, 20, 30, 10, 20, 30]);
      await client.close();
    } finally {
      await listener.close();
    }
  });
});

describe("what a fast sender holds", () => {
  it("send waits once 512 KiB sealed are not taken by the connection below, whatever the high-water mark", async () => {
    // Below: 64 KiB buffered per direction. The receiver pauses, so only its
    // buffers (256 KiB above, 64 KiB below) and the sender's take anything.
    const t = memoryTransport({ highWaterMark: 64 * 1024 });
    let accepted!: Promise<Connection>;
    const listener = await t.listen("memory://", (c) => {
      accepted = secureConnectionWith(cryptoProvider, c, { identity: generateIdentity(), highWaterMark: 256 * 1024 });
    });
    try {
      const client = await secureConnectionWith(cryptoProvider, await t.dial(listener.address), { identity: generateIdentity(), highWaterMark: 4 * 1024 * 1024 });
      const server = await within(accepted, "the server's handshake");
      server.pause();
      let taken = 0;
      const frame = patterned(64 * 1024, 7);
      for (let i = 0; i < 64; i++) void client.send(frame).then(() => (taken += frame.byteLength), () => {});
      // What can be taken is taken within a few turns; then nothing moves (the receiver stays paused).
      await expect.poll(() => taken).toBeGreaterThan(256 * 1024);
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      // 256 + 64 KiB at the receiver, 64 KiB below the sender, 512 KiB sealed ahead, and the frames of the tick that passed it.
      expect(taken).toBeLessThanOrEqual((256 + 64 + 64 + 512 + 4 * 64) * 1024);
      expect(taken).toBeLessThan(64 * frame.byteLength);
      await client.close();
    } finally {
      await listener.close();
    }
  });
});

/** `conn` with what its sink answered for each record from `arm()` on: released or not. */
function recordingReleases(conn: Connection): { conn: Connection; released: boolean[]; arm(): void } {
  const released: boolean[] = [];
  let armed = false;
  const wrapped = new Proxy(conn, {
    get(target, key) {
      if (key === "read") {
        return (sink: FrameSink) =>
          target.read({
            frame: (record: Uint8Array) => {
              const answer = (sink.frame(record) as unknown) === FRAME_RELEASED;
              if (armed) released.push(answer);
              return answer ? FRAME_RELEASED : undefined;
            },
            close: (info) => sink.close?.(info),
          });
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { conn: wrapped, released, arm: () => (armed = true) };
}

describe("what a receiver keeps of the connection below", () => {
  it("releases every record of a large frame, its head too; keeps a record whose frames it handed up as views", async () => {
    const t = memoryTransport();
    let accepted!: Promise<Connection>;
    let recorder!: ReturnType<typeof recordingReleases>;
    const listener = await t.listen("memory://", (c) => {
      recorder = recordingReleases(c);
      accepted = secureConnectionWith(cryptoProvider, recorder.conn, { identity: generateIdentity() });
    });
    try {
      const client = await secureConnectionWith(cryptoProvider, await t.dial(listener.address), { identity: generateIdentity() });
      const server = await within(accepted, "the server's handshake");
      const at = new Collector(server);
      recorder.arm();
      // A head record and three whole ones, then one record of two small frames.
      await client.send(patterned(200_000, 1));
      await at.waitFor(1);
      await Promise.all([client.send(patterned(10, 2)), client.send(patterned(20, 3))]);
      await at.waitFor(3);
      // Only libsodium opens a record in its own bytes; another provider opens it into a new buffer, so every record is released.
      if (cryptoProviderName !== "sodium") console.log(`[branch] the provider here is ${cryptoProviderName}, which opens records into new buffers: every record is released`);
      expect(recorder.released).toEqual([true, true, true, true, cryptoProviderName !== "sodium"]);
      expect(sameBytes(at.frames[0]!, patterned(200_000, 1))).toBe(true);
      expect(sameBytes(at.frames[2]!, patterned(20, 3))).toBe(true);
      await client.close();
    } finally {
      await listener.close();
    }
  });
});

describe("what a receiver keeps of records cut anywhere", () => {
  it("keeps a record that ends a frame begun earlier only when it also hands up a frame of its own as a view", async () => {
    const t = memoryTransport();
    let accepted!: Promise<Connection>;
    let recorder!: ReturnType<typeof recordingReleases>;
    const listener = await t.listen("memory://", (c) => {
      recorder = recordingReleases(c);
      accepted = secureConnectionWith(cryptoProvider, recorder.conn, { identity: generateIdentity() });
    });
    try {
      const raw = await t.dial(listener.address);
      const { session } = await rawHandshake(raw, generateIdentity());
      const server = await within(accepted, "the server's handshake");
      const at = new Collector(server);
      recorder.arm();
      const [a, b, c, d] = [patterned(100, 1), patterned(10, 2), patterned(100, 3), patterned(5, 4)];
      const stream = plaintextOf(a, b, c, d);
      // Cut: [A's prefix and first 50 bytes] [A's last 50, B whole] [C's prefix and first 30] [C's last 70, D's prefix's first 2] [the rest of D].
      const cuts = [54, 54 + 64, 54 + 64 + 34, 54 + 64 + 34 + 72, stream.byteLength];
      let from = 0;
      for (const to of cuts) {
        await raw.send(session.send.encryptWithAd(EMPTY, stream.subarray(from, to)));
        from = to;
      }
      await at.waitFor(4);
      [a, b, c, d].forEach((f, i) => expect(sameBytes(at.frames[i]!, f), `frame ${i}`).toBe(true));
      // B and D went up as views of their records; A and C in buffers of their own.
      // (Another provider than libsodium opens records into new buffers and releases every one.)
      if (cryptoProviderName !== "sodium") console.log(`[branch] the provider here is ${cryptoProviderName}, which opens records into new buffers: every record is released`);
      const sodium = cryptoProviderName === "sodium";
      expect(recorder.released).toEqual([true, !sodium, true, true, !sodium]);
      await raw.close();
    } finally {
      await listener.close();
    }
  });
});
