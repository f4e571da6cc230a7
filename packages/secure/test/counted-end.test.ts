import { FrameDecoder } from "@xppg/framing";
import { memoryTransport } from "@xppg/transport";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { END_COUNT_MODULUS, endCountRecord, readEnd } from "../src/end-count.js";
import { unconfirmedRecords } from "../src/unconfirmed-records.js";
import { generateIdentity, secureConnection as nodeSecureConnection, type SecureConnection, type SecureConnectionOptions } from "../src/index.js";
import { plaintextOf, rawHandshake, statingLimit } from "./helpers.js";

// A counted end of stream (`countedEnd`): the end carries the count of the peer's records received, which the peer
// gets in onRemoteEnd and weighs against its own recordsSent. The codec's properties; both record layers, as sender
// and reader; what a reader from before counted ends (which knows only the empty end) makes of it; a count or an end
// a peer should not send.

const text = new TextEncoder();
const read = new TextDecoder();
const EMPTY = new Uint8Array(0);

describe("the counted end of stream's codec", () => {
  it("reads back the low 23 bits of any count; the plaintext is three bytes, the first with its top bit set", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), (n) => {
        const plain = endCountRecord(n);
        expect({ size: plain.byteLength, top: plain[0]! >= 0x80, count: readEnd(plain, true), inFrame: readEnd(plain, false) }).toEqual({ size: 3, top: true, count: n % END_COUNT_MODULUS, inFrame: false });
      }),
    );
  });

  it("reads an empty plaintext as the end with no count, anywhere, and any other as data: another length, or a first byte below 0x80 (a frame header's start)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (plain, between) => {
        const kind = plain.byteLength === 0 ? "end" : between && plain.byteLength === 3 && plain[0]! >= 0x80 ? "counted" : "data";
        const read = readEnd(plain, between);
        expect(read === false ? "data" : read === undefined ? "end" : "counted").toBe(kind);
      }),
    );
  });

  it("unconfirmedRecords: of `sent` records, those the peer's count did not reach, across the count's wrap; undefined for a count above `sent`", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: END_COUNT_MODULUS - 1 }), (sent, behind) => {
        const received = Math.max(0, sent - behind);
        expect(unconfirmedRecords(sent, received % END_COUNT_MODULUS)).toBe(sent - received);
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: END_COUNT_MODULUS - 2 }), fc.integer({ min: 1, max: END_COUNT_MODULUS - 1 }), (sent, over) => {
        fc.pre(sent + over < END_COUNT_MODULUS);
        expect(unconfirmedRecords(sent, sent + over)).toBeUndefined();
      }),
    );
  });
});

/** A listener of `name` whose accepted connections are secured with `options`; the first one accepted. */
async function pair(name: string, connect: typeof nodeSecureConnection, client: Omit<SecureConnectionOptions, "identity">, server: Omit<SecureConnectionOptions, "identity">) {
  const t = memoryTransport();
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((r) => (accept = r));
  const listener = await t.listen(`memory://${name}`, (conn) => void nodeSecureConnection(conn, { identity: generateIdentity(), ...server }).then(accept));
  const c = await connect(await t.dial(listener.address), { identity: generateIdentity(), ...client });
  return { t, listener, client: c, server: await accepted };
}

