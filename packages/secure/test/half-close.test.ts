import { memoryTransport } from "@xppg/transport";
import { describe, expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { generateIdentity, secureConnection as nodeSecureConnection, type SecureConnection } from "../src/index.js";
import { plaintextOf, rawHandshake } from "./helpers.js";

// closeWrite() and onRemoteEnd: a half close, as TCP's. The side that ends its sending reads on; the other learns of
// the end (after every frame before it), sends on, then ends too; both close with no error. In Node's record layer and
// in a page's.

const text = new TextEncoder();
const read = new TextDecoder();

for (const [name, clientConnect] of [
  ["Node's record layer", nodeSecureConnection],
  ["a page's record layer", pageSecureConnection],
] as const) {
  describe(`a half close in ${name}`, { timeout: 20_000 }, () => {
    it("the peer gets every frame sent before the end, then onRemoteEnd; it sends on, and the closing side reads it", async () => {
      const t = memoryTransport();
      let serverEnded!: () => void;
      const atServerEnd = new Promise<void>((r) => (serverEnded = r));
      let clientEnded!: () => void;
      const atClientEnd = new Promise<void>((r) => (clientEnded = r));
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      const listener = await t.listen(`memory://half-${name.length}`, (conn) => void nodeSecureConnection(conn, { identity: generateIdentity(), onRemoteEnd: serverEnded }).then(accept));
      const client = await clientConnect(await t.dial(listener.address), { identity: generateIdentity(), onRemoteEnd: clientEnded });
      const server = await accepted;
      const atServer: string[] = [];
      const atClient: string[] = [];
      let endsSeen = 0;
      server.read({ frame: (f) => void atServer.push(read.decode(f)), close: () => {} });
      client.read({ frame: (f) => void atClient.push(read.decode(f)), close: () => {} });
      void atServerEnd.then(() => (endsSeen = atServer.length));
      await client.send(text.encode("one"));
      await client.send(text.encode("two"));
      client.closeWrite();
      // Its own words: this side ended its sending, and still reads (not closed).
      const late = await client.send(text.encode("late")).then(() => undefined, (error: Error & { code?: string }) => error);
      expect({ code: late?.code, words: late?.message.includes("closeWrite()") && late.message.includes("Open a new connection"), isClosed: client.isClosed }).toEqual({ code: "XPPG_ERR_CONNECTION_CLOSED", words: true, isClosed: false });
      await atServerEnd;
      expect({ atServer, endsSeen }).toEqual({ atServer: ["one", "two"], endsSeen: 2 });
      // The server sends on after the client's end: the client reads it, then the server's own end.
      await server.send(text.encode("after"));
      void server.close();
      await atClientEnd;
      expect(atClient).toEqual(["after"]);
      void client.close();
      const [a, b] = await Promise.all([client.closed, server.closed]);
      expect({ client: a.error?.code, server: b.error?.code }).toEqual({ client: undefined, server: undefined });
      await listener.close();
    });
  });

    it("close() after closeWrite() while the peer still reads: no second end of stream, and the peer closes with no error", async () => {
      const t = memoryTransport();
      let serverEnds = 0;
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      const listener = await t.listen(`memory://twice-${name.length}`, (conn) => void nodeSecureConnection(conn, { identity: generateIdentity(), onRemoteEnd: () => void serverEnds++ }).then(accept));
      const client = await clientConnect(await t.dial(listener.address), { identity: generateIdentity() });
      const server = await accepted;
      const atServer: string[] = [];
      server.read({ frame: (f) => void atServer.push(read.decode(f)), close: () => {} });
      await client.send(text.encode("one"));
      client.closeWrite();
      // The server has not closed: it still reads when the client's close comes.
      await client.close();
      const [atClientClose, atServerClose] = await Promise.all([client.closed, server.closed]);
      // A second end of stream would come after the first: a record after the end, which fails as one.
      expect({ atServer, serverEnds, client: atClientClose.error?.code, server: atServerClose.error?.code }).toEqual({ atServer: ["one"], serverEnds: 1, client: undefined, server: undefined });
      await listener.close();
    });

    it("a record after the peer's end of stream fails as XPPG_ERR_DECRYPT_FAILED, what came before it delivered", async () => {
      const t = memoryTransport();
      let accept!: (c: SecureConnection) => void;
      const accepted = new Promise<SecureConnection>((r) => (accept = r));
      // The side under test is the responder here: its record layer reads what a raw peer seals by hand.
      const listener = await t.listen(`memory://after-end-${name.length}`, (conn) => void clientConnect(conn, { identity: generateIdentity() }).then(accept));
      const raw = await t.dial(listener.address);
      const { session } = await rawHandshake(raw, generateIdentity());
      const secure = await accepted;
      const got: string[] = [];
      secure.read({ frame: (f) => void got.push(read.decode(f)), close: () => {} });
      const empty = new Uint8Array(0);
      await raw.send(session.send.encryptWithAd(empty, plaintextOf(text.encode("before"))));
      await raw.send(session.send.encryptWithAd(empty, empty));
      // Sealed in order, at the next nonce: only its place after the end of stream is wrong.
      await raw.send(session.send.encryptWithAd(empty, plaintextOf(text.encode("after"))));
      const info = await secure.closed;
      expect({ got, code: info.error?.code }).toEqual({ got: ["before"], code: "XPPG_ERR_DECRYPT_FAILED" });
      await raw.close();
      await listener.close();
    });
}
