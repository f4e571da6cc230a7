// An authenticated peer is still a hostile one: it seals whatever plaintext
// it likes. Both record layers (Node's, decrypting in place, and a page's)
// are driven by a raw Noise peer with records of arbitrary and mutated-valid
// plaintext (frames cut anywhere, headers changed, ends of stream with and
// without a count, anywhere; Node's over TCP too) and, for a page's, with random and mutated
// records (fast-check). Each run ends in a clean close or a typed error,
// never a hang; the frames handed up are exactly those a reference
// FrameDecoder reads from the same plaintext, in order, within maxFrameSize:
// none lost before an error either.
import { FrameDecoder } from "@xppg/framing";
import { isXppgError } from "@xppg/errors";
import { memoryTransport, type Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { endCountRecord, readEnd } from "../src/end-count.js";
import { SECURE_ERROR_CODES, generateIdentity, secureConnection as nodeSecureConnection, type SecureConnection } from "../src/index.js";
import { plaintextOf, rawHandshake } from "./helpers.js";

const EMPTY = new Uint8Array(0);
const MAX_FRAME = 1000;

/** A raw Noise peer joined to a listener whose accepted connections `connect` secures; the secured side reading into `frames`. */
async function established(connect: typeof nodeSecureConnection, name: string, t: Transport = memoryTransport()) {
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((r) => (accept = r));
  const listener = await t.listen(t.name === "tcp" ? "tcp://127.0.0.1:0" : `memory://${name}`, (conn) => void connect(conn, { identity: generateIdentity(), maxFrameSize: MAX_FRAME, countedEnd: true }).then(accept));
  const raw = await t.dial(listener.address);
  const { session } = await rawHandshake(raw, generateIdentity());
  const secure = await within(accepted, "the secured side");
  const frames: Uint8Array[] = [];
  secure.read({ frame: (f) => void frames.push(f.slice()), close: () => {} });
  return { raw, session, secure, frames, listener };
}

/** Frames of the sizes a hostile peer picks around the limit. */
const frame = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: MAX_FRAME + 2 }).map((n) => new Uint8Array(n).fill(n & 0xff)));

/** One record's plaintext: a piece of a valid stream, changed or not, or anything at all. */
type Piece = { kind: "stream"; cut: number; flip: number | undefined; value: number } | { kind: "bytes"; bytes: Uint8Array } | { kind: "end"; count: number | undefined };
const piece: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("stream" as const), cut: fc.nat({ max: 200 }), flip: fc.option(fc.nat({ max: 7 }), { nil: undefined }), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("bytes" as const), bytes: fc.oneof(fc.uint8Array({ maxLength: 60 }), fc.constantFrom(Uint8Array.of(0x80, 0, 0), Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(0, 0, 0, 0))) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("end" as const), count: fc.option(fc.nat({ max: 0x7f_ffff }), { nil: undefined }) }) },
);

/** The plaintexts of `pieces`: stream pieces take their bytes in turn from `stream`, each cut at its length, a byte of its first flipped to `value` when asked. */
function plaintexts(stream: Uint8Array, pieces: readonly Piece[]): Uint8Array[] {
  let at = 0;
  return pieces.map((p) => {
    if (p.kind === "bytes") return p.bytes;
    if (p.kind === "end") return p.count === undefined ? EMPTY : endCountRecord(p.count);
    const bytes = stream.slice(at, Math.min(stream.length, at + Math.max(1, p.cut)));
    at += bytes.length;
    if (p.flip !== undefined && p.flip < bytes.length) bytes[p.flip] = p.value;
    return bytes;
  });
}

/** What a reader must make of `records`: the frames a FrameDecoder of the same limit reads from the data before the first end of stream. */
function expectedFrames(records: readonly Uint8Array[]): Uint8Array[] {
  const decoder = new FrameDecoder({ maxFrameSize: MAX_FRAME });
  const out: Uint8Array[] = [];
  for (const plain of records) {
    if (readEnd(plain, decoder.idle) !== false) break;
    try {
      decoder.push(plain, (f) => void out.push(f.slice()));
    } catch {
      break;
    }
  }
  return out;
}

for (const [name, connect, transport] of [
  ["Node's record layer", nodeSecureConnection, memoryTransport],
  // Over TCP, Node's records are cut whole from the read buffer and decrypted there, in place.
  ["Node's record layer over TCP", nodeSecureConnection, tcpTransport],
  ["a page's record layer", pageSecureConnection, memoryTransport],
] as const) {
  describe(`${name}, from an authenticated hostile peer`, { timeout: 120_000 }, () => {
    it("records of any plaintext end in a clean close or a typed error; the frames handed up are the reference decoder's, in order, within maxFrameSize", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { maxLength: 6 }), fc.array(piece, { minLength: 1, maxLength: 12 }), async (sent, pieces) => {
          const { raw, session, secure, frames, listener } = await established(connect, `plain-${name.length}-${run++}`, transport());
          const records = plaintexts(plaintextOf(...sent), pieces);
          for (const plain of records) await raw.send(session.send.encryptWithAd(EMPTY, plain)).catch(() => {});
          await raw.close();
          const info = await within(secure.closed, "the secured side's close");
          if (info.error !== undefined) expect(isXppgError(info.error), String(info.error)).toBe(true);
          const expected = expectedFrames(records);
          expect(frames.length, `frames handed up before ${info.error?.code ?? "a clean close"}`).toBe(expected.length);
          for (let i = 0; i < frames.length; i++) {
            expect(frames[i]!.length).toBeLessThanOrEqual(MAX_FRAME);
            expect(frames[i]).toEqual(expected[i]);
          }
          await listener.close();
        }),
        { numRuns: 150 },
      );
    });
  });
}

describe("a page's record layer, from a peer that holds no key", { timeout: 120_000 }, () => {
  it("random records close the connection with XPPG_ERR_DECRYPT_FAILED and hand nothing up", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (junk) => {
        const { raw, secure, frames, listener } = await established(pageSecureConnection, `junk-${run++}`);
        await raw.send(junk);
        const info = await within(secure.closed, "closed");
        expect(info.error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
        expect(frames.length).toBe(0);
        await listener.close();
      }),
      { numRuns: 30 },
    );
  });

  it("a genuine record changed anywhere (a bit flipped, cut short, grown) closes with XPPG_ERR_DECRYPT_FAILED; the genuine record before it is delivered", async () => {
    let run = 0;
    const mutation = fc.oneof(
      fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }).map(({ at, bit }) => (r: Uint8Array) => {
        const out = r.slice();
        out[at % out.length]! ^= 1 << bit;
        return out;
      }),
      fc.nat().map((at) => (r: Uint8Array) => r.slice(0, at % r.length)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((extra) => (r: Uint8Array) => Uint8Array.from([...r, ...extra])),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (mutate) => {
        const { raw, session, secure, frames, listener } = await established(pageSecureConnection, `mutated-${run++}`);
        await raw.send(session.send.encryptWithAd(EMPTY, plaintextOf(Uint8Array.of(1))));
        await raw.send(mutate(session.send.encryptWithAd(EMPTY, plaintextOf(Uint8Array.of(2, 2)))));
        const info = await within(secure.closed, "closed");
        expect(info.error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
        expect(frames.map((f) => [...f])).toEqual([[1]]);
        await listener.close();
      }),
      { numRuns: 40 },
    );
  });
});
