import type { Connection } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { cryptoProvider, generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";

// A large record is sealed straight into room the connection below lends of
// its send buffer (TCP's `lendRoom` and `sendLent`), not sealed apart and
// then copied there by `send` (a 64 KiB copy per record of a bulk sender).
// On real TCP on loopback; the dialled connection is watched through a
// proxy that counts the calls the record layer makes and passes each on.

const KiB = 1024;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** Bytes 0, 1, 2, ... (mod 251) from `seed`: a frame whose every byte is checked at the other end. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed + i) % 251;
  return bytes;
}

interface Calls {
  /** Sizes of the frames handed to `send` once the handshake was over. */
  sent: number[];
  /** Sizes of the frames sent from a loan. */
  lent: number[];
  endLoan: number;
  counting: boolean;
}

/** `conn` as it is, its `send`, `sendLent` and `endLoan` counted (each still runs on the connection itself). */
function watched(conn: Connection, calls: Calls): Connection {
  return new Proxy(conn, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (calls.counting) {
          if (key === "send") calls.sent.push((args[0] as Uint8Array).byteLength);
          else if (key === "sendLent") calls.lent.push(args[0] as number);
          else if (key === "endLoan") calls.endLoan++;
        }
        return method.apply(target, args);
      };
    },
  });
}

/** A secure pair over TCP; the client's connection below is watched, and its provider may be another than the default. */
async function watchedPair(provider: CryptoProvider = cryptoProvider) {
  const transport = tcpTransport();
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((resolve) => (accept = resolve));
  const listener = await transport.listen("tcp://127.0.0.1:0", (raw) => void secureConnection(raw, { identity: generateIdentity() }).then(accept));
  const calls: Calls = { sent: [], lent: [], endLoan: 0, counting: false };
  const client = await secureConnectionWith(provider, watched(await transport.dial(listener.address), calls), { identity: generateIdentity() });
  const server = await accepted;
  await listener.close();
  open.push(server, client);
  calls.counting = true;
  const got: Uint8Array[] = [];
  let arrived: () => void = () => {};
  server.read({
    frame: (f) => {
      got.push(f.slice());
      arrived();
    },
  });
  const received = (n: number) =>
    within(
      new Promise<void>((resolve) => {
        arrived = () => {
          if (got.length >= n) resolve();
        };
        arrived();
      }),
      `${n} frames`,
    );
  return { server, client, calls, got, received };
}

describe("large records sealed into the send buffer the connection below lends (real TCP)", () => {
  it("large frames arrive byte-exact; their full records leave from loans, small records are copied", async () => {
    const { client, calls, got, received } = await watchedPair();
    const sizes = [64 * KiB, 100, 200 * KiB + 3, 20 * KiB, 7, 64 * KiB, 64 * KiB];
    const frames = sizes.map((size, i) => pattern(size, i));
    for (const frame of frames.slice(0, 3)) await client.send(frame);
    // The rest in one tick: the first sealed at once, the others at the tick's end.
    await Promise.all(frames.slice(3).map((frame) => client.send(frame)));
    await received(frames.length);
    expect(got.map((f) => f.byteLength)).toEqual(sizes);
    // Compared as bytes: a deep equality of arrays this large takes seconds.
    got.forEach((f, i) => expect(Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(frames[i]!)).toBe(true));
    // Every full record (64 KiB less the stream's frame header: 65,532 bytes with its tag) left from a loan;
    // nothing of 16 KiB or more was copied by send.
    expect(calls.lent.filter((size) => size === 64 * KiB - 4).length).toBeGreaterThanOrEqual(6);
    expect(calls.sent.filter((size) => size >= 16 * KiB)).toEqual([]);
    expect(calls.sent.length).toBeGreaterThan(0);
    expect(client.isClosed).toBe(false);
  });

  it("a record that fails to seal into a loan gives the room back and closes the connection with a typed error; nothing after it leaves", async () => {
    let armed = false;
    // The real provider, its sealing of a large record made to throw once when armed: an injected failure (what a send does then is under test).
    const provider = Object.create(cryptoProvider) as CryptoProvider;
    const sealInto = cryptoProvider.sealInto!;
    (provider as { sealInto: typeof sealInto }).sealInto = (...args) => {
      // Only a large record's seal (a frame's small head record is sealed first, the usual way).
      if (armed && args[3].byteLength >= 16 * KiB) {
        armed = false;
        throw new Error("injected sealing failure");
      }
      return sealInto.apply(cryptoProvider, args);
    };
    Object.defineProperty(provider, "wholeRecords", { value: cryptoProvider.wholeRecords === true });
    const { client, calls, got, server } = await watchedPair(provider);
    await client.send(pattern(100, 1));
    await vi.waitFor(() => expect(got.length).toBe(1));
    armed = true;
    // The frame's head record is sealed at once, its full record at the tick's end: the failure closes the
    // connection (the send itself may have resolved by then, as for any record sealed after `send` returned).
    void client.send(pattern(64 * KiB, 2)).catch(() => {});
    const info = await within(client.closed, "the client's close");
    expect(armed).toBe(false);
    expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_RESET");
    expect(info.error?.details).toMatchObject({ local: true });
    expect(calls.endLoan).toBe(1);
    expect(calls.lent).toEqual([]);
    await expect(client.send(pattern(10, 3))).rejects.toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_/) });
    await within(server.closed, "the server's close");
    expect(got.map((f) => f.byteLength)).toEqual([100]);
  });
});
