// `serveHttp`: one listener port answers plain HTTP with the application's
// handler (a web page) and still upgrades WebSocket requests to connections.
import { request } from "node:http";
import type { Connection } from "@xppg/transport";
import { describe, expect, it } from "vitest";
import { webSocketTransport } from "../src/index.js";

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("serveHttp", () => {
  it("answers plain requests with the handler and upgrades the WebSocket path", async () => {
    const seen: string[] = [];
    const transport = webSocketTransport({
      serveHttp: (req, res) => {
        seen.push(req.url ?? "");
        res.writeHead(200, { "content-type": "text/plain" }).end("a page");
      },
    });
    const accepted: Connection[] = [];
    const listener = await transport.listen("ws://127.0.0.1:0/xppg", (c) => accepted.push(c));
    try {
      expect(await get(listener.port!, "/index.html")).toEqual({ status: 200, body: "a page" });
      expect(seen).toEqual(["/index.html"]);
      const conn = await webSocketTransport().dial(listener.address);
      await expect.poll(() => accepted.length).toBe(1);
      await conn.close();
    } finally {
      await listener.close();
    }
  });

  it("without it, a plain request gets 426 and the hint to use a WebSocket client", async () => {
    const listener = await webSocketTransport().listen("ws://127.0.0.1:0/", () => {});
    try {
      const res = await get(listener.port!, "/");
      expect(res.status).toBe(426);
      expect(res.body).toContain("WebSocket client");
    } finally {
      await listener.close();
    }
  });
});
