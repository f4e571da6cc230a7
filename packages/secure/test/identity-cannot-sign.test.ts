// An identity that cannot sign its handshake key (its signAsync rejects: a
// key held somewhere that refuses, a broken custom identity) is this side's
// fault, found before any handshake byte is sent: secureConnection rejects
// with XPPG_ERR_INVALID_KEY naming the identity, the original error as its
// cause, and closes the connection cleanly, so that a WebSocket peer sees a
// normal close (1000), not a reset.
import type { CloseInfo, Connection } from "@xppg/transport";
import { within } from "@xppg/transport/compliance";
import { webSocketTransport } from "@xppg/transport-ws";
import { describe, expect, it } from "vitest";
import { SECURE_ERROR_CODES, generateIdentity, secureConnection, type Identity } from "../src/index.js";

/** A real identity whose `signAsync` rejects with `cause`. */
function cannotSign(cause: Error): Identity {
  const real = generateIdentity();
  return {
    peerId: real.peerId,
    publicKey: real.publicKey,
    sign: (data) => real.sign(data),
    signAsync: () => Promise.reject(cause),
    exportSecretKey: () => real.exportSecretKey(),
  };
}

describe("an identity that cannot sign", () => {
  for (const outbound of [true, false]) {
    it(`${outbound ? "dialling" : "accepting"} over WebSocket: rejects with XPPG_ERR_INVALID_KEY (the cause kept), and the peer sees a clean close, not a reset`, async () => {
      const cause = new Error("injected: the key store refused to sign");
      const ws = webSocketTransport();
      let accepted!: (conn: Connection) => void;
      const atListener = new Promise<Connection>((resolve) => (accepted = resolve));
      const listener = await ws.listen("ws://127.0.0.1:0/", accepted);
      try {
        const dialled = await ws.dial(listener.address);
        const listened = await within(atListener, "the accepted connection");
        const [mine, peer] = outbound ? [dialled, listened] : [listened, dialled];
        const error = await secureConnection(mine, { identity: cannotSign(cause) }).then(
          () => undefined,
          (err: unknown) => err as Error & { code?: string },
        );
        expect(error?.code).toBe(SECURE_ERROR_CODES.INVALID_KEY);
        expect(error?.message).toContain("This side's identity could not sign its handshake key");
        expect(error?.cause).toBe(cause);
        const seen: CloseInfo = await within(peer.closed, "the peer's close");
        expect(seen).toEqual({ initiator: "remote" });
        expect((await mine.closed).initiator).toBe("local");
      } finally {
        await listener.close();
      }
    });
  }
});
