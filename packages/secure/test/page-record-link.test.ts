// A page's secure channel (the browser entry: WebCrypto's AES-GCM offered in
// the handshake, records through PageRecordLink), run in Node, whose
// `crypto.subtle` is the same API: the transport compliance suite between two
// page sides and between a page and a Node side, and the suite each pair
// settles on.
import type { Connection, ConnectionHandler, DialOptions, Listener, Transport } from "@xppg/transport";
import { memoryTransport } from "@xppg/transport";
import { Collector, patterned, transportComplianceTests, within } from "@xppg/transport/compliance";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { generateIdentity, secureConnection as nodeSecureConnection, type SecureConnection, type SecureConnectionOptions } from "../src/index.js";
import { statingLimit } from "./helpers.js";

type Secure = (conn: Connection, options: SecureConnectionOptions) => Promise<SecureConnection>;

/** `inner` with each accepted connection secured by `listenSide` and each dialled one by `dialSide`. */
function securedBy(inner: Transport, listenSide: Secure, dialSide: Secure, listenOptions: Partial<SecureConnectionOptions> = {}): Transport {
  const server = generateIdentity();
  const client = generateIdentity();
  const maxFrameSize = inner.maxFrameSize;
  const extra = maxFrameSize === undefined ? {} : { maxFrameSize };
  return {
    name: inner.name,
    maxFrameSize,
    canDial: (address) => inner.canDial(address),
    listen: (address: string, onConnection: ConnectionHandler): Promise<Listener> =>
      inner.listen(address, (conn) => void listenSide(conn, { identity: server, ...extra, ...listenOptions }).then(onConnection, () => {})),
    async dial(address: string, options?: DialOptions): Promise<Connection> {
      return dialSide(await inner.dial(address, options), { identity: client, ...extra });
    },
  };
}

transportComplianceTests("a page's secure channel to a page, over memory", () => ({
  transport: securedBy(memoryTransport({ maxFrameSize: 256 * 1024, highWaterMark: 256 * 1024 }), pageSecureConnection, pageSecureConnection),
  listenAddress: "memory://",
  badAddresses: ["not an address", "memory://", "memory://0"],
}));

transportComplianceTests("a page's secure channel to a Node side, over tcp", () => ({
  transport: securedBy(tcpTransport(), nodeSecureConnection, pageSecureConnection),
  listenAddress: "tcp://127.0.0.1:0",
  remoteHost: "127.0.0.1",
  maxFrameSize: 1024 * 1024,
}));

describe("the suite a page settles on", () => {
  const cases: Array<[string, Secure, Partial<SecureConnectionOptions>, string]> = [
    ["a Node side with no cipher set", nodeSecureConnection, {}, "AESGCM"],
    ["a Node side that speaks only ChaChaPoly (as a node of the last release)", nodeSecureConnection, { cipher: "ChaChaPoly" }, "ChaChaPoly"],
    ["another page", pageSecureConnection, {}, "AESGCM"],
  ];
  for (const [name, listenSide, listenOptions, expected] of cases) {
    it(`runs ${expected} with ${name}, and carries small and large frames both ways`, async () => {
      const t = tcpTransport();
      let accepted!: Promise<SecureConnection>;
      const l = await t.listen("tcp://127.0.0.1:0", (c) => {
        accepted = listenSide(c, { identity: generateIdentity(), ...listenOptions });
      });
      try {
        const client = await pageSecureConnection(await t.dial(l.address), { identity: generateIdentity() });
        const server = await within(accepted, "the listener's handshake");
        expect([client.cipher, server.cipher]).toEqual([expected, expected]);
        const atServer = new Collector(server);
        const atClient = new Collector(client);
        const frames = [patterned(100, 1), patterned(65_536, 2), patterned(3, 3), patterned(300_000, 4), patterned(0, 5)];
        await Promise.all([...frames.map((f) => client.send(f)), ...frames.map((f) => server.send(f))]);
        await atServer.waitFor(frames.length);
        await atClient.waitFor(frames.length);
        frames.forEach((f, i) => {
          expect(Buffer.from(atServer.frames[i]!).equals(Buffer.from(f)), `to the listener, frame ${i}`).toBe(true);
          expect(Buffer.from(atClient.frames[i]!).equals(Buffer.from(f)), `to the page, frame ${i}`).toBe(true);
        });
        await client.close();
        await server.closed;
      } finally {
        await l.close();
      }
    });
  }
});

describe("a page's records over a connection of small frames", () => {
  for (const [name, listenSide] of [
    ["a Node side", nodeSecureConnection],
    ["another page", pageSecureConnection],
  ] as const) {
    it(`are cut to the maxFrameSize the connection below states: large frames reach ${name} whole, and the channel stays open`, async () => {
      // Both ends on a memory transport of 16 KiB frames: each refuses a larger frame from the other.
      const t = memoryTransport({ maxFrameSize: 16 * 1024 });
      let accepted!: Promise<SecureConnection>;
      const l = await t.listen("memory://small-frames", (c) => void (accepted = listenSide(c, { identity: generateIdentity() })));
      try {
        const page = await pageSecureConnection(await t.dial(l.address), { identity: generateIdentity() });
        const other = await within(accepted, "the listener's handshake");
        const atOther = new Collector(other);
        const atPage = new Collector(page);
        const frames = [patterned(100, 1), patterned(100_000, 2), patterned(16 * 1024, 3), patterned(300_000, 4)];
        await Promise.all([...frames.map((f) => page.send(f)), ...frames.map((f) => other.send(f))]);
        await atOther.waitFor(frames.length);
        await atPage.waitFor(frames.length);
        frames.forEach((f, i) => {
          expect(Buffer.from(atOther.frames[i]!).equals(Buffer.from(f)), `from the page, frame ${i}`).toBe(true);
          expect(Buffer.from(atPage.frames[i]!).equals(Buffer.from(f)), `to the page, frame ${i}`).toBe(true);
        });
        expect([page.isClosed, other.isClosed]).toEqual([false, false]);
        await page.close();
        expect((await other.closed).error).toBeUndefined();
      } finally {
        await l.close();
      }
    });
  }

  it("end with the connection below's refusal on the page's side when it refuses a record (it states more than it takes), instead of losing it unseen", async () => {
    const t = memoryTransport({ maxFrameSize: 16 * 1024 });
    let accepted!: Promise<SecureConnection>;
    const l = await t.listen("memory://misstated", (c) => void (accepted = nodeSecureConnection(c, { identity: generateIdentity() })));
    try {
      const page = await pageSecureConnection(statingLimit(await t.dial(l.address), 64 * 1024), { identity: generateIdentity() });
      const other = await within(accepted, "the listener's handshake");
      void page.send(patterned(100_000, 1)).catch(() => {});
      await expect(within(page.closed, "the page's close")).resolves.toMatchObject({ error: { code: "XPPG_ERR_FRAME_TOO_LARGE" }, initiator: "local" });
      await within(other.closed, "the other side's close");
    } finally {
      await l.close();
    }
  });
});
