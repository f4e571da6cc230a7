// What a page holds for a paused reader, in a real browser. A page's WebSocket
// cannot stop reading, so a paused connection (a handler that awaits, a
// download writing to storage, a record layer still opening records) holds
// whatever the peer sends: the transport's `maxHeldBytes` is the cap.
// test/fixtures/page-inbox.ts is bundled with esbuild (browser conditions,
// workspace sources) and run in Debian's Chromium (driven by playwright-core,
// which downloads nothing) against a Node peer behind a `ws` listener: its
// first connection echoes, its second sends (floods, or a bulk transfer that
// awaits each send).
//
// Without /usr/bin/chromium (`apt-get install chromium`), or when it will
// not start, the browser tests skip and say why.
import type { CloseInfo, Connection } from "@xppg/transport";
import { webSocketTransport } from "@xppg/transport-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateIdentity, secureConnection } from "../src/index.js";
import type { PageInboxRequest, PageInboxResult, PageInboxRun } from "./fixtures/page-inbox.js";
import { bundleFixture, chromiumMissing, hostPage, type HostedPage } from "./fixtures/page-host.js";

if (chromiumMissing !== null) console.warn(`page inbox tests skipped: ${chromiumMissing}`);

const MiB = 1024 * 1024;
/** The default `maxHeldBytes` of the browser transport (64 MiB). */
const DEFAULT_MAX_HELD_BYTES = 64 * MiB;
/** How long a page gives a bulk transfer; the test's own timeout is longer, so a stall fails with the page's account of it. */
const PAGE_BULK_TIMEOUT_MS = 120_000;

interface Sender {
  address: string;
  /** How the sending connection closed, as the Node side saw it. */
  sendingClosed: Promise<CloseInfo>;
  /** Payload bytes the sender had sent when it stopped. */
  sent(): number;
  close(): Promise<void>;
}

/**
 * A `ws` listener whose first connection echoes and whose second sends
 * `total` bytes in `frameSize` frames, awaiting each `send` (its flow
 * control: the socket's buffer), under the secure channel if `secure`.
 * Then it waits for the page to close. With `window`, it also keeps at most `window.bytes` sent and not yet
 * acknowledged (each frame the page sends acknowledges `window.ackEvery`).
 */
async function startSender(options: { total: number; frameSize: number; frames?: number; secure?: boolean; window?: { bytes: number; ackEvery: number } }): Promise<Sender> {
  const accepted: Connection[] = [];
  let sent = 0;
  let settle!: (info: CloseInfo) => void;
  const sendingClosed = new Promise<CloseInfo>((resolve) => (settle = resolve));
  const listener = await webSocketTransport().listen("ws://127.0.0.1:0/", (conn) => {
    accepted.push(conn);
    if (accepted.length === 1) {
      conn.read({ frame: (data) => void conn.send(data.slice()).catch(() => {}) });
      return;
    }
    void (async () => {
      const link: Connection = options.secure === true ? await secureConnection(conn, { identity: generateIdentity() }) : conn;
      void link.closed.then(settle);
      let acked = 0;
      let wake: (() => void) | null = null;
      link.read({
        frame: () => {
          acked += options.window?.ackEvery ?? 0;
          wake?.();
        },
        close: () => wake?.(),
      });
      const frame = new Uint8Array(options.frameSize).fill(7);
      let count = 0;
      while ((options.frames !== undefined ? count++ < options.frames : sent < options.total) && !link.isClosed) {
        while (options.window !== undefined && sent - acked >= options.window.bytes && !link.isClosed) await new Promise<void>((w) => (wake = w));
        await link.send(frame).catch(() => {});
        sent += frame.byteLength;
      }
    })().catch(() => {});
  });
  return {
    address: listener.address,
    sendingClosed,
    sent: () => sent,
    async close() {
      await listener.close();
      await Promise.all(accepted.map((c) => c.close()));
    },
  };
}

