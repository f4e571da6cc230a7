import { memoryTransport } from "@xppg/transport";
import { describe, expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { generateIdentity, secureConnection as nodeSecureConnection, type SecureConnection } from "../src/index.js";

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
      await expect(client.send(text.encode("late"))).rejects.toMatchObject({ code: "XPPG_ERR_CONNECTION_CLOSED" });
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
}
