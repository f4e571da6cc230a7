import type { Connection } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NoiseCipher } from "../src/constants.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { needsSodium, sodiumProvider } from "./sodium.js";
import { collectFrames, pattern } from "./helpers.js";

// A large record is sealed straight into room the connection below lends of
// its send buffer (TCP's `lendRoom` and `sendLent`), not sealed apart and
// then copied there by `send` (a 64 KiB copy per record of a bulk sender).
// On real TCP on loopback; the dialled connection is watched through a
// proxy that counts the calls the record layer makes and passes each on.
// Only a provider that seals in place seals into a loan: libsodium's
// (sodium-native, optional). Without it the tests of loans are skipped, and
// the one on node:crypto checks that nothing is lent and nothing is lost.

const KiB = 1024;
const withSodium = needsSodium("records sealed into lent room (only libsodium's provider seals in place)");
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

interface Calls {
  /** Sizes of the frames handed to `send` (or, joined, to `sendParts`) once the handshake was over. */
  sent: number[];
  /** Sizes of the frames sent from a loan. */
  lent: number[];
  endLoan: number;
  counting: boolean;
}

/** What the watched connection's `lendRoom` answers instead of the connection's own: given the connection's own call. */
type Lender = (lend: (min: number, max: number) => Uint8Array | undefined, min: number, max: number) => Uint8Array | undefined;

/** `conn` as it is, its `send`, `sendParts`, `sendLent` and `endLoan` counted (each still runs on the connection itself); `lender` stands in front of its `lendRoom`. */
function watched(conn: Connection, calls: Calls, lender?: Lender): Connection {
  return new Proxy(conn, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (key === "lendRoom" && lender !== undefined) {
        const lend = (min: number, max: number) => method.call(target, min, max) as Uint8Array | undefined;
        return (min: number, max: number) => lender(lend, min, max);
      }
      return (...args: unknown[]) => {
        if (calls.counting) {
          if (key === "send") calls.sent.push((args[0] as Uint8Array).byteLength);
          else if (key === "sendParts") calls.sent.push((args[0] as Uint8Array[]).reduce((n, part) => n + part.byteLength, 0));
          else if (key === "sendLent") calls.lent.push(args[0] as number);
          else if (key === "endLoan") calls.endLoan++;
        }
        return method.apply(target, args);
      };
    },
  });
}

interface PairOptions {
  /** The client's provider: libsodium's by default. */
  provider?: CryptoProvider;
  /** The cipher both sides run. */
  cipher?: NoiseCipher;
  lender?: Lender;
}

/** A secure pair over TCP; the client's connection below is watched. */
async function watchedPair({ provider = sodiumProvider!, cipher = "ChaChaPoly", lender }: PairOptions = {}) {
  const transport = tcpTransport();
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((resolve) => (accept = resolve));
  const listener = await transport.listen("tcp://127.0.0.1:0", (raw) => void secureConnection(raw, { identity: generateIdentity(), cipher }).then(accept));
  const calls: Calls = { sent: [], lent: [], endLoan: 0, counting: false };
  const client = await secureConnectionWith(provider, watched(await transport.dial(listener.address), calls, lender), { identity: generateIdentity(), cipher });
  const server = await accepted;
  await listener.close();
  open.push(server, client);
  calls.counting = true;
  const { got, received } = collectFrames(server);
  /** Sends `sizes` one at a time, each once the one before arrived, and checks every byte that arrived. */
  const sendEach = async (sizes: number[]) => {
    const frames = sizes.map((size, i) => pattern(size, i));
    const before = got.length;
    for (const [i, frame] of frames.entries()) {
      await client.send(frame);
      await received(before + i + 1);
    }
    expectSame(got.slice(before), frames);
  };
  return { server, client, calls, got, received, sendEach };
}

function expectSame(got: Uint8Array[], frames: Uint8Array[]): void {
  expect(got.map((f) => f.byteLength)).toEqual(frames.map((f) => f.byteLength));
  // Compared as bytes: a deep equality of arrays this large takes seconds.
  got.forEach((f, i) => expect(Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(frames[i]!)).toBe(true));
}

/** The client closed itself with a typed reset after `failing`'s one injected seal failure, and gave its loan back once. */
async function closedBySealFailure(client: SecureConnection, failing: { readonly armed: boolean }, calls: Calls): Promise<void> {
  const info = await within(client.closed, "the client's close");
  expect(failing.armed).toBe(false);
  expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_RESET");
  expect(info.error?.details).toMatchObject({ local: true });
  expect(calls.endLoan).toBe(1);
}

