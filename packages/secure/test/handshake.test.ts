import { isXppgError } from "@xppg/errors";
import { memoryTransport, type Transport } from "@xppg/transport";
import { Collector, within } from "@xppg/transport/compliance";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it } from "vitest";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { nobleCryptoProvider } from "../src/crypto/noble-provider.js";
import { SECURE_ERROR_CODES, generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { codeOf, securePair } from "./helpers.js";

const CODES = SECURE_ERROR_CODES;
const cases: Array<[string, () => Transport, string]> = [
  ["memory", () => memoryTransport(), "memory://"],
  ["tcp", () => tcpTransport(), "tcp://127.0.0.1:0"],
];

for (const [name, make, listenAddress] of cases) {
  describe(`handshake over ${name}`, () => {
    it("authenticates both identities and carries frames both ways", async () => {
      const t = make();
      const alice = generateIdentity();
      const bob = generateIdentity();
      const { server, client, listener } = await securePair(t, listenAddress, { identity: bob }, { identity: alice, expectedPeerId: bob.peerId });
      try {
        expect(client.remotePeerId).toBe(bob.peerId);
        expect(server.remotePeerId).toBe(alice.peerId);
        expect(Array.from(client.remotePublicKey)).toEqual(Array.from(bob.publicKey));
        expect(Buffer.from(client.handshakeHash).equals(Buffer.from(server.handshakeHash))).toBe(true);
        expect(client.outbound).toBe(true);
        expect(server.outbound).toBe(false);
        const atServer = new Collector(server);
        const atClient = new Collector(client);
        await client.send(new TextEncoder().encode("hello bob"));
        await server.send(new TextEncoder().encode("hello alice"));
        await Promise.all([atServer.waitFor(1), atClient.waitFor(1)]);
        expect(new TextDecoder().decode(atServer.frames[0])).toBe("hello bob");
        expect(new TextDecoder().decode(atClient.frames[0])).toBe("hello alice");
      } finally {
        await client.close();
        await server.close();
        await listener.close();
      }
    });

    it("refuses, on the dialler's side, a responder that presents another key than expectedPeerId", async () => {
      const t = make();
      const impostor = generateIdentity();
      const expected = generateIdentity();
      const serverResult: Promise<SecureConnection>[] = [];
      const listener = await t.listen(listenAddress, (conn) => serverResult.push(secureConnection(conn, { identity: impostor })));
      const raw = await t.dial(listener.address);
      let error: { code?: string; message?: string; details?: Record<string, unknown> } | undefined;
      try {
        await secureConnection(raw, { identity: generateIdentity(), expectedPeerId: expected.peerId });
      } catch (err) {
        error = err as typeof error;
      }
      expect(error?.code).toBe(CODES.PEER_ID_MISMATCH);
      expect(error?.message).toContain(expected.peerId);
      expect(error?.message).toContain(impostor.peerId);
      expect(error?.details).toMatchObject({ expected: expected.peerId, actual: impostor.peerId });
      const info = await within(raw.closed, "the dialled connection to close");
      expect(raw.isClosed).toBe(true);
      expect(info.error?.code).toBe(CODES.PEER_ID_MISMATCH);
      // The impostor never completes: the dialler sent no identity.
      expect(await codeOf(serverResult[0]!)).toBe(CODES.HANDSHAKE_FAILED);
      await listener.close();
    });

    it("fails with a typed error when the prologues differ", async () => {
      const t = make();
      const results: Promise<SecureConnection>[] = [];
      const listener = await t.listen(listenAddress, (conn) =>
        results.push(secureConnection(conn, { identity: generateIdentity(), prologue: new TextEncoder().encode("app v2") })),
      );
      const raw = await t.dial(listener.address);
      const dial = secureConnection(raw, { identity: generateIdentity(), prologue: new TextEncoder().encode("app v1") });
      expect(await codeOf(dial)).toBe(CODES.HANDSHAKE_FAILED);
      expect(await codeOf(within(results[0]!, "the server side"))).toBe(CODES.HANDSHAKE_FAILED);
      await listener.close();
    });

    it("fails on both sides, naming the cipher suites, when one side uses AESGCM and the other ChaChaPoly", async () => {
      const t = make();
      const results: Promise<SecureConnection>[] = [];
      const listener = await t.listen(listenAddress, (conn) => results.push(secureConnection(conn, { identity: generateIdentity(), cipher: "ChaChaPoly" })));
      const raw = await t.dial(listener.address);
      const dial = secureConnection(raw, { identity: generateIdentity(), cipher: "AESGCM" });
      const dialError = (await dial.then(
        () => undefined,
        (err: unknown) => err,
      )) as { code?: string; message?: string } | undefined;
      expect(dialError?.code).toBe(CODES.HANDSHAKE_FAILED);
      expect(dialError?.message).toContain("cipher suite");
      expect(dialError?.message).toContain("Noise_XX_25519_AESGCM_SHA256");
      const serverError = (await within(results[0]!, "the server side").then(
        () => undefined,
        (err: unknown) => err,
      )) as { code?: string; message?: string } | undefined;
      expect(serverError?.code).toBe(CODES.HANDSHAKE_FAILED);
      expect(serverError?.message).toContain("cipher suite");
      expect(serverError?.message).toContain("Noise_XX_25519_ChaChaPoly_SHA256");
      await listener.close();
    });

    it("runs with cipher ChaChaPoly on both sides", async () => {
      const t = make();
      const bob = generateIdentity();
      const { server, client, listener } = await securePair(t, listenAddress, { identity: bob, cipher: "ChaChaPoly" }, { identity: generateIdentity(), cipher: "ChaChaPoly" });
      try {
        expect(client.remotePeerId).toBe(bob.peerId);
        const at = new Collector(server);
        const big = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff);
        await client.send(big);
        await at.waitFor(1);
        expect(Buffer.from(at.frames[0]!).equals(Buffer.from(big))).toBe(true);
      } finally {
        await client.close();
        await server.close();
        await listener.close();
      }
    });

    it("times out with XPPG_ERR_HANDSHAKE_TIMEOUT when the peer says nothing, and closes the connection", async () => {
      const t = make();
      const listener = await t.listen(listenAddress, () => {});
      const raw = await t.dial(listener.address);
      expect(await codeOf(secureConnection(raw, { identity: generateIdentity(), handshakeTimeoutMs: 100 }))).toBe(CODES.HANDSHAKE_TIMEOUT);
      await within(raw.closed, "closed");
      await listener.close();
    });

    it("aborts with XPPG_ERR_ABORTED when its signal fires mid-handshake, and closes the connection", async () => {
      const t = make();
      const listener = await t.listen(listenAddress, () => {});
      const raw = await t.dial(listener.address);
      const controller = new AbortController();
      // The peer says nothing: only the signal can end this handshake before its timeout.
      const handshake = secureConnection(raw, { identity: generateIdentity(), signal: controller.signal });
      controller.abort(new Error("the user left"));
      expect(await codeOf(handshake)).toBe(CODES.ABORTED);
      expect((await within(raw.closed, "closed")).error?.code).toBe(CODES.ABORTED);
      // A signal that has already fired: refused before anything is sent.
      const again = await t.dial(listener.address);
      expect(await codeOf(secureConnection(again, { identity: generateIdentity(), signal: AbortSignal.abort() }))).toBe(CODES.ABORTED);
      await within(again.closed, "closed");
      await listener.close();
    });

    it("fails with XPPG_ERR_HANDSHAKE_FAILED when the peer hangs up during the handshake", async () => {
      const t = make();
      const listener = await t.listen(listenAddress, (conn) => conn.read({ frame: () => void conn.close() }));
      const raw = await t.dial(listener.address);
      expect(await codeOf(secureConnection(raw, { identity: generateIdentity() }))).toBe(CODES.HANDSHAKE_FAILED);
      await listener.close();
    });
  });
}

