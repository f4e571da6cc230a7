// A page that is not a secure context (plain http from another machine) has
// no `crypto.subtle`: it runs on noble's JavaScript, whose AES-GCM is 2 to 3
// times slower than its ChaCha20-Poly1305. As a responder it answers an
// offer of AESGCM with ChaChaPoly, and never loads noble's AES-GCM. Its own
// file: `crypto.subtle` is taken away before the page's crypto is first chosen.
import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import { afterAll, expect, it, vi } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { nodeCryptoProvider } from "../src/crypto/node-provider.js";
import { pageChannelProvider } from "../src/crypto/page-provider.js";
import { pageCrypto } from "../src/crypto/web-crypto.js";
import { generateIdentity, type SecureConnection } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";

const real = globalThis.crypto;
vi.stubGlobal("crypto", { getRandomValues: <T extends ArrayBufferView>(a: T): T => real.getRandomValues(a as never) });
afterAll(() => vi.unstubAllGlobals());

it("a page without WebCrypto, answering an initiator that offers AESGCM, runs ChaChaPoly and loads no AES-GCM", async () => {
  expect((await pageCrypto()).name).toBe("noble");
  const t = tcpTransport();
  let accepted!: Promise<SecureConnection>;
  const l = await t.listen("tcp://127.0.0.1:0", (c) => {
    accepted = pageSecureConnection(c, { identity: generateIdentity() });
  });
  try {
    // A Node side made to offer, as a page on WebCrypto does.
    const client = await secureConnectionWith({ ...nodeCryptoProvider, offersAesGcm: true }, await t.dial(l.address), { identity: generateIdentity() });
    const page = await within(accepted, "the page's handshake");
    expect([client.cipher, page.cipher]).toEqual(["ChaChaPoly", "ChaChaPoly"]);
    await client.send(Uint8Array.of(1, 2, 3));
    const got = await new Promise<Uint8Array>((resolve) => page.read({ frame: (f) => resolve(f.slice()) }));
    expect(Array.from(got)).toEqual([1, 2, 3]);
    expect(() => pageChannelProvider.aesGcmSeal(new Uint8Array(32), 0, new Uint8Array(0), new Uint8Array(1))).toThrow(/not loaded yet/);
    await client.close();
    await page.closed;
  } finally {
    await l.close();
  }
});
