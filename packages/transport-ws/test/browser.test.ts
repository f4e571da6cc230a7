import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { transportComplianceTests } from "@xppg/transport/compliance";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { webSocketTransport as browserTransport, type BrowserWebSocketConstructor } from "../src/browser/index.js";
import { webSocketTransport } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Every module the browser entry loads inside this package, with its bare imports. */
function browserImportGraph(): { files: string[]; bare: Set<string> } {
  const files: string[] = [];
  const bare = new Set<string>();
  const todo = [resolve(here, "../src/browser/index.ts")];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) todo.push(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else bare.add(spec);
    }
  }
  return { files, bare };
}

describe("the browser entry", () => {
  it("loads no node: module and not ws", () => {
    const { files, bare } = browserImportGraph();
    expect(files.length).toBeGreaterThan(3);
    expect([...bare].sort()).toEqual(["@xppg/errors", "@xppg/transport", "@xppg/transport/adapter"]);
  });

  it("cannot listen, and says so with XPPG_ERR_LISTEN_FAILED", async () => {
    await expect(browserTransport().listen("ws://127.0.0.1:0/", () => {})).rejects.toMatchObject({ code: "XPPG_ERR_LISTEN_FAILED" });
  });

  it("fails a dial with XPPG_ERR_DIAL_FAILED when there is no WebSocket class", async () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    delete g.WebSocket;
    try {
      await expect(browserTransport().dial("ws://127.0.0.1:1/")).rejects.toMatchObject({ code: "XPPG_ERR_DIAL_FAILED" });
    } finally {
      if (saved !== undefined) g.WebSocket = saved;
    }
  });
});

// The browser connection dials (here with `ws`'s client class, which has the
// WHATWG API); a Node listener accepts. Together they must pass the suite.
transportComplianceTests("ws (browser dialer)", () => ({
  transport: browserTransport({ maxFrameSize: 128 * 1024, highWaterMark: 128 * 1024, WebSocket: WebSocket as unknown as BrowserWebSocketConstructor }),
  listenTransport: webSocketTransport({ maxFrameSize: 128 * 1024, highWaterMark: 128 * 1024 }),
  listenAddress: "ws://127.0.0.1:0/browser",
  remoteHost: "127.0.0.1",
}));

describe("the browser connection with a hostile server", () => {
  for (const [what, payload, code] of [
    ["a text message", "text" as string | Uint8Array, "XPPG_ERR_TRANSPORT_PROTOCOL"],
    ["a message over maxFrameSize", new Uint8Array(2048), "XPPG_ERR_FRAME_TOO_LARGE"],
  ] as const) {
    it(`closes on ${what} with ${code}`, async () => {
      const { WebSocketServer } = await import("ws");
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      wss.on("connection", (ws) => {
        ws.on("error", () => {});
        ws.send(payload);
      });
      await new Promise((r) => wss.once("listening", r));
      try {
        const port = (wss.address() as { port: number }).port;
        const t = browserTransport({ maxFrameSize: 1024, WebSocket: WebSocket as unknown as BrowserWebSocketConstructor });
        const conn = await t.dial(`ws://127.0.0.1:${port}/`);
        conn.read({ frame: () => {} });
        const info = await conn.closed;
        expect(info.initiator).toBe("remote");
        expect(info.error?.code).toBe(code);
      } finally {
        wss.close();
      }
    });
  }
});
