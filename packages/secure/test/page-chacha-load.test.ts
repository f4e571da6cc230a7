// A page loads ChaCha20-Poly1305 only for a peer that takes no AES-GCM, and
// never noble's AES-GCM when WebCrypto seals (the web chat's test checks the
// same in a real page, by the scripts it loads): its
// own file, so that no other test has loaded it in this module graph first.
import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import { expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { pageChannelProvider } from "../src/crypto/page-provider.js";
import { generateIdentity, secureConnection, type SecureConnection, type SecureConnectionOptions } from "../src/index.js";

const KEY = new Uint8Array(32);

async function pageTo(listenOptions: Partial<SecureConnectionOptions>): Promise<SecureConnection> {
  const t = tcpTransport();
  let accepted!: Promise<SecureConnection>;
  const l = await t.listen("tcp://127.0.0.1:0", (c) => {
    accepted = secureConnection(c, { identity: generateIdentity(), ...listenOptions });
  });
  try {
    const page = await pageSecureConnection(await t.dial(l.address), { identity: generateIdentity() });
    const node = await within(accepted, "the Node side's handshake");
    await page.close();
    await node.closed;
    return page;
  } finally {
    await l.close();
  }
}

it("talks AESGCM to a Node peer on WebCrypto, loading neither noble cipher, and loads ChaCha20-Poly1305 for a peer that takes no offer", async () => {
  expect((await pageTo({})).cipher).toBe("AESGCM");
  expect(() => pageChannelProvider.aesGcmSeal(KEY, 0, new Uint8Array(0), new Uint8Array(1))).toThrow(/not loaded yet/);
  expect(() => pageChannelProvider.seal(KEY, 0, new Uint8Array(0), new Uint8Array(1))).toThrow(/not loaded yet/);
  expect((await pageTo({ cipher: "ChaChaPoly" })).cipher).toBe("ChaChaPoly");
  expect(pageChannelProvider.seal(KEY, 0, new Uint8Array(0), new Uint8Array(1)).byteLength).toBe(17);
});
