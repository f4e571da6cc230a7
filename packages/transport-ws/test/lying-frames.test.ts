import { XPPG_ERROR_CODES } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { deferred, lyingBytes, within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import { webSocketTransport } from "../src/index.js";

// Frames that pass `instanceof Uint8Array` but answer a size other than their bytes', sent over a WebSocket on
// loopback: the peer must get exactly the bytes they hold, or the send must be refused with a code; never
// memory around them (Node's pool, where a copy made by the frame's own `length` would reach).

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function pair(): Promise<{ client: Connection; received: Uint8Array[] }> {
  const t = webSocketTransport();
  const accepted = deferred<Connection>();
  const listener = await t.listen("ws://127.0.0.1:0", (c) => accepted.resolve(c));
  const client = await t.dial(listener.address);
  const server = await within(accepted.promise, "accept");
  cleanup.push(() => Promise.allSettled([client.close(), server.close(), listener.close()]));
  const received: Uint8Array[] = [];
  // Copies as plain Uint8Arrays (a WebSocket frame arrives as a Buffer).
  server.read({ frame: (f) => void received.push(new Uint8Array(f)) });
  return { client, received };
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);


describe("a WebSocket connection sent frames whose size lies", () => {
  it.each([
    [2, 3000],
    [300, 2],
  ])("a subclass of %i bytes claiming %i: its real bytes arrive", async (real, claimed) => {
    const { client, received } = await pair();
    // Node's pool holds other bytes next to where a copy by the claimed size would land.
    Buffer.from(bytes(1000, 0xee));
    await client.send(lyingBytes(real, claimed, 0x11));
    await client.sendParts([lyingBytes(real, claimed, 0x12), bytes(1, 0x13)]);
    await vi.waitFor(() => expect(received).toHaveLength(2));
    const joined = bytes(real + 1, 0x12);
    joined[real] = 0x13;
    expect(received).toEqual([bytes(real, 0x11), joined]);
  });

  it("a Proxy of a Uint8Array, or an object given Uint8Array's prototype, is refused with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const { client, received } = await pair();
    await expect(client.send(new Proxy(bytes(5, 1), {}))).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    await expect(client.send(Object.setPrototypeOf({ length: 3000 }, Uint8Array.prototype) as Uint8Array)).rejects.toMatchObject({ code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    await client.send(bytes(3, 0x77));
    await vi.waitFor(() => expect(received).toHaveLength(1));
    expect(received).toEqual([bytes(3, 0x77)]);
  });
});
