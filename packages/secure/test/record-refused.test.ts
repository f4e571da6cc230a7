import { tcpTransport } from "@xppg/transport-tcp";
import { within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it } from "vitest";
import { generateIdentity, type SecureConnection } from "../src/index.js";
import { codeOf, securePair } from "./helpers.js";

// A record the connection below refuses while it stays open (a record over that
// transport's maxFrameSize) is lost: a gap in the nonces, into which every later
// record of the link would fall (the peer would take them for tampering). The
// link ends with the refusal's own code instead, on real TCP on loopback.

const KiB = 1024;
const open: SecureConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function pairOver16KiB() {
  const { server, client, listener } = await securePair(tcpTransport({ maxFrameSize: 16 * KiB }), "tcp://127.0.0.1:0", { identity: generateIdentity() }, { identity: generateIdentity() });
  await listener.close();
  open.push(server, client);
  const got: number[] = [];
  server.read({ frame: (f) => void got.push(f.byteLength) });
  return { server, client, got };
}

/** The client's link ended with the refusal's code, later sends reject, the peer saw an end (not a record it cannot open) and only the first frame. */
async function expectEndedByRefusal(server: SecureConnection, client: SecureConnection, got: number[]): Promise<void> {
  const closed = await within(client.closed, "the client's close");
  expect(closed.error?.code).toBe("XPPG_ERR_FRAME_TOO_LARGE");
  expect(await codeOf(client.send(new Uint8Array(10)))).toMatch(/^XPPG_ERR_/);
  const peer = await within(server.closed, "the server's close");
  expect(peer.error?.code).not.toBe("XPPG_ERR_DECRYPT_FAILED");
  expect(got).toEqual([100]);
}

describe("a record the connection below refuses", () => {
  it("alone: the link closes with XPPG_ERR_FRAME_TOO_LARGE (its send rejects with it when the record left at once); nothing follows it", async () => {
    const { server, client, got } = await pairOver16KiB();
    await client.send(new Uint8Array(100));
    await within(new Promise<void>((resolve) => setImmediate(resolve)), "a turn");
    expect(["resolved", "XPPG_ERR_FRAME_TOO_LARGE"]).toContain(await codeOf(client.send(new Uint8Array(20 * KiB))));
    await expectEndedByRefusal(server, client, got);
  });

  it("after the tick's first frame, sealed at the tick's end: the link closes with XPPG_ERR_FRAME_TOO_LARGE; nothing follows it", async () => {
    const { server, client, got } = await pairOver16KiB();
    // The tick's first frame leaves at once; the large one is sealed at the tick's end, its send already answered.
    const first = client.send(new Uint8Array(100));
    void client.send(new Uint8Array(20 * KiB)).catch(() => {});
    await first;
    await expectEndedByRefusal(server, client, got);
  });

  it("closed in the same turn: the link still ends with XPPG_ERR_FRAME_TOO_LARGE, and the peer sees no record it cannot open", async () => {
    const { server, client, got } = await pairOver16KiB();
    await client.send(new Uint8Array(100));
    await within(new Promise<void>((resolve) => setImmediate(resolve)), "a turn");
    // The refusal must not wait for a later turn: the close's end of stream would follow the lost record.
    void client.send(new Uint8Array(20 * KiB)).catch(() => {});
    void client.close();
    const closed = await within(client.closed, "the client's close");
    expect(closed.error?.code).toBe("XPPG_ERR_FRAME_TOO_LARGE");
    const peer = await within(server.closed, "the server's close");
    expect(peer.error?.code).not.toBe("XPPG_ERR_DECRYPT_FAILED");
    expect(got).toEqual([100]);
  });
});
