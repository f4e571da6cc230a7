import { XPPG_ERROR_CODES } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { deferred, lyingBytes, within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tcpTransport } from "../src/index.js";

// Arrays that pass `instanceof Uint8Array` but answer a size (or a place) other than their bytes'. The peer
// must get exactly the bytes the array holds, or the send must be refused with a code; never the memory
// around them (the send batch's earlier frames, Node's pool).

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A loopback pair over TCP; `received` collects copies of the frames the server reads. */
async function pair(): Promise<{ client: Connection; server: Connection; received: Uint8Array[] }> {
  const t = tcpTransport();
  const accepted = deferred<Connection>();
  const listener = await t.listen("tcp://127.0.0.1:0", (c) => accepted.resolve(c));
  const client = await t.dial(listener.address);
  const server = await within(accepted.promise, "accept");
  cleanup.push(() => Promise.allSettled([client.close(), server.close(), listener.close()]));
  const received: Uint8Array[] = [];
  server.read({ frame: (f) => void received.push(f.slice()) });
  return { client, server, received };
}

/** `n` bytes of `fill`. */
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);


/** Sends `earlier` (the bytes a lie would leak), then `frame`, then a marker; answers what the server read. */
async function sendBetween(frame: Uint8Array): Promise<{ received: Uint8Array[]; sent: Promise<void> }> {
  const { client, received } = await pair();
  const earlier = bytes(4000, 0xee);
  void client.send(earlier);
  const sent = client.send(frame);
  sent.catch(() => {});
  void client.send(bytes(3, 0x77));
  await vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
  await sent.catch(() => {});
  // The marker arrives last, whatever became of the frame.
  await vi.waitFor(() => expect(received.at(-1)).toEqual(bytes(3, 0x77)), { timeout: 5000 });
  return { received, sent };
}

describe("send with a frame whose size lies", () => {
  it("a subclass claiming more bytes than it holds: its real bytes arrive, none of the batch's earlier frame", async () => {
    const { received, sent } = await sendBetween(lyingBytes(2, 3000, 0x11));
    await expect(sent).resolves.toBeUndefined();
    expect(received).toEqual([bytes(4000, 0xee), bytes(2, 0x11), bytes(3, 0x77)]);
  });

  it("a subclass claiming fewer bytes than it holds: all its bytes arrive, and the frames after it stay in step", async () => {
    const { received, sent } = await sendBetween(lyingBytes(300, 2, 0x22));
    await expect(sent).resolves.toBeUndefined();
    expect(received).toEqual([bytes(4000, 0xee), bytes(300, 0x22), bytes(3, 0x77)]);
  });

  it("a Uint8Array given its own `length`: its real bytes arrive", async () => {
    const frame = bytes(5, 0x33);
    Object.defineProperty(frame, "length", { value: 3000 });
    const { received, sent } = await sendBetween(frame);
    await expect(sent).resolves.toBeUndefined();
    expect(received).toEqual([bytes(4000, 0xee), bytes(5, 0x33), bytes(3, 0x77)]);
  });

  it("a Proxy of a Uint8Array is refused with XPPG_ERR_INVALID_ARGUMENT, and the connection goes on", async () => {
    const frame = new Proxy(bytes(5, 0x44), { get: (target, key) => (key === "length" || key === "byteLength" ? 3000 : Reflect.get(target, key, target)) });
    const { received, sent } = await sendBetween(frame);
    await expect(sent).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    expect(received).toEqual([bytes(4000, 0xee), bytes(3, 0x77)]);
  });

  it("an object given Uint8Array's prototype is refused with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const frame = Object.setPrototypeOf({ length: 3000, byteLength: 3000 }, Uint8Array.prototype) as Uint8Array;
    expect(frame instanceof Uint8Array).toBe(true);
    const { received, sent } = await sendBetween(frame);
    await expect(sent).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    expect(received).toEqual([bytes(4000, 0xee), bytes(3, 0x77)]);
  });

  it("a view of a detached buffer is refused with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const frame = bytes(8, 0x55);
    structuredClone(frame.buffer, { transfer: [frame.buffer as ArrayBuffer] });
    const { received, sent } = await sendBetween(frame);
    await expect(sent).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    expect(received).toEqual([bytes(4000, 0xee), bytes(3, 0x77)]);
  });

  it("a view over a SharedArrayBuffer is sent as its bytes", async () => {
    const frame = new Uint8Array(new SharedArrayBuffer(16), 4, 6).fill(0x66);
    const { received, sent } = await sendBetween(frame);
    await expect(sent).resolves.toBeUndefined();
    expect(received).toEqual([bytes(4000, 0xee), bytes(6, 0x66), bytes(3, 0x77)]);
  });
});

