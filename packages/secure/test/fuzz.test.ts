// Hostile input: random and mutated handshake messages and records must end
// in a typed error (never another kind of throw, never a hang).
import { isXppgError } from "@xppg/errors";
import { memoryTransport } from "@xppg/transport";
import { Collector, within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { HandshakeState } from "../src/noise/handshake-state.js";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { SECURE_ERROR_CODES, generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { codeOf, plaintextOf, rawHandshake } from "./helpers.js";

const CODES = SECURE_ERROR_CODES;
const p = nodeCryptoProvider;
const EMPTY = new Uint8Array(0);
const payload = new Uint8Array(97).fill(3);

function pair() {
  const init = new HandshakeState(p, { initiator: true, staticKeyPair: p.x25519Generate() });
  const resp = new HandshakeState(p, { initiator: false, staticKeyPair: p.x25519Generate() });
  return { init, resp };
}

async function expectHandshakeFailed(fn: () => unknown): Promise<void> {
  let error: unknown;
  try {
    await fn();
  } catch (err) {
    error = err;
  }
  expect(error, "expected a throw").toBeDefined();
  expect(isXppgError(error, CODES.HANDSHAKE_FAILED), String(error)).toBe(true);
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
);

interface Mutation {
  kind: "flip" | "cut" | "extend";
  at?: number;
  bit?: number;
  extra?: Uint8Array;
}

/** A changed copy of `msg`: one bit flipped, cut short, or extended. */
function mutate(msg: Uint8Array, m: Mutation): Uint8Array {
  const out = msg.slice();
  if (m.kind === "flip") {
    out[m.at! % out.byteLength]! ^= 1 << m.bit!;
    return out;
  }
  if (m.kind === "cut") return out.subarray(0, m.at! % out.byteLength);
  const longer = new Uint8Array(out.byteLength + m.extra!.byteLength);
  longer.set(out);
  longer.set(m.extra!, out.byteLength);
  return longer;
}

describe("handshake reader fuzz", () => {
  it("random bytes as message 2 or 3 always fail with XPPG_ERR_HANDSHAKE_FAILED", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (junk) => {
        const a = pair();
        await a.resp.readMessage(await a.init.writeMessage(EMPTY));
        await expectHandshakeFailed(() => a.init.readMessage(junk));
        const b = pair();
        await b.resp.readMessage(await b.init.writeMessage(EMPTY));
        await b.init.readMessage(await b.resp.writeMessage(payload));
        await expectHandshakeFailed(() => b.resp.readMessage(junk));
      }),
      { numRuns: 150 },
    );
  });

  it("message 1 shorter than a key fails; anything else is read (it is unauthenticated by design) and the handshake then fails", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 100 }), async (junk) => {
        const { resp } = pair();
        if (junk.byteLength < 32) await expectHandshakeFailed(() => resp.readMessage(junk));
        else {
          // A random "ephemeral key": either refused (low order) or answered; the real initiator then rejects the answer.
          try {
            await resp.readMessage(junk);
          } catch (err) {
            expect(isXppgError(err, CODES.HANDSHAKE_FAILED)).toBe(true);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("any mutation of a genuine message 2 or 3 fails authentication", async () => {
    await fc.assert(
      fc.asyncProperty(mutation, fc.boolean(), async (m, third) => {
        const { init, resp } = pair();
        await resp.readMessage(await init.writeMessage(EMPTY));
        const m2 = await resp.writeMessage(payload);
        if (!third) {
          await expectHandshakeFailed(() => init.readMessage(mutate(m2, m)));
          return;
        }
        await init.readMessage(m2);
        const m3 = await init.writeMessage(payload);
        await expectHandshakeFailed(() => resp.readMessage(mutate(m3, m)));
      }),
      { numRuns: 200 },
    );
  });

  it("a message read out of turn or after a failure fails with a typed error", async () => {
    const { init, resp } = pair();
    await expectHandshakeFailed(() => init.readMessage(new Uint8Array(32)));
    await expectHandshakeFailed(() => resp.readMessage(new Uint8Array(10)));
    await expectHandshakeFailed(() => resp.readMessage(new Uint8Array(32)));
    await expectHandshakeFailed(() => resp.readMessage(new Uint8Array(70_000)));
  });

  it.each([
    ["Node's secureConnection", secureConnection],
    ["a page's secureConnection", pageSecureConnection],
  ])("%s under random handshake frames rejects with a typed error and never hangs", async (_name, secureConnection) => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }), fc.boolean(), async (frames, asInitiator) => {
        const t = memoryTransport();
        const results: Promise<SecureConnection>[] = [];
        const listener = await t.listen("memory://", (conn) => {
          if (!asInitiator) results.push(secureConnection(conn, { identity: generateIdentity(), handshakeTimeoutMs: 300 }));
          else for (const f of frames) conn.send(f).catch(() => {});
        });
        const dialled = await t.dial(listener.address);
        if (asInitiator) results.push(secureConnection(dialled, { identity: generateIdentity(), handshakeTimeoutMs: 300 }));
        else for (const f of frames) dialled.send(f).catch(() => {});
        const code = await within(codeOf(results[0]!), "the handshake to end", 5_000);
        expect([CODES.HANDSHAKE_FAILED, CODES.HANDSHAKE_TIMEOUT]).toContain(code);
        await dialled.close();
        await listener.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe("record reader fuzz", () => {
  async function established() {
    const t = memoryTransport();
    let accept!: (c: SecureConnection) => void;
    const accepted = new Promise<SecureConnection>((r) => (accept = r));
    const listener = await t.listen("memory://", (conn) => void secureConnection(conn, { identity: generateIdentity(), maxFrameSize: 1000 }).then(accept));
    const raw = await t.dial(listener.address);
    const { session } = await rawHandshake(raw, generateIdentity());
    const server = await within(accepted, "the server");
    return { raw, session, server, listener };
  }

  it("random records close the connection with XPPG_ERR_DECRYPT_FAILED", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (junk) => {
        const { raw, server, listener } = await established();
        const at = new Collector(server);
        await raw.send(junk);
        const info = await within(server.closed, "closed");
        expect(info.error?.code).toBe(CODES.DECRYPT_FAILED);
        expect(at.frames.length).toBe(0);
        await listener.close();
      }),
      { numRuns: 30 },
    );
  });

  it("mutated genuine records close the connection with XPPG_ERR_DECRYPT_FAILED; the genuine one before is delivered", async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const { raw, session, server, listener } = await established();
        const at = new Collector(server);
        await raw.send(session.send.encryptWithAd(EMPTY, plaintextOf(new Uint8Array([1]))));
        const record = session.send.encryptWithAd(EMPTY, plaintextOf(new Uint8Array([2, 2])));
        await raw.send(mutate(record, m));
        const info = await within(server.closed, "closed");
        expect(info.error?.code).toBe(CODES.DECRYPT_FAILED);
        await at.sinkClosed();
        expect(at.frames.map((f) => Array.from(f))).toEqual([[1]]);
        await listener.close();
      }),
      { numRuns: 40 },
    );
  });

  it("an authentic record announcing a frame over maxFrameSize closes with XPPG_ERR_FRAME_TOO_LARGE", async () => {
    const { raw, session, server, listener } = await established();
    const plain = new Uint8Array(8);
    new DataView(plain.buffer).setUint32(0, 5000);
    await raw.send(session.send.encryptWithAd(EMPTY, plain));
    const info = await within(server.closed, "closed");
    expect(info.error?.code).toBe("XPPG_ERR_FRAME_TOO_LARGE");
    await listener.close();
  });

  it("frames split across records are reassembled; data after the end of stream is refused", async () => {
    const { raw, session, server, listener } = await established();
    const at = new Collector(server);
    const plain = plaintextOf(new Uint8Array(300).fill(9), new Uint8Array([5]));
    for (let i = 0; i < plain.byteLength; i += 7) await raw.send(session.send.encryptWithAd(EMPTY, plain.subarray(i, i + 7)));
    await at.waitFor(2);
    expect(at.frames[0]!.byteLength).toBe(300);
    expect(Array.from(at.frames[1]!)).toEqual([5]);
    await raw.send(session.send.encryptWithAd(EMPTY, EMPTY));
    await raw.send(session.send.encryptWithAd(EMPTY, plaintextOf(new Uint8Array([6]))));
    const info = await within(server.closed, "closed");
    expect(info.error?.code).toBe(CODES.DECRYPT_FAILED);
    expect(at.frames.length).toBe(2);
    await listener.close();
  });
});
