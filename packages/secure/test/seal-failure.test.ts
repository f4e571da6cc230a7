import { isXppgError } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it, vi } from "vitest";
import type { CryptoProvider } from "../src/crypto/provider.js";
import { cryptoProvider, generateIdentity, secureConnection } from "../src/index.js";
import { secureConnectionWith } from "../src/record-secure-connection.js";

/**
 * The real provider, but its record sealing throws once when armed: an
 * injected failure (the provider is not under test; what a send does when
 * sealing fails is).
 */
function failingOnce(base: CryptoProvider): CryptoProvider & { arm(): void; fired: boolean } {
  const wrapper = Object.create(base) as CryptoProvider & { arm(): void; fired: boolean; armed: boolean };
  wrapper.armed = false;
  wrapper.fired = false;
  wrapper.arm = () => void (wrapper.armed = true);
  const trip = (): void => {
    if (!wrapper.armed) return;
    wrapper.armed = false;
    wrapper.fired = true;
    throw new Error("injected sealing failure");
  };
  for (const name of ["seal", "aesGcmSeal", "sealParts", "sealInto"] as const) {
    const original = base[name] as ((...args: unknown[]) => unknown) | undefined;
    if (original === undefined) continue;
    (wrapper as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      trip();
      return original.apply(base, args);
    };
  }
  return wrapper;
}

/** A TCP listener on loopback that accepts secure connections with `cipher` and records the text of every frame they read. */
async function recordingListener(cipher: "AESGCM" | "ChaChaPoly") {
  const transport = tcpTransport();
  const accepted: Connection[] = [];
  const got: string[] = [];
  const listener = await transport.listen("tcp://127.0.0.1:0", (raw) => {
    void secureConnection(raw, { identity: generateIdentity(), cipher }).then((conn) => {
      accepted.push(conn);
      conn.read({ frame: (f) => void got.push(new TextDecoder().decode(f)) });
    });
  });
  return { transport, listener, accepted, got };
}

describe("a record that fails to seal (real TCP)", () => {
  for (const cipher of ["AESGCM", "ChaChaPoly"] as const) {
    it(`${cipher}: the send rejects with a typed error, the connection closes, and new connections carry on`, async () => {
      const { transport, listener, accepted, got } = await recordingListener(cipher);
      try {
        const provider = failingOnce(cryptoProvider);
        const client = await secureConnectionWith(provider, await transport.dial(listener.address), { identity: generateIdentity(), cipher });
        provider.arm();
        let sent: Promise<void> | undefined;
        // The first frame of a tick is sealed at once: the failure must come back as a rejection, not a throw.
        expect(() => (sent = client.send(new TextEncoder().encode("lost")))).not.toThrow();
        expect(provider.fired).toBe(true);
        const error: unknown = await sent!.then(
          () => "resolved",
          (e: unknown) => e,
        );
        expect(isXppgError(error, "XPPG_ERR_CONNECTION_RESET")).toBe(true);
        const info = await client.closed;
        expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_RESET");
        // The deferred flush of that tick does not throw again (it would be an uncaught exception failing this run).
        await new Promise<void>((resolve) => setImmediate(resolve));
        // The process carries on: a new connection with the same provider works.
        const again = await secureConnectionWith(provider, await transport.dial(listener.address), { identity: generateIdentity(), cipher });
        await again.send(new TextEncoder().encode("after"));
        await vi.waitFor(() => expect(got).toEqual(["after"]));
        await again.close();
      } finally {
        for (const conn of accepted) await conn.close();
        await listener.close();
      }
    });

    // A tick's later frames are sealed after `send` returned (and the last ones by close): a failure there
    // used to throw where nothing caught it, which ended the process.
    for (const when of ["in the tick's deferred flush", "when close seals what waits"] as const) {
      it(`${cipher}: a record that fails to seal ${when} closes the connection with a typed error, and nothing after it leaves`, async () => {
        const { transport, listener, accepted, got } = await recordingListener(cipher);
        try {
          const provider = failingOnce(cryptoProvider);
          const client = await secureConnectionWith(provider, await transport.dial(listener.address), { identity: generateIdentity(), cipher });
          const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
          // The tick's first frame is sealed at once; the second waits for the tick's flush (or the close).
          await client.send(encode("first"));
          provider.arm();
          void client.send(encode("second")).catch(() => {});
          expect(provider.fired).toBe(false);
          if (when === "when close seals what waits") await client.close();
          const info = await client.closed;
          expect(provider.fired).toBe(true);
          expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_RESET");
          expect(info.error?.details).toMatchObject({ local: true });
          await expect(client.send(encode("third"))).rejects.toMatchObject({ code: expect.stringMatching(/^XPPG_ERR_/) });
          await vi.waitFor(() => expect(accepted[0]?.isClosed).toBe(true));
          // "first" may be cut off by the reset; nothing sealed after the failed record may arrive.
          expect(got.filter((text) => text !== "first")).toEqual([]);
        } finally {
          for (const conn of accepted) await conn.close();
          await listener.close();
        }
      });
    }
  }
});
