// A WebSocket listener fed arbitrary and mutated-valid bytes on raw TCP
// sockets (fast-check): random bytes, upgrade requests with a line changed or
// cut, and a valid upgrade followed by random frames. Every connection it
// hands over closes with a typed error or none, nothing is thrown, no socket
// stays pending, and a good pair keeps working.
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { isXppgError } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { Collector, numberOf, numbered } from "@xppg/transport/compliance";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { webSocketTransport } from "../src/index.js";

const MAX = 4 * 1024;
const transport = webSocketTransport({ maxFrameSize: MAX, upgradeTimeoutMs: 2_000 });
let listener: Awaited<ReturnType<typeof transport.listen>>;
let port: number;
const accepted: Connection[] = [];
const crashes: unknown[] = [];
const onCrash = (error: unknown): void => void crashes.push(error);

beforeAll(async () => {
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  listener = await transport.listen("ws://127.0.0.1:0/p2p", (c) => {
    accepted.push(c);
    // Read whatever arrives; the test looks only at how it closes.
    c.read({ frame: () => {} });
  });
  port = Number(new URL(listener.address).port);
});
afterAll(async () => {
  await Promise.allSettled(accepted.map((c) => c.close()));
  await listener.close();
  process.off("uncaughtException", onCrash);
  process.off("unhandledRejection", onCrash);
});

const request = (key = randomBytes(16).toString("base64")): string[] => [
  "GET /p2p HTTP/1.1",
  "Host: 127.0.0.1",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${key}`,
  "Sec-WebSocket-Version: 13",
];
const text = (lines: string[]): Buffer => Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");

/** One WebSocket frame, masked as a client must (or not), with any opcode, flags and declared length. */
const frame = fc
  .record({
    fin: fc.boolean(),
    rsv: fc.integer({ min: 0, max: 7 }),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.boolean(),
    payload: fc.uint8Array({ maxLength: 200 }),
    declared: fc.option(fc.constantFrom(126, 127, MAX + 1, 2 ** 32, 2 ** 53 - 1), { nil: undefined }),
  })
  .map(({ fin, rsv, opcode, masked, payload, declared }) => {
    const length = declared ?? payload.length;
    const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
    const m = masked ? 0x80 : 0;
    if (length < 126) head.push(m | length);
    else if (length < 65536) head.push(m | 126, length >> 8, length & 0xff);
    else {
      head.push(m | 127);
      const big = Buffer.alloc(8);
      big.writeBigUInt64BE(BigInt(length));
      head.push(...big);
    }
    const mask = masked ? [...randomBytes(4)] : [];
    return Buffer.concat([Buffer.from(head), Buffer.from(mask), Buffer.from(payload.map((b, i) => (masked ? b ^ mask[i % 4]! : b)))]);
  });

const session = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => [Buffer.from(b)]),
  // An upgrade request with one line replaced, removed, or the request cut short.
  fc.tuple(fc.nat({ max: 5 }), fc.oneof(fc.string({ maxLength: 40 }), fc.constant(""), fc.constantFrom("GET /other HTTP/1.1", "GET /p2p HTTP/1.0", "Sec-WebSocket-Version: 8", "Upgrade: h2c", "Sec-WebSocket-Key: short", "Content-Length: 99999999", "Transfer-Encoding: chunked"))).map(([at, line]) => {
    const lines = request();
    lines[at] = line;
    return [text(lines)];
  }),
  fc.nat({ max: 150 }).map((n) => [text(request()).subarray(0, n)]),
  // A valid upgrade, then frames (valid, reserved opcodes, unmasked, oversized, cut).
  fc.array(frame, { minLength: 1, maxLength: 5 }).map((frames) => [text(request()), ...frames]),
);

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

async function goodPairWorks(n: number): Promise<void> {
  const before = accepted.length;
  const client = await transport.dial(listener.address);
  await vi.waitFor(() => expect(accepted.length).toBeGreaterThan(before), { timeout: 5_000 });
  const server = accepted.at(-1)!;
  const back = new Collector(client);
  await server.send(numbered(n));
  await back.waitFor(1);
  expect(numberOf(back.frames[0]!)).toBe(n);
  await client.close();
}

describe("the WebSocket listener on hostile sockets", () => {
  it("closes every hostile socket, hands over only connections that close with a typed error (or none), leaves nothing pending, and serves a good pair", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(session, { minLength: 1, maxLength: 3 }), async (sessions) => {
        const from = accepted.length;
        const sockets = await Promise.all(sessions.map(() => open()));
        // Each socket writes its bytes and ends its side: the server must then close it (or has already).
        await Promise.all(
          sessions.map(
            (chunks, i) =>
              new Promise<void>((resolve) => {
                const s = sockets[i]!;
                s.on("error", () => {});
                s.on("close", () => resolve());
                s.resume();
                for (const c of chunks) s.write(c);
                s.end();
              }),
          ),
        );
        await vi.waitFor(() => expect(listener.pendingConnections).toBe(0), { timeout: 5_000 });
        for (const c of accepted.slice(from)) {
          const info = await c.closed;
          if (info.error !== undefined) expect(isXppgError(info.error), String(info.error)).toBe(true);
        }
        await goodPairWorks(++n);
        expect(crashes).toEqual([]);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