for (const [name, connect] of [
  ["Node's record layer", nodeSecureConnection],
  ["a page's record layer", pageSecureConnection],
] as const) {
  describe(`a counted end of stream, ${name} as the sender`, { timeout: 20_000 }, () => {
    it("each end counts the records it received: the peer's onRemoteEnd gets its own recordsSent, or less when a record crossed the end", async () => {
      const ends: { client: number | undefined; server: number | undefined } = { client: undefined, server: undefined };
      let serverEnded!: () => void;
      const atServerEnd = new Promise<void>((r) => (serverEnded = r));
      let clientEnded!: () => void;
      const atClientEnd = new Promise<void>((r) => (clientEnded = r));
      const { listener, client, server } = await pair(
        `counted-${name.length}`,
        connect,
        { countedEnd: true, onRemoteEnd: (n) => void ((ends.client = n), clientEnded()) },
        { countedEnd: true, onRemoteEnd: (n) => void ((ends.server = n), serverEnded()) },
      );
      const atServer: string[] = [];
      server.read({ frame: (f) => void atServer.push(read.decode(f)), close: () => {} });
      client.read({ frame: () => {}, close: () => {} });
      // Three sends, a tick each; the server's one record crosses the client's end (sent before it arrived).
      for (const word of ["one", "two", "three"]) await client.send(text.encode(word));
      await server.send(text.encode("crossing"));
      client.closeWrite();
      await atServerEnd;
      void server.close();
      await atClientEnd;
      void client.close();
      await Promise.all([client.closed, server.closed]);
      // The server's end counted every record of the client's; the client's end, sealed at once, the server's crossing
      // record or not (it may have come in first).
      expect({ atServer, serverSent: server.recordsSent, counted: ends.client, unconfirmed: unconfirmedRecords(client.recordsSent, ends.client!) }).toEqual({ atServer: ["one", "two", "three"], serverSent: 1, counted: client.recordsSent, unconfirmed: 0 });
      expect(client.recordsSent).toBeGreaterThanOrEqual(1);
      expect([0, 1]).toContain(unconfirmedRecords(server.recordsSent, ends.server!));
      await listener.close();
    });

    it("frames whose sends resolved in the tick of closeWrite() are sealed and counted by it: recordsSent, read at once, is the peer's count", async () => {
      // What a routed channel's owner relies on (its reset rule, weighed only after this side's end of stream): a
      // send resolves before its frame is sealed (a tick's later frames), and the end seals what waits first.
      let counted: number | undefined;
      let ended!: () => void;
      const atEnd = new Promise<void>((r) => (ended = r));
      const { listener, client, server } = await pair(`same-tick-${name.length}`, connect, { countedEnd: true, onRemoteEnd: (n) => void ((counted = n), ended()) }, { countedEnd: true });
      const atServer: string[] = [];
      let all!: () => void;
      const allAtServer = new Promise<void>((r) => (all = r));
      server.read({ frame: (f) => void (atServer.push(read.decode(f)) === 4 && all()), close: () => {} });
      client.read({ frame: () => {}, close: () => {} });
      await client.send(text.encode("before"));
      // One tick: three sends, then closeWrite(); the later two frames wait for the tick's end (Node) or the
      // microtask's flush (a page) when it is called.
      const sends = ["one", "two", "three"].map((word) => client.send(text.encode(word)));
      client.closeWrite();
      const sentAtEnd = client.recordsSent;
      await Promise.all(sends);
      // The server's end, once it has every frame, counts every record the client sent.
      await allAtServer;
      server.closeWrite();
      await atEnd;
      expect({ atServer, counted, sentNow: client.recordsSent }).toEqual({ atServer: ["before", "one", "two", "three"], counted: sentAtEnd, sentNow: sentAtEnd });
      void client.close();
      void server.close();
      await listener.close();
    });

    it("countedEnd that is not a boolean is refused: XPPG_ERR_INVALID_ARGUMENT", async () => {
      const t = memoryTransport();
      const listener = await t.listen(`memory://bad-option-${name.length}`, () => {});
      const refused = await connect(await t.dial(listener.address), { identity: generateIdentity(), countedEnd: "yes" as unknown as boolean }).then(
        () => "resolved",
        (error: Error & { code?: string }) => error.code,
      );
      expect(refused).toBe("XPPG_ERR_INVALID_ARGUMENT");
      await listener.close();
    });

    it("without countedEnd the end of stream is empty, as before: onRemoteEnd gets no count", async () => {
      let counted: number | undefined | "none" = "none";
      let ended!: () => void;
      const atEnd = new Promise<void>((r) => (ended = r));
      const { listener, client, server } = await pair(`uncounted-${name.length}`, connect, {}, { countedEnd: true, onRemoteEnd: (n) => void ((counted = n), ended()) });
      server.read({ frame: () => {}, close: () => {} });
      await client.send(text.encode("one"));
      client.closeWrite();
      await atEnd;
      void client.close();
      void server.close();
      expect(counted).toBeUndefined();
      await listener.close();
    });

    it("a reader from before counted ends (the empty end only: the plaintext goes to its frame decoder) gets every frame, then waits for a header that never ends: no frame, no error", async () => {
      // The raw peer opens each record and hands its plaintext to a FrameDecoder, as the record layers did before
      // counted ends for every record that was not empty.
      const t = memoryTransport();
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      const listener = await t.listen(`memory://older-${name.length}`, (conn) => void connect(conn, { identity: generateIdentity(), countedEnd: true }).then(accept));
      const raw = await t.dial(listener.address);
      const { session, inbox } = await rawHandshake(raw, generateIdentity());
      const secure = await accepted;
      let heard!: () => void;
      const atSecure = new Promise<void>((r) => (heard = r));
      secure.read({ frame: () => heard(), close: () => {} });
      await raw.send(session.send.encryptWithAd(EMPTY, plaintextOf(text.encode("from the older peer"))));
      await atSecure;
      await secure.send(text.encode("one"));
      await secure.send(text.encode("two"));
      secure.closeWrite();
      // After handshake message 2, records up to the end of stream (three bytes, its first 0x80 or above).
      const decoder = new FrameDecoder();
      const frames: string[] = [];
      let plain: Uint8Array = EMPTY;
      for (let i = 1; i <= 10 && !(plain.byteLength === 3 && plain[0]! >= 0x80); i++) {
        plain = session.receive.decryptWithAd(EMPTY, await inbox.next(i))!;
        expect(() => decoder.push(plain, (f) => void frames.push(read.decode(f)))).not.toThrow();
      }
      // Its count: the one record the raw peer sent.
      expect({ frames, end: [...plain], idle: decoder.idle, held: decoder.bufferedBytes }).toEqual({ frames: ["one", "two"], end: [0x80, 0, 1], idle: false, held: 3 });
      // It reads on and sends on: the sender, half closed, still reads.
      void secure.close();
      await raw.close();
      await listener.close();
    });

    it("a peer's count above the records sent reaches onRemoteEnd as it is (unconfirmedRecords: undefined, for the owner to refuse); a second end of stream fails as XPPG_ERR_DECRYPT_FAILED", async () => {
      const t = memoryTransport();
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      const counts: (number | undefined)[] = [];
      const listener = await t.listen(`memory://lying-${name.length}`, (conn) => void connect(conn, { identity: generateIdentity(), countedEnd: true, onRemoteEnd: (n) => void counts.push(n) }).then(accept));
      const raw = await t.dial(listener.address);
      const { session } = await rawHandshake(raw, generateIdentity());
      const secure = await accepted;
      const got: string[] = [];
      secure.read({ frame: (f) => void got.push(read.decode(f)), close: () => {} });
      await raw.send(session.send.encryptWithAd(EMPTY, plaintextOf(text.encode("before"))));
      await raw.send(session.send.encryptWithAd(EMPTY, endCountRecord(5)));
      await raw.send(session.send.encryptWithAd(EMPTY, endCountRecord(5)));
      const info = await secure.closed;
      expect({ got, counts, unconfirmed: unconfirmedRecords(secure.recordsSent, counts[0]!), code: info.error?.code }).toEqual({ got: ["before"], counts: [5], unconfirmed: undefined, code: "XPPG_ERR_DECRYPT_FAILED" });
      await raw.close();
      await listener.close();
    });

    it("a three-byte plaintext that continues a frame is data, not an end: the frame is delivered whole", async () => {
      const t = memoryTransport();
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      let ends = 0;
      const listener = await t.listen(`memory://mid-frame-${name.length}`, (conn) => void connect(conn, { identity: generateIdentity(), onRemoteEnd: () => void ends++ }).then(accept));
      const raw = await t.dial(listener.address);
      const { session } = await rawHandshake(raw, generateIdentity());
      const secure = await accepted;
      const got: number[][] = [];
      secure.read({ frame: (f) => void got.push([...f]), close: () => {} });
      // A frame of five bytes, its last three (the end's shape: 0x80 first) in a record of their own.
      const whole = plaintextOf(Uint8Array.of(1, 2, 0x80, 0, 7));
      await raw.send(session.send.encryptWithAd(EMPTY, whole.subarray(0, 6)));
      await raw.send(session.send.encryptWithAd(EMPTY, whole.subarray(6)));
      await raw.send(session.send.encryptWithAd(EMPTY, EMPTY));
      await raw.close();
      const info = await secure.closed;
      expect({ got, ends, code: info.error?.code }).toEqual({ got: [[1, 2, 0x80, 0, 7]], ends: 1, code: undefined });
      await listener.close();
    });
  });
}