/** The libsodium provider, its sealing of a large record made to throw once when `arm()` was called: an injected failure (what a send does then is under test). */
function failingOnce(): { provider: CryptoProvider; arm(): void; readonly armed: boolean } {
  let armed = false;
  const sodium = sodiumProvider!;
  const provider = Object.create(sodium) as CryptoProvider;
  const sealInto = sodium.sealInto!;
  (provider as { sealInto: typeof sealInto }).sealInto = (...args) => {
    // Only a large record's seal (a frame's small head record, or a small frame's, is sealed as usual).
    if (armed && args[3].byteLength >= 16 * KiB) {
      armed = false;
      throw new Error("injected sealing failure");
    }
    return sealInto.apply(sodium, args);
  };
  Object.defineProperty(provider, "wholeRecords", { value: sodium.wholeRecords === true });
  return {
    provider,
    arm: () => void (armed = true),
    get armed() {
      return armed;
    },
  };
}

/** A full record: 64 KiB less the stream's frame header, 65,532 bytes with its tag. */
const FULL_RECORD = 64 * KiB - 4;

describe.runIf(withSodium)("large records sealed into the send buffer the connection below lends (real TCP)", () => {
  it("large frames arrive byte-exact; their full records leave from loans, small records are copied", async () => {
    const { client, calls, got, received } = await watchedPair();
    const sizes = [64 * KiB, 100, 200 * KiB + 3, 20 * KiB, 7, 64 * KiB, 64 * KiB];
    const frames = sizes.map((size, i) => pattern(size, i));
    for (const frame of frames.slice(0, 3)) await client.send(frame);
    // The rest in one tick: the first sealed at once, the others at the tick's end.
    await Promise.all(frames.slice(3).map((frame) => client.send(frame)));
    await received(frames.length);
    expectSame(got, frames);
    // Every full record left from a loan; nothing of 16 KiB or more was copied by send.
    expect(calls.lent.filter((size) => size === FULL_RECORD).length).toBeGreaterThanOrEqual(6);
    expect(calls.sent.filter((size) => size >= 16 * KiB)).toEqual([]);
    expect(calls.sent.length).toBeGreaterThan(0);
    expect(client.isClosed).toBe(false);
  });

  it("a record that fails to seal into a loan at the tick's end gives the room back and closes the connection with a typed error; nothing after it leaves", async () => {
    const failing = failingOnce();
    const { client, calls, got, server } = await watchedPair({ provider: failing.provider });
    await client.send(pattern(100, 1));
    await vi.waitFor(() => expect(got.length).toBe(1));
    failing.arm();
    // 64 KiB and its 4-byte header leave a 24-byte head, sealed at once inside `send`. The record buffer is still
    // small (only 100 B went before), so the full record is copied into it and sealed at the tick's end (TCP's
    // atTickEnd), past `send`: the failure closes the connection there (the send itself may have resolved by
    // then, as for any record sealed after `send` returned).
    void client.send(pattern(64 * KiB, 2)).catch(() => {});
    await closedBySealFailure(client, failing, calls);
    expect(calls.lent).toEqual([]);
    await expect(client.send(pattern(10, 3))).rejects.toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_/) });
    await within(server.closed, "the server's close");
    expect(got.map((f) => f.byteLength)).toEqual([100]);
  });

  it("a record that fails to seal into a loan inside send gives the room back, and the send rejects with the connection's typed error", async () => {
    const failing = failingOnce();
    const { client, calls, got, server } = await watchedPair({ provider: failing.provider });
    // A large frame first: the record buffer grows to a full record.
    await client.send(pattern(64 * KiB, 1));
    await vi.waitFor(() => expect(got.length).toBe(1));
    const lentBefore = calls.lent.length;
    failing.arm();
    // Its 24-byte head is sealed at once, then its full record straight from the caller's bytes, both inside
    // `send`: the throw goes up through the connection's send (its sendThrew), which closes it and rejects.
    await expect(client.send(pattern(64 * KiB, 2))).rejects.toMatchObject({ code: "XPPG_ERR_CONNECTION_RESET" });
    await closedBySealFailure(client, failing, calls);
    expect(calls.lent.length).toBe(lentBefore);
    await within(server.closed, "the server's close");
    expect(got.map((f) => f.byteLength)).toEqual([64 * KiB]);
  });

  it("a record of small and large frames that fails to seal into a loan at the tick's end closes the connection; the tick's sends resolve, its first frame arrives", async () => {
    const failing = failingOnce();
    const { client, calls, got, server } = await watchedPair({ provider: failing.provider });
    await client.send(pattern(100, 1));
    await vi.waitFor(() => expect(got.length).toBe(1));
    failing.arm();
    // One tick: the 10 B frame is sealed at once; the 20 KiB one shares the tick's next record, sealed at the
    // tick's end (past `send`), where the throw is caught and closes the connection.
    const sends = [client.send(pattern(10, 2)), client.send(pattern(20 * KiB, 3))];
    await closedBySealFailure(client, failing, calls);
    expect(calls.lent).toEqual([]);
    await within(Promise.all(sends), "both sends");
    await within(server.closed, "the server's close");
    expect(got.map((f) => f.byteLength)).toEqual([100, 10]);
  });

  it("a provider whose records are sealed detached (no wholeRecords) seals the ciphertext and tag into the loan apart", async () => {
    // A spread does not carry wholeRecords (not enumerable): sealInto must be called with a tag of its own.
    const sodium = sodiumProvider!;
    const tags: number[] = [];
    const detached: CryptoProvider = {
      ...sodium,
      sealInto(...args) {
        if (args[3].byteLength >= 16 * KiB) tags.push(args[5].byteLength);
        return sodium.sealInto!(...args);
      },
    };
    expect(detached.wholeRecords).toBeUndefined();
    const { calls, sendEach } = await watchedPair({ provider: detached });
    await sendEach([64 * KiB, 100, 130 * KiB + 9]);
    expect(calls.lent.filter((size) => size === FULL_RECORD).length).toBe(3);
    expect(calls.sent.filter((size) => size >= 16 * KiB)).toEqual([]);
    expect(tags).toEqual([16, 16, 16]);
  });

  it("a connection that lends nothing (lendRoom answers undefined) is sent copies, byte-exact", async () => {
    let asked = 0;
    const { calls, sendEach, client } = await watchedPair({ lender: () => void asked++ });
    await sendEach([64 * KiB, 100, 20 * KiB]);
    expect(asked).toBeGreaterThan(0);
    expect(calls.lent).toEqual([]);
    expect(calls.sent).toContain(FULL_RECORD);
    expect(client.isClosed).toBe(false);
  });

  it("lends from a record of 16 KiB of plaintext, not one byte less", async () => {
    const { calls, sendEach } = await watchedPair();
    // A frame and its 4-byte header: a record of 16 KiB less one byte of plaintext, then one of 16 KiB (16 bytes of tag each).
    await sendEach([16 * KiB - 5, 16 * KiB - 4]);
    expect(calls.sent).toEqual([16 * KiB - 1 + 16]);
    expect(calls.lent).toEqual([16 * KiB + 16]);
  });

  it("a loan shorter than asked (a broken lender) is given back and the record sent as a copy; the link stays", async () => {
    const { calls, sendEach, client } = await watchedPair({ lender: (lend, min, max) => lend(min, max)?.subarray(0, min - 1) });
    await sendEach([64 * KiB, 20 * KiB, 100]);
    expect(calls.lent).toEqual([]);
    expect(calls.endLoan).toBeGreaterThanOrEqual(1);
    expect(calls.sent).toContain(FULL_RECORD);
    expect(client.isClosed).toBe(false);
  });

  it("a loan longer than asked (a broken lender) is cut to the record: sent from the loan, byte-exact", async () => {
    const { calls, sendEach, client } = await watchedPair({ lender: (lend, min, max) => lend(min + 8, max + 8) });
    await sendEach([64 * KiB, 20 * KiB, 100]);
    expect(calls.lent).toContain(FULL_RECORD);
    expect(calls.sent.filter((size) => size >= 16 * KiB)).toEqual([]);
    expect(client.isClosed).toBe(false);
  });

  it("with AES-GCM only records under 32 KiB are sealed into a loan (libsodium seals none in place above)", async () => {
    const { calls, sendEach } = await watchedPair({ cipher: "AESGCM" });
    await sendEach([20 * KiB, 64 * KiB]);
    expect(calls.lent).toEqual([20 * KiB + 4 + 16]);
    expect(calls.sent).toContain(FULL_RECORD);
  });
});

describe("records on node:crypto, which seals nothing in place (real TCP)", () => {
  it("lends nothing: every record goes through send, byte-exact", async () => {
    const { calls, sendEach, client } = await watchedPair({ provider: nodeCryptoProvider });
    await sendEach([64 * KiB, 100, 20 * KiB]);
    expect(calls.lent).toEqual([]);
    expect(calls.endLoan).toBe(0);
    expect(calls.sent).toContain(FULL_RECORD);
    expect(client.isClosed).toBe(false);
  });
});
