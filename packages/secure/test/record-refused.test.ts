import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it } from "vitest";
import { generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { codeOf, collectFrames, pattern, securePair, statingLimit } from "./helpers.js";

// Records are cut to what the connection below takes (its maxFrameSize, when
// it states one), so a secure channel over a transport whose frames are
// smaller than a full record (65,535 bytes) carries large frames. A
// connection too small even for a record's tag and one byte still refuses
// every record: the link ends with that refusal's code, before a nonce is
// spent (a lost record would be a gap in the nonces, into which every later
// record would fall: the peer would take them for tampering). On real TCP on loopback.

const KiB = 1024;
const open: SecureConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function pairOver16KiB() {
  const { server, client, listener } = await securePair(tcpTransport({ maxFrameSize: 16 * KiB }), "tcp://127.0.0.1:0", { identity: generateIdentity() }, { identity: generateIdentity() });
  await listener.close();
  open.push(server, client);
  const { got, received } = collectFrames(server);
  return { server, client, got, received };
}

describe("records over a connection with frames smaller than a full record", () => {
  it("large frames arrive whole and in order, each sent alone or several in one tick; the link stays open", async () => {
    const { server, client, got, received } = await pairOver16KiB();
    const sizes = [100, 20 * KiB, 16 * KiB - 20, 16 * KiB, 200 * KiB + 3, 7, 64 * KiB];
    const frames = sizes.map((size, i) => pattern(size, i));
    for (const frame of frames.slice(0, 3)) await client.send(frame);
    // The rest in one tick: the first sealed at once, the others at the tick's end.
    await Promise.all(frames.slice(3).map((frame) => client.send(frame)));
    await received(frames.length);
    expect(got.map((f) => f.byteLength)).toEqual(sizes);
    got.forEach((f, i) => expect(f).toEqual(frames[i]));
    expect(client.isClosed).toBe(false);
    expect(server.isClosed).toBe(false);
  });

  it("closed in the same turn as a large frame: the peer reads it whole, then the authenticated end (no record it cannot open)", async () => {
    const { server, client, got, received } = await pairOver16KiB();
    const frame = pattern(300 * KiB, 9);
    void client.send(frame);
    void client.close();
    expect((await within(client.closed, "the client's close")).error).toBeUndefined();
    await received(1);
    expect(got[0]).toEqual(frame);
    expect((await within(server.closed, "the server's close")).error).toBeUndefined();
  });
});

describe("a connection below too small for any record", () => {
  it("refuses the first record with XPPG_ERR_FRAME_TOO_LARGE and its words; the link ends, and the peer sees no record it cannot open", async () => {
    const transport = tcpTransport();
    let accept!: (c: SecureConnection) => void;
    const accepted = new Promise<SecureConnection>((resolve) => (accept = resolve));
    const listener = await transport.listen("tcp://127.0.0.1:0", (conn) => void secureConnection(conn, { identity: generateIdentity() }).then(accept));
    // The handshake goes through the real connection; the record layer reads the limit stated after it.
    const client = await secureConnection(statingLimit(await transport.dial(listener.address), 16), { identity: generateIdentity() });
    const server = await accepted;
    await listener.close();
    open.push(server, client);
    const got: number[] = [];
    server.read({ frame: (f) => void got.push(f.byteLength) });
    const sent = await codeOf(client.send(new Uint8Array(1)));
    expect(["resolved", "XPPG_ERR_FRAME_TOO_LARGE"]).toContain(sent);
    const closed = await within(client.closed, "the client's close");
    expect(closed.error?.code).toBe("XPPG_ERR_FRAME_TOO_LARGE");
    expect(closed.error?.message).toMatch(/frame of 21 bytes exceeds maxFrameSize \(16 bytes\)/);
    expect(await codeOf(client.send(new Uint8Array(10)))).toMatch(/^XPPG_ERR_/);
    const peer = await within(server.closed, "the server's close");
    expect(peer.error?.code).not.toBe("XPPG_ERR_DECRYPT_FAILED");
    expect(got).toEqual([]);
  });
});