describe("secureConnection options", () => {
  it("rejects a malformed expectedPeerId with XPPG_ERR_INVALID_PEER_ID and closes the connection", async () => {
    const t = memoryTransport();
    const listener = await t.listen("memory://", () => {});
    const raw = await t.dial(listener.address);
    expect(await codeOf(secureConnection(raw, { identity: generateIdentity(), expectedPeerId: "xp1nope" }))).toBe(CODES.INVALID_PEER_ID);
    await within(raw.closed, "closed");
    await listener.close();
  });

  it("rejects nonsense options with a TypeError or RangeError that carries XPPG_ERR_INVALID_ARGUMENT, naming the option, and closes the connection", async () => {
    const t = memoryTransport();
    const listener = await t.listen("memory://", () => {});
    for (const [options, Kind, words] of [
      [{}, TypeError, "secureConnection: identity must be an Identity (from generateIdentity() or loadOrCreateIdentity()), got undefined."],
      [{ identity: generateIdentity(), maxFrameSize: -1 }, RangeError, "secureConnection: maxFrameSize must be an integer from 0 to 4294967295, got -1."],
      [{ identity: generateIdentity(), highWaterMark: 0 }, RangeError, "secureConnection: highWaterMark must be an integer of at least 1, got 0."],
      [{ identity: generateIdentity(), handshakeTimeoutMs: 0 }, RangeError, "secureConnection: handshakeTimeoutMs must be an integer from 1 to 2147483647, got 0."],
      [{ identity: generateIdentity(), prologue: "v1" }, TypeError, 'secureConnection: prologue must be a Uint8Array, the same on both ends, got "v1".'],
      [{ identity: generateIdentity(), cipher: "AES128" }, RangeError, 'secureConnection: cipher must be "AESGCM" or "ChaChaPoly", got "AES128". Pass "AESGCM" or "ChaChaPoly", or leave cipher out for its default.'],
      [{ identity: generateIdentity(), signal: {} }, TypeError, "secureConnection: signal must be an AbortSignal (controller.signal of an AbortController), got an object."],
    ] as const) {
      const raw = await t.dial(listener.address);
      const error = await secureConnection(raw, options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Kind);
      expect(isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")).toBe(true);
      expect((error as Error).message).toContain(words);
      await within(raw.closed, "closed");
    }
    await listener.close();
  });

  it("uses ChaChaPoly by default", async () => {
    const { DEFAULT_NOISE_CIPHER, NOISE_PROTOCOL_NAME } = await import("../src/index.js");
    expect(DEFAULT_NOISE_CIPHER).toBe("ChaChaPoly");
    expect(NOISE_PROTOCOL_NAME).toBe("Noise_XX_25519_ChaChaPoly_SHA256");
    // A default side and an explicit ChaChaPoly side agree.
    const t = memoryTransport();
    const { server, client, listener } = await securePair(t, "memory://", { identity: generateIdentity() }, { identity: generateIdentity(), cipher: "ChaChaPoly" });
    await client.close();
    await server.close();
    await listener.close();
  });

  for (const cipher of [undefined, "AESGCM"] as const) {
    it(`a node:crypto side and a @noble side complete the handshake and talk with ${cipher ?? "the default ChaChaPoly"} (the browser provider interoperates)`, async () => {
      const t = memoryTransport();
      const browserSide = generateIdentity();
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      const choice = cipher === undefined ? {} : { cipher };
      const listener = await t.listen("memory://", (conn) => void secureConnectionWith(nobleCryptoProvider, conn, { identity: browserSide, ...choice }).then(accept));
      const client = await secureConnection(await t.dial(listener.address), { identity: generateIdentity(), expectedPeerId: browserSide.peerId, ...choice });
      const server = await within(accepted, "the noble side");
      const at = new Collector(server);
      const back = new Collector(client);
      const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
      await client.send(big);
      await server.send(new Uint8Array([1, 2, 3]));
      await Promise.all([at.waitFor(1), back.waitFor(1)]);
      expect(Buffer.from(at.frames[0]!).equals(Buffer.from(big))).toBe(true);
      expect(Array.from(back.frames[0]!)).toEqual([1, 2, 3]);
      await client.close();
      expect((await within(server.closed, "closed")).error).toBeUndefined();
      await listener.close();
    });
  }
});

describe("a frame handler that throws", () => {
  it("closes the connection with XPPG_ERR_FRAME_HANDLER_FAILED, not a blame on the peer", async () => {
    const t = memoryTransport();
    const { server, client, listener } = await securePair(t, "memory://", { identity: generateIdentity() }, { identity: generateIdentity() });
    server.read({
      frame: () => {
        throw new Error("handler bug");
      },
    });
    await client.send(new Uint8Array([1]));
    const info = await within(server.closed, "server closed");
    expect(info.error?.code).toBe(SECURE_ERROR_CODES.FRAME_HANDLER_FAILED);
    expect(info.error?.message).toContain("handler bug");
    await client.close();
    await listener.close();
  });
});
