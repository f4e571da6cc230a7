// QuickChat for browser pages: listening on TCP and WebSocket at once (a
// WebSocket peer and a TCP peer reach each other through the chat), serving
// plain HTTP on the WebSocket port, and the room topic in shared state.
import { request } from "node:http";
import { Playground } from "@xppg/node";
import { webSocketTransport } from "@xppg/transport-ws";
import { afterEach, describe, expect, it } from "vitest";
import { CHAT_WS_PATH, MAX_TOPIC_LENGTH, TOPIC_KEY, parseTopic, type ChatTopic } from "../src/index.js";
import { loopbackChat, made, terminal } from "./helpers.js";

const nodes: Playground[] = [];
afterEach(async () => {
  await Promise.all([...made.splice(0).map((c) => c.stop()), ...nodes.splice(0).map((n) => n.stop())]);
});

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

describe("QuickChat's ws option", () => {
  it("listens on TCP and WebSocket at once; a WebSocket peer and a TCP chat read each other through it", async () => {
    const hub = loopbackChat("ws-room", { name: "hub", ws: 0 });
    await hub.start();
    const ws = hub.addresses.find((a) => a.startsWith("ws://"))!;
    expect(hub.addresses[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(ws).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+${CHAT_WS_PATH}$`));
    expect(hub.port).toBe(Number(/:(\d+)$/.exec(hub.addresses[0]!)![1]));

    // A TCP chat joins the hub; a WebSocket peer (as a page would) joins it too.
    const tcpTerm = terminal();
    const tcpChat = loopbackChat("ws-room", { name: "tee", input: tcpTerm.input, output: tcpTerm.output });
    await tcpChat.connect("127.0.0.1", hub.port);
    const page = new Playground("ws-room", { transports: [webSocketTransport()], listen: [] });
    nodes.push(page);
    const got: unknown[] = [];
    const names = new Map<string, unknown>();
    page.on("chat", (_src, _kind, payload) => void got.push(payload));
    page.on("chat-name", (src, _kind, payload) => void names.set(src, payload));
    await page.start();
    await page.join(ws);
    const running = tcpChat.run();
    // Through the hub's mesh: the page's broadcast reaches the TCP chat, and back.
    await expect.poll(() => page.meshPeers.map((m) => m.peerId), { timeout: 10_000 }).toContain(tcpChat.peerId);
    // The TCP chat told the mesh its name (a broadcast), so the page knows it before it speaks.
    await expect.poll(() => names.get(tcpChat.peerId), { timeout: 10_000 }).toEqual({ user: "tee" });
    await page.send("chat", { user: "page", text: "from a WebSocket peer" });
    await tcpTerm.waitFor("[page] from a WebSocket peer\n");
    await tcpChat.send("from a TCP chat");
    await expect.poll(() => got, { timeout: 10_000 }).toContainEqual({ user: "tee", text: "from a TCP chat" });
    await tcpChat.stop();
    await running;
  });

  it("answers plain HTTP on the WebSocket port with serveHttp", async () => {
    const hub = loopbackChat("ws-room", { ws: { port: 0, serveHttp: (_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end("the page") } });
    await hub.start();
    const port = /:(\d+)\//.exec(hub.addresses.find((a) => a.startsWith("ws://"))!)![1];
    expect(await httpGet(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: "the page" });
  });

  it("refuses a bad ws port with XPPG_ERR_INVALID_ARGUMENT", () => {
    for (const ws of [-1, 70000, 1.5, { port: NaN }]) {
      expect(() => loopbackChat("r", { ws: ws as number })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("ws must be a port") as unknown }));
    }
  });
});

describe("the room topic", () => {
  it("set in one chat, it reaches the other, and run() prints it", async () => {
    const aTerm = terminal();
    const a = loopbackChat("topic-room", { name: "ann", input: aTerm.input, output: aTerm.output });
    const b = loopbackChat("topic-room", { name: "bo" });
    await a.start();
    await b.connect("127.0.0.1", a.port);
    const running = a.run();
    const seen: ChatTopic[] = [];
    b.onTopic((t) => void seen.push(t));
    expect(b.topic).toBeUndefined();
    b.setTopic("release on friday");
    await aTerm.waitFor("* topic: release on friday (set by bo)\n");
    expect(a.topic).toEqual({ text: "release on friday", by: "bo" });
    expect(seen).toEqual([{ text: "release on friday", by: "bo" }]);
    expect(() => b.setTopic("x".repeat(MAX_TOPIC_LENGTH + 1))).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    await a.stop();
    await running;
  });

  it("a topic value from a peer is checked and cleaned: wrong shapes and over-long ones are ignored", () => {
    const limits = { maxNameLength: 32, maxTextLength: 2000 };
    expect(parseTopic({ text: "ok\u001b[2J\u202Etxt", by: "ann" }, limits)).toEqual({ text: "ok[2Jtxt", by: "ann" });
    expect(parseTopic({ text: "line one\nline two", by: "ann" }, limits)).toEqual({ text: "line one line two", by: "ann" });
    for (const bad of [null, "text", [], { text: 1, by: "a" }, { text: "t" }, { text: "t", by: "" }, { text: "t", by: "n".repeat(33) }, { text: "x".repeat(MAX_TOPIC_LENGTH + 1), by: "a" }]) {
      expect(parseTopic(bad, limits), JSON.stringify(bad)).toBeUndefined();
    }
    expect(TOPIC_KEY).toBe("chat/topic");
  });
});
