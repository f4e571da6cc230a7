import { XPPG_ERROR_CODES } from "@xppg/errors";
import { tcpTransport } from "@xppg/transport-tcp";
import { afterEach, describe, expect, it } from "vitest";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { generateIdentity, type SecureConnection } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";
import { collectFrames, pattern } from "./helpers.js";
import { sodiumProvider } from "./sodium.js";

// Frames that pass `instanceof Uint8Array` but answer a size (or a place) other than their bytes', sent on a
// secure channel over TCP on loopback: the peer must read exactly the bytes they hold (the record layer and
// the peer stay in step), or the send must be refused with a code; never bytes of the record buffer or of the
// memory around them.

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function pair(cryptoProvider: CryptoProvider): Promise<{ client: SecureConnection; server: SecureConnection }> {
  const t = tcpTransport();
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((resolve) => (accept = resolve));
  const listener = await t.listen("tcp://127.0.0.1:0", (conn) => void secureConnectionWith(cryptoProvider, conn, { identity: generateIdentity() }).then(accept));
  open.push(listener);
  const client = await secureConnectionWith(cryptoProvider, await t.dial(listener.address), { identity: generateIdentity() });
  const server = await accepted;
  open.push(client, server);
  return { client, server };
}

/** A subclass whose `length` and `byteLength` claim `claimed` bytes. */
class Lying extends Uint8Array {
  claimed = 0;
  override get length(): number {
    return this.claimed;
  }
  override get byteLength(): number {
    return this.claimed;
  }
}
function lying(real: Uint8Array, claimed: number): Uint8Array {
  const a = new Lying(real.length);
  a.set(real);
  a.claimed = claimed;
  return a;
}

const providers: Array<[string, CryptoProvider | null]> = [
  ["node:crypto", nodeCryptoProvider],
  ["libsodium", sodiumProvider],
];

describe.each(providers)("a secure channel (%s) sent frames whose size lies", (_name, provider) => {
  const run = provider === null ? it.skip : it;

  run.each([
    ["more bytes than it holds, small", 2, 3000],
    ["fewer bytes than it holds, small", 300, 2],
    ["more bytes than it holds, over a record", 200 * 1024, 300 * 1024],
    ["fewer bytes than it holds, over a record", 200 * 1024, 10],
  ])("claiming %s: its real bytes arrive and the frames after it stay in step", async (_what, real, claimed) => {
    const { client, server } = await pair(provider!);
    const { got, received } = collectFrames(server);
    const earlier = pattern(5000, 1);
    const frame = pattern(real, 2);
    void client.send(earlier);
    const sent = client.send(lying(frame, claimed));
    void client.send(pattern(3, 3));
    await received(3);
    await expect(sent).resolves.toBeUndefined();
    expect(got).toEqual([earlier, frame, pattern(3, 3)]);
  });

  run("sendParts with parts claiming other sizes: their real bytes arrive, joined", async () => {
    const { client, server } = await pair(provider!);
    const { got, received } = collectFrames(server);
    const a = pattern(100, 4);
    const b = pattern(70_000, 5);
    await client.send(pattern(5000, 1));
    await client.sendParts([lying(a, 4000), lying(b, 3)]);
    await received(2);
    const joined = new Uint8Array(a.length + b.length);
    joined.set(a);
    joined.set(b, a.length);
    expect(got[1]).toEqual(joined);
  });

  run("a Proxy of a Uint8Array is refused with XPPG_ERR_INVALID_ARGUMENT, and the channel goes on", async () => {
    const { client, server } = await pair(provider!);
    const { got, received } = collectFrames(server);
    const proxy = new Proxy(pattern(5, 6), { get: (target, key) => (key === "length" || key === "byteLength" ? 3000 : Reflect.get(target, key, target)) });
    await expect(client.send(proxy)).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    const notBytes = Object.setPrototypeOf({ length: 3000 }, Uint8Array.prototype) as Uint8Array;
    await expect(client.send(notBytes)).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    await client.send(pattern(3, 3));
    await received(1);
    expect(got).toEqual([pattern(3, 3)]);
  });
});