describe.skipIf(chromiumMissing !== null)("a page's paused connection against a Node peer", () => {
  let hosted: HostedPage | undefined;
  let launchFailed: string | null = null;

  beforeAll(async () => {
    const { code } = await bundleFixture("page-inbox.ts");
    hosted = await hostPage(code, "page-inbox.js", "xppgInbox", "page inbox tests");
    launchFailed = hosted.launchFailed;
  });

  afterAll(async () => {
    await hosted?.close();
  });

  async function runInPage(request: PageInboxRequest): Promise<PageInboxResult> {
    const result = await hosted!.page!.evaluate((req) => (globalThis as unknown as { xppgInbox: PageInboxRun }).xppgInbox(req), request);
    expect(hosted!.pageErrors).toEqual([]);
    expect(result.error).toBeUndefined();
    return result;
  }

  it("fails a flood into a paused page at maxHeldBytes with XPPG_ERR_RECEIVE_BUFFER_FULL on both sides, holding no more; its other connection carries on", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const cap = 8 * MiB;
    const frameSize = 256 * 1024;
    // Four times the cap: a page without one holds all of it (and waits until its timeout).
    const sender = await startSender({ total: 4 * cap, frameSize });
    try {
      const result = await runInPage({ url: sender.address, maxHeldBytes: cap, pauseForever: true, expectBytes: 1, timeoutMs: 10_000 });
      expect(result.closed).toEqual({ initiator: "remote", code: "XPPG_ERR_RECEIVE_BUFFER_FULL" });
      expect(result.read).toBe(0);
      // Held at most the cap and the frame that passed it, which is dropped with the rest (each frame held also
      // counts HELD_FRAME_OVERHEAD, 64 bytes, so the frame that passes it may bring the payloads only to the cap).
      expect(result.peakHeld).toBeLessThanOrEqual(cap + frameSize);
      expect(result.peakHeld).toBeGreaterThan(cap - frameSize);
      expect(result.otherEchoed).toBe(true);
      // The Node peer learns why from the close reason.
      const info = await sender.sendingClosed;
      expect(info.error?.code).toBe("XPPG_ERR_RECEIVE_BUFFER_FULL");
    } finally {
      await sender.close();
    }
  });

  it("fails a flood of empty frames into a paused page at maxHeldBytes too: each frame held counts 64 bytes", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // The least cap the transport takes is its largest frame (1 MiB by default) and 64 bytes.
    const cap = 2 * MiB;
    // Four times the frames that fill the cap at 64 bytes each: a page that counted payloads only would hold them all.
    const sender = await startSender({ total: 0, frameSize: 0, frames: 4 * (cap / 64) });
    try {
      const result = await runInPage({ url: sender.address, maxHeldBytes: cap, pauseForever: true, expectBytes: 1, timeoutMs: 10_000 });
      expect(result.closed).toEqual({ initiator: "remote", code: "XPPG_ERR_RECEIVE_BUFFER_FULL" });
      expect(result.otherEchoed).toBe(true);
      expect((await sender.sendingClosed).error?.code).toBe("XPPG_ERR_RECEIVE_BUFFER_FULL");
    } finally {
      await sender.close();
    }
  });

  it("fails a flood at the default cap, 64 MiB, under the secure channel", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const frameSize = 64 * 1024;
    const sender = await startSender({ total: 2 * DEFAULT_MAX_HELD_BYTES, frameSize, secure: true });
    try {
      const result = await runInPage({ url: sender.address, secure: true, pauseForever: true, expectBytes: 1, timeoutMs: 10_000 });
      expect(result.closed).toEqual({ initiator: "remote", code: "XPPG_ERR_RECEIVE_BUFFER_FULL" });
      // The records held: each a frame and its tag, at most one past the cap.
      expect(result.peakHeld).toBeLessThanOrEqual(DEFAULT_MAX_HELD_BYTES + 2 * frameSize);
      expect(result.otherEchoed).toBe(true);
      expect((await sender.sendingClosed).error?.code).toBe("XPPG_ERR_RECEIVE_BUFFER_FULL");
    } finally {
      await sender.close();
    }
  });

  // A sender that keeps to a window (at most `window` bytes sent and not acknowledged by the page's reader) makes
  // the page hold at most that window, however long the reader pauses: measured in this page, 16.00 MiB at the peak
  // with a 16 MiB window (page/README of @xppg/transport-ws, "In browsers"). The default cap is four times that.
  it("takes an honest bulk transfer, flow-controlled by a 16 MiB window, from a reader that pauses 200 ms every 8 MiB, under the default cap (secure, 64 KiB frames)", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const total = 96 * MiB;
    const window = { bytes: 16 * MiB, ackEvery: MiB };
    const sender = await startSender({ total, frameSize: 64 * 1024, secure: true, window });
    try {
      const result = await runInPage({ url: sender.address, secure: true, ackEveryBytes: MiB, pauseEveryBytes: 8 * MiB, pauseMs: 200, expectBytes: total, timeoutMs: PAGE_BULK_TIMEOUT_MS });
      expect(result.closed).toBeNull();
      expect(result.read).toBe(total);
      // The window, in records (each 64 KiB of payload and its 16-byte tag), is what the page held at most.
      expect(result.peakHeld).toBeLessThanOrEqual(window.bytes + (window.bytes / (64 * 1024)) * 64);
      expect(result.otherEchoed).toBe(true);
    } finally {
      await sender.close();
    }
  }, PAGE_BULK_TIMEOUT_MS + 10_000);

  it("takes the same with 1 MiB frames and no secure channel, from a reader that pauses 1 s every 16 MiB", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const total = 64 * MiB;
    const window = { bytes: 16 * MiB, ackEvery: MiB };
    const sender = await startSender({ total, frameSize: MiB, window });
    try {
      const result = await runInPage({ url: sender.address, ackEveryBytes: MiB, pauseEveryBytes: 16 * MiB, pauseMs: 1000, expectBytes: total, timeoutMs: PAGE_BULK_TIMEOUT_MS });
      expect(result.closed).toBeNull();
      expect(result.read).toBe(total);
      expect(result.peakHeld).toBeLessThanOrEqual(window.bytes);
    } finally {
      await sender.close();
    }
  }, PAGE_BULK_TIMEOUT_MS + 10_000);
});
