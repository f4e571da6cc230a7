// What a frame received over a WebSocket in Node carries in its `buffer`: a small message that came in pieces
// is put together by `ws` in a slice of Node's shared buffer pool, which holds other buffers of the process.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import type { Connection } from "@xppg/transport";
import { deferred, within } from "@xppg/transport/compliance";
import { afterEach, describe, expect, it, vi } from "vitest";
import { webSocketTransport } from "../src/index.js";

const MARK = 0xa7;
const PAYLOAD = 0x5a;
const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A raw TCP client that has done the WebSocket upgrade, and the listener's side of it, which reads into `frames`. */
async function rawPeer(): Promise<{ socket: Socket; frames: Uint8Array[] }> {
  const transport = webSocketTransport();
  const accepted = deferred<Connection>();
  const listener = await transport.listen("ws://127.0.0.1:0/p2p", (c) => accepted.resolve(c));
  cleanup.push(() => listener.close());
  const socket = connect(Number(new URL(listener.address).port), "127.0.0.1");
  socket.on("error", () => {});
  const upgraded = deferred<void>();
  let head = "";
  const onData = (chunk: Buffer): void => {
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    socket.off("data", onData);
    if (head.startsWith("HTTP/1.1 101")) upgraded.resolve();
    else upgraded.reject(new Error(`upgrade refused: ${head}`));
  };
  socket.on("data", onData);
  const key = randomBytes(16).toString("base64");
  socket.write(`GET /p2p HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await within(upgraded.promise, "the upgrade");
  const conn = await within(accepted.promise, "the listener to accept");
  cleanup.push(() => conn.close());
  // Runs first: the raw client answers no close frame.
  cleanup.push(() => void socket.destroy());
  const frames: Uint8Array[] = [];
  // Kept as handed up: the test looks at the memory the transport gave.
  conn.read({ frame: (f) => void frames.push(f) });
  return { socket, frames };
}

/** A masked binary message, as a client sends it, of `n` (126..65535) bytes of PAYLOAD; `first` is its first byte (FIN, opcode). */
function maskedMessage(n: number, first = 0x82): Buffer {
  const mask = randomBytes(4);
  const frame = Buffer.alloc(8 + n);
  frame[0] = first;
  frame[1] = 0x80 | 126;
  frame.writeUInt16BE(n, 2);
  mask.copy(frame, 4);
  for (let i = 0; i < n; i++) frame[8 + i] = PAYLOAD ^ mask[i % 4]!;
  return frame;
}

/** Starts a new shared pool and fills its first quarter with MARK: the next small allocations land right after. */
function markPool(): void {
  let b: Buffer;
  do b = Buffer.allocUnsafe(64).fill(MARK);
  while (b.byteOffset !== 0);
  for (let at = 64; at < Buffer.poolSize / 4; at += 64) Buffer.allocUnsafe(64).fill(MARK);
}

function hasMarkRun(bytes: Uint8Array): boolean {
  let run = 0;
  for (const b of bytes) {
    run = b === MARK ? run + 1 : 0;
    if (run === 32) return true;
  }
  return false;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


/** The one frame received holds the 300 payload bytes, and its whole `buffer` no run of the pool's marker. */
async function expectOneFrameOfItsOwn(frames: Uint8Array[]): Promise<void> {
  await vi.waitFor(() => expect(frames).toHaveLength(1));
  const frame = frames[0]!;
  expect(new Uint8Array(frame)).toEqual(new Uint8Array(300).fill(PAYLOAD));
  expect(hasMarkRun(new Uint8Array(frame.buffer))).toBe(false);
}

describe("a WebSocket message received in Node", () => {
  it("that came in two reads is handed up in memory of its own, not a slice of Node's shared buffer pool", async () => {
    const { socket, frames } = await rawPeer();
    const message = maskedMessage(300);
    socket.write(message.subarray(0, 108));
    // Far enough apart for the listener to read the first piece on its own.
    await pause(100);
    markPool();
    socket.write(message.subarray(108));
    await expectOneFrameOfItsOwn(frames);
  });

  it("that came in two fragments is handed up in memory of its own, not a slice of Node's shared buffer pool", async () => {
    const { socket, frames } = await rawPeer();
    markPool();
    // A binary frame without FIN, then its continuation with FIN.
    socket.write(Buffer.concat([maskedMessage(150, 0x02), maskedMessage(150, 0x80)]));
    await expectOneFrameOfItsOwn(frames);
  });

  it("that came in one read with others stays a view of that read (no copy)", async () => {
    const { socket, frames } = await rawPeer();
    socket.write(Buffer.concat([maskedMessage(300), maskedMessage(200)]));
    await vi.waitFor(() => expect(frames).toHaveLength(2));
    expect(new Uint8Array(frames[0]!)).toEqual(new Uint8Array(300).fill(PAYLOAD));
    expect(new Uint8Array(frames[1]!)).toEqual(new Uint8Array(200).fill(PAYLOAD));
    expect(frames[0]!.buffer).toBe(frames[1]!.buffer);
  });
});