describe("a counted end of stream whose seal fails (Node's record layer)", { timeout: 20_000 }, () => {
  it("leaves recordsSent as it was: still the count the peer's end gave, not one less (the end is not counted, not uncounted)", async () => {
    // The client's connection states 18 bytes from the handshake on: records of two plaintext bytes and the tag go
    // out, the counted end (three bytes and the tag, 19) is refused at its seal and ends the link with that error.
    const t = memoryTransport();
    let accept!: (c: SecureConnection) => void;
    const accepted = new Promise<SecureConnection>((r) => (accept = r));
    const listener = await t.listen("memory://end-seal-fails", (conn) => void nodeSecureConnection(conn, { identity: generateIdentity(), countedEnd: true }).then(accept));
    const counts: (number | undefined)[] = [];
    let ended!: () => void;
    const atEnd = new Promise<void>((r) => (ended = r));
    const client = await nodeSecureConnection(statingLimit(await t.dial(listener.address), 18), { identity: generateIdentity(), countedEnd: true, onRemoteEnd: (n) => void (counts.push(n), ended()) });
    const server = await accepted;
    let heard!: () => void;
    const atServer = new Promise<void>((r) => (heard = r));
    server.read({ frame: () => heard(), close: () => {} });
    client.read({ frame: () => {}, close: () => {} });
    await client.send(text.encode("ten bytes!"));
    await atServer;
    // The server's end counts every record of the client's (seven: the frame's 14 bytes, two a record).
    server.closeWrite();
    await atEnd;
    const before = client.recordsSent;
    client.closeWrite();
    const info = await client.closed;
    expect({ counts, before, after: client.recordsSent, unconfirmed: unconfirmedRecords(client.recordsSent, counts[0]!), code: info.error?.code }).toEqual({ counts: [7], before: 7, after: 7, unconfirmed: 0, code: "XPPG_ERR_FRAME_TOO_LARGE" });
    void server.close();
    await listener.close();
  });
});