describe("sendParts with parts whose size or place lies", () => {
  it("small parts claiming more bytes than they hold: their real bytes arrive, joined", async () => {
    const { client, received } = await pair();
    await client.send(bytes(4000, 0xee));
    await client.sendParts([lyingBytes(2, 3000, 0x11), bytes(1, 0x12), lyingBytes(3, 1, 0x13)]);
    await client.send(bytes(3, 0x77));
    await vi.waitFor(() => expect(received).toHaveLength(3), { timeout: 5000 });
    expect(received[1]).toEqual(Uint8Array.of(0x11, 0x11, 0x12, 0x13, 0x13, 0x13));
    expect(received[2]).toEqual(bytes(3, 0x77));
  });

  it("a large part (written where it lies) whose buffer and offset lie: its own bytes arrive, not the memory around them", async () => {
    const { client, received } = await pair();
    // The part is the middle of a buffer whose other bytes must stay home.
    const memory = new Uint8Array(3 * 65536).fill(0xaa);
    memory.fill(0x21, 65536, 2 * 65536);
    const part = new Uint8Array(memory.buffer, 65536, 65536);
    Object.defineProperty(part, "byteOffset", { value: 0 });
    Object.defineProperty(part, "byteLength", { value: 3 * 65536 });
    Object.defineProperty(part, "length", { value: 3 * 65536 });
    const sent = client.sendParts([bytes(1, 0x20), part]);
    sent.catch(() => {});
    void client.send(bytes(3, 0x77));
    await vi.waitFor(() => expect(received.at(-1)).toEqual(bytes(3, 0x77)), { timeout: 5000 });
    await expect(sent).resolves.toBeUndefined();
    const expected = new Uint8Array(65537).fill(0x21);
    expected[0] = 0x20;
    expect(received).toEqual([expected, bytes(3, 0x77)]);
  });

  it("a list whose items answer differently the second time: measured and sent from one reading", async () => {
    const { client, received } = await pair();
    await client.send(bytes(4000, 0xee));
    let reads = 0;
    const parts = [bytes(2, 0x31)];
    Object.defineProperty(parts, 0, { get: () => (reads++ === 0 ? bytes(2, 0x31) : bytes(3000, 0x32)), enumerable: true });
    const sent = client.sendParts(parts);
    sent.catch(() => {});
    void client.send(bytes(3, 0x77));
    await vi.waitFor(() => expect(received.at(-1)).toEqual(bytes(3, 0x77)), { timeout: 5000 });
    await expect(sent).resolves.toBeUndefined();
    expect(received).toEqual([bytes(4000, 0xee), bytes(2, 0x31), bytes(3, 0x77)]);
  });

  it("a Proxy part is refused with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const { client } = await pair();
    await expect(client.sendParts([new Proxy(bytes(2, 1), {})])).rejects.toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
  });
});

describe("a part handed over to sendParts that loses its bytes before it is written", () => {
  it("(its buffer detached in the same tick) resets the connection with XPPG_ERR_CONNECTION_RESET; the peer gets no frame out of step", async () => {
    const { client, server, received } = await pair();
    await client.send(bytes(10, 0xee));
    await vi.waitFor(() => expect(received).toHaveLength(1));
    // Two frames in one tick: the first is written at once, the second (and its part, by reference) at the tick's end.
    void client.send(bytes(5, 0x01)).catch(() => {});
    const part = bytes(64 * 1024, 0x42);
    void client.sendParts([bytes(1, 0x41), part]).catch(() => {});
    structuredClone(part.buffer, { transfer: [part.buffer as ArrayBuffer] });
    const info = await within(client.closed, "closed");
    expect(info.error).toMatchObject({ code: "XPPG_ERR_CONNECTION_RESET" });
    expect(String(info.error?.cause)).toMatch(/detached or shrunk/);
    await within(server.closed, "server closed");
    // Whatever arrived is whole frames the caller sent: never the header of the lost part with other bytes after it.
    for (const frame of received.slice(1)) expect(frame).toEqual(bytes(5, 0x01));
  });
});
