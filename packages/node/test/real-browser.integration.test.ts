// Playground in a real page: the browser entry, bundled with Vite from the
// sources, runs in Debian's Chromium (driven by playwright-core, which
// downloads nothing) and joins a Node peer that listens on TCP and WebSocket
// at once; a second Node peer joins that one over TCP. Broadcasts and state
// cross both links both ways, the page keeps its peer id across a reload
// (IndexedDB), and what a page cannot do fails in words while its link stays.
// The page is a development build (full error texts); the same page as a
// production build shows each error's code, values and the one sentence that
// says where the full text is (@xppg/errors' README).
//
// Without /usr/bin/chromium (`apt-get install chromium`), or when it will
// not start, these tests skip and say why.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tcpTransport } from "@xppg/transport-tcp";
import { webSocketTransport } from "@xppg/transport-ws";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleForBrowser } from "../../../bench/browser/bundle.mjs";
import { TEXTS_LEFT_OUT } from "@xppg/errors";
import { Playground } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const APP = "browser-it";
const WAIT = { timeout: 15_000 };
const chromiumMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} does not exist (apt-get install chromium)`;
if (chromiumMissing !== null) console.warn(`node real-browser tests skipped: ${chromiumMissing}`);

// What the page runs: a Playground driven from the test through globalThis.xppg.
const PAGE = `
import { Playground, createIdentity, loadOrCreateStoredIdentity } from "@xppg/node";
const got = [];
const errors = [];
let pg;
const codeOf = async (f) => { try { await f(); return "no error"; } catch (e) { return e.code + ": " + e.message; } };
globalThis.xppg = {
  got,
  errors,
  async open(url, name) {
    const identity = await loadOrCreateStoredIdentity(name);
    pg = new Playground(${JSON.stringify(APP)}, { identity });
    pg.on("note", (src, _kind, payload) => void got.push({ src, payload }));
    // Its errors are events (pg.events), not messages: pg.on("error") would take messages of the kind "error".
    pg.events.on("error", (e) => void errors.push(e.code + ": " + e.message));
    pg.handle("echo", (from, payload) => ({ echo: payload, from }));
    await pg.start();
    const peer = await pg.join(url);
    return { peerId: pg.peerId, remote: peer.peerId, addresses: pg.addresses };
  },
  send: (payload, to) => pg.send("note", payload, to === undefined ? undefined : { to }),
  request: (kind, payload, to) => pg.request(kind, payload, { to }),
  set: (key, value) => void pg.state.set(key, value),
  get: (key) => pg.state.get(key) ?? null,
  peers: () => pg.peers.map((p) => p.peerId),
  members: () => pg.meshPeers.map((m) => m.peerId),
  keyFile: () => codeOf(() => new Playground("x", { keyFile: "my.key" })),
  statePath: () => codeOf(async () => new Playground("x", { identity: await createIdentity(), statePath: "my.state" })),
  noIdentity: () => codeOf(() => new Playground("x")),
  ownKey: () => codeOf(() => pg.state.set("@" + pg.peerId + "/name", "page")),
  shareFile: () => codeOf(() => pg.shareFile("/etc/hostname")),
  swarmShare: () => codeOf(() => pg.files.share("/etc/hostname")),
  lan: () => codeOf(() => new Playground("x", { discovery: { lan: true } })),
  nodeGroups: () => Promise.all([{ discovery: { dht: {} } }, { files: {} }, { reach: { useRelays: false } }, { acceptFile: () => true }, { stateSyncIntervalMs: 100 }].map((o) => codeOf(() => new Playground("x", o)))),
  stop: () => pg.stop(),
  secure: () => globalThis.isSecureContext,
};
// The test's evaluate callbacks call api(), as the test file's own helper does.
globalThis.api = () => globalThis.xppg;
`;

interface PageApi {
  xppg: {
    got: { src: string; payload: unknown }[];
    errors: string[];
    open(url: string, name: string): Promise<{ peerId: string; remote: string; addresses: string[] }>;
    send(payload: unknown, to?: string): Promise<void>;
    request(kind: string, payload: unknown, to: string): Promise<unknown>;
    set(key: string, value: unknown): void;
    get(key: string): unknown;
    peers(): string[];
    members(): string[];
    keyFile(): Promise<string>;
    statePath(): Promise<string>;
    noIdentity(): Promise<string>;
    ownKey(): Promise<string>;
    shareFile(): Promise<string>;
    swarmShare(): Promise<string>;
    lan(): Promise<string>;
    nodeGroups(): Promise<string[]>;
    stop(): Promise<void>;
    secure(): boolean;
  };
}
/** The page's API; the page defines a global `api` the same way, so callbacks run by page.evaluate can use it. */
const api = (): PageApi["xppg"] => (globalThis as unknown as PageApi).xppg;

describe.skipIf(chromiumMissing !== null)("a Playground in a real Chromium page", () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let launchFailed: string | null = null;
  const pageErrors: string[] = [];
  const bridge = new Playground(APP, { listen: ["tcp://127.0.0.1:0", "ws://127.0.0.1:0/"], transports: [tcpTransport(), webSocketTransport()] });
  const other = new Playground(APP, { port: 0, host: "127.0.0.1" });
  const notes: { src: string; payload: unknown }[] = [];
  let wsAddress = "";
  let pageUrl = "";
  let pagePeerId = "";
  const folder = mkdtempSync(join(tmpdir(), "xppg-browser-it-"));

  beforeAll(async () => {
    // A development build (as vite dev serves it): the error texts in full. And the same page as a production build, minified.
    const { code } = await bundleForBrowser({ root: resolve(here, ".."), code: PAGE, source: true, minify: false, split: false, mode: "development" });
    const production = await bundleForBrowser({ root: resolve(here, ".."), code: PAGE, source: true, split: false, mode: "production" });
    const html = (script: string): string => `<!doctype html><meta charset="utf-8"><title>xppg</title><script type="module" src="/${script}"></script>`;
    server = createServer((req, res) => {
      if (req.url === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html("page.js"));
      else if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(code);
      else if (req.url === "/production") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html("production.js"));
      else if (req.url === "/production.js") res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(production.code);
      else res.writeHead(404).end();
    });
    await new Promise<void>((done) => server!.listen(0, "127.0.0.1", done));
    pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        // insecure.test is 127.0.0.1 under a name that is not "localhost": a page there is not a secure
        // context (as a phone that opens the chat over plain http on the LAN), yet every packet stays on loopback.
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--host-resolver-rules=MAP insecure.test 127.0.0.1"],
        timeout: 15_000,
      });
    } catch (err) {
      launchFailed = `${CHROMIUM} did not start: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
      console.warn(`node real-browser tests skipped: ${launchFailed}`);
      return;
    }
    other.on("note", (src, _kind, payload) => void notes.push({ src, payload }));
    await bridge.start();
    await other.start();
    await other.join(bridge.addresses[0]!);
    wsAddress = bridge.addresses.find((a) => a.startsWith("ws://"))!;
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(pageUrl);
    await page.waitForFunction(() => typeof (globalThis as { xppg?: unknown }).xppg === "object", undefined, WAIT);
    const opened = await page.evaluate(([url]) => api().open(url!, "it-page"), [wsAddress]);
    pagePeerId = opened.peerId;
    expect(opened.remote).toBe(bridge.peerId);
    expect(opened.addresses).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([bridge.stop(), other.stop()]);
    if (server !== undefined) await new Promise<void>((done) => server!.close(() => done()));
    rmSync(folder, { recursive: true, force: true });
  });

  it("broadcasts cross the WebSocket and the TCP link, both ways, through the Node peer", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // The page and the far Node peer learn of each other through the mesh.
    await expect.poll(() => page.evaluate(() => api().members()), WAIT).toContain(other.peerId);
    await page.evaluate(() => api().send({ hello: "from the page", bytes: new Uint8Array([1, 2, 3]) }));
    await expect.poll(() => notes, WAIT).toContainEqual({ src: pagePeerId, payload: { hello: "from the page", bytes: new Uint8Array([1, 2, 3]) } });
    await other.send("note", { hello: "from Node" });
    await expect.poll(() => page.evaluate(() => api().got), WAIT).toContainEqual({ src: other.peerId, payload: { hello: "from Node" } });
    // And a direct message to the bridge.
    const direct: unknown[] = [];
    bridge.on("note", (src, _kind, payload) => void (src === pagePeerId && direct.push(payload)));
    await page.evaluate(([to]) => api().send("just for you", to), [bridge.peerId]);
    await expect.poll(() => direct, WAIT).toEqual(["just for you"]);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("unicast and requests reach the far Node peer through the bridge (route/1), both ways", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // The far peer is no neighbour of the page: what goes between them is routed by the bridge, end to end secure.
    expect(await page.evaluate(() => api().peers())).toEqual([bridge.peerId]);
    await expect.poll(() => other.meshPeers.some((m) => m.peerId === pagePeerId), WAIT).toBe(true);
    await other.send("note", "routed to the page", { to: pagePeerId });
    await expect.poll(() => page.evaluate(() => api().got), WAIT).toContainEqual({ src: other.peerId, payload: "routed to the page" });
    await page.evaluate(([to]) => api().send("routed to Node", to), [other.peerId]);
    await expect.poll(() => notes, WAIT).toContainEqual({ src: pagePeerId, payload: "routed to Node" });
    // A request each way, over the routed channels.
    expect(await other.request("echo", { n: 1 }, { to: pagePeerId })).toEqual({ echo: { n: 1 }, from: other.peerId });
    const unhandle = other.handle("echo", (from, payload) => ({ echo: payload, from }));
    expect(await page.evaluate(([to]) => api().request("echo", { n: 2 }, to!), [other.peerId])).toEqual({ echo: { n: 2 }, from: pagePeerId });
    unhandle();
    expect(await page.evaluate(() => api().errors)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("state set in the page reaches the far Node peer, and the other way", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    await page.evaluate(() => api().set("from-page", { n: 1 }));
    await expect.poll(() => other.state.get("from-page"), WAIT).toEqual({ n: 1 });
    other.state.set("from-node", "hi page");
    await expect.poll(() => page.evaluate(() => api().get("from-node")), WAIT).toBe("hi page");
    // Own keys: the page's signed on WebCrypto (made once signed) and checked by the Node peers; a Node peer's checked in the page.
    expect(await page.evaluate(() => api().ownKey())).toBe("no error");
    await expect.poll(() => other.state.get(`@${pagePeerId}/name`), WAIT).toBe("page");
    other.state.set(`@${other.peerId}/name`, "node");
    await expect.poll(() => page.evaluate((key) => api().get(key), `@${other.peerId}/name`), WAIT).toBe("node");
  }, 30_000);

  it("what a page cannot do fails with XPPG_ERR_NOT_IN_BROWSER, and a file offered to it is refused while its link stays", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    expect(await page.evaluate(() => api().keyFile())).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: keyFile .*loadOrCreateStoredIdentity/);
    expect(await page.evaluate(() => api().statePath())).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: statePath/);
    // A page's key is made on WebCrypto, asynchronously: the node is given it.
    expect(await page.evaluate(() => api().noIdentity())).toMatch(/^XPPG_ERR_INVALID_ARGUMENT: .*await createIdentity\(\)/);
    expect(await page.evaluate(() => api().shareFile())).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: shareFile/);
    expect(await page.evaluate(() => api().lan())).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: discovery\.lan/);
    // The groups only a Node host backs are refused in words, not checked and ignored.
    const [dht, files, reach, acceptFile, syncInterval] = await page.evaluate(() => api().nodeGroups());
    expect(dht).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: discovery\.dht .*UDP/);
    expect(files).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: files tunes pg\.files.*disk/);
    expect(reach).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: reach .*only dials/);
    expect(acceptFile).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: acceptFile .*no disk/);
    expect(syncInterval).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: stateSyncIntervalMs needs a file system/);
    expect(await page.evaluate(() => api().swarmShare())).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: pg\.files\.share/);
    // A page does not offer files/2 (no disk), so no Node peer asks it for files; it routes (route/1).
    expect(bridge.peers.find((p) => p.peerId === pagePeerId)?.capabilities).toEqual(["dup/1", "mesh/1", "route/1"]);
    const file = join(folder, "offered.txt");
    // Large enough that the page's refusal (one round trip) comes long before the last chunk would:
    // the sender stops at the first chunk after every receiver refused.
    writeFileSync(file, Buffer.alloc(32 * 1024 * 1024, 7));
    await expect(bridge.shareFile(file, { to: pagePeerId })).rejects.toMatchObject({ code: "XPPG_ERR_FILE_TRANSFER_FAILED", message: expect.stringContaining("browser page") as unknown });
    expect(bridge.peers.map((p) => p.peerId)).toContain(pagePeerId);
    expect(await page.evaluate(() => api().peers())).toEqual([bridge.peerId]);
  }, 30_000);

  it("a production build's errors carry their code, their values and the sentence saying where the full text is", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const prod = await browser!.newPage();
    prod.on("pageerror", (e) => pageErrors.push(e.message));
    await prod.goto(`${pageUrl}production`);
    await prod.waitForFunction(() => typeof (globalThis as { xppg?: unknown }).xppg === "object", undefined, WAIT);
    const sentence = ` — ${TEXTS_LEFT_OUT}`;
    // An option only Node backs: the code, the value the text shows (the key file's path), the sentence.
    const keyFile = await prod.evaluate(() => api().keyFile());
    expect(keyFile).toBe(`XPPG_ERR_NOT_IN_BROWSER: XPPG_ERR_NOT_IN_BROWSER: keyFile, "my.key"${sentence}`);
    // The development build says the same error in words (the test above reads them).
    expect(await page.evaluate(() => api().keyFile())).toMatch(/^XPPG_ERR_NOT_IN_BROWSER: keyFile \("my\.key"\) needs a file system/);
    expect(await prod.evaluate(() => api().statePath())).toBe(`XPPG_ERR_NOT_IN_BROWSER: XPPG_ERR_NOT_IN_BROWSER: statePath, "my.state"${sentence}`);
    // An invalid argument: the call and the problem's values.
    const noIdentity = await prod.evaluate(() => api().noIdentity());
    expect(noIdentity).toBe(`XPPG_ERR_INVALID_ARGUMENT: XPPG_ERR_INVALID_ARGUMENT: new Playground(appName, options), identity${sentence}`);
    expect(noIdentity).not.toContain("await createIdentity()");
    const refused = ["discovery.dht", "files", "reach", "acceptFile", "stateSyncIntervalMs"];
    expect(await prod.evaluate(() => api().nodeGroups())).toEqual(refused.map((option) => `XPPG_ERR_NOT_IN_BROWSER: XPPG_ERR_NOT_IN_BROWSER: ${option}${sentence}`));
    await prod.close();
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("a reloaded page has the same peer id (its key is in IndexedDB) and rejoins", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    await page.reload();
    await page.waitForFunction(() => typeof (globalThis as { xppg?: unknown }).xppg === "object", undefined, WAIT);
    const again = await page.evaluate(([url]) => api().open(url!, "it-page"), [wsAddress]);
    expect(again.peerId).toBe(pagePeerId);
    // Another name is another key.
    const second = await browser!.newPage();
    await second.goto(pageUrl);
    await second.waitForFunction(() => typeof (globalThis as { xppg?: unknown }).xppg === "object", undefined, WAIT);
    const other2 = await second.evaluate(([url]) => api().open(url!, "it-page-2"), [wsAddress]);
    expect(other2.peerId).not.toBe(pagePeerId);
    // Page to page through the bridge: a routed channel whose two ends are pages (AES-GCM on WebCrypto at both).
    await expect.poll(() => second.evaluate(() => api().members()), WAIT).toContain(pagePeerId);
    expect(await second.evaluate(([to]) => api().request("echo", { n: 3 }, to!), [pagePeerId])).toEqual({ echo: { n: 3 }, from: other2.peerId });
    await second.evaluate(() => api().stop());
    await second.close();
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("works in a page that is not a secure context (plain http by name, no WebCrypto), keeping its id across a reload", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const plain = await browser!.newPage();
    plain.on("pageerror", (e) => pageErrors.push(e.message));
    const wsPort = /:(\d+)\/$/.exec(wsAddress)![1];
    const open = async (): Promise<string> => {
      await plain.waitForFunction(() => typeof (globalThis as { xppg?: unknown }).xppg === "object", undefined, WAIT);
      expect(await plain.evaluate(() => api().secure())).toBe(false);
      return (await plain.evaluate(([url]) => api().open(url!, "plain-page"), [`ws://insecure.test:${wsPort}/`])).peerId;
    };
    await plain.goto(pageUrl.replace("127.0.0.1", "insecure.test"));
    const first = await open();
    await plain.evaluate(() => api().send({ hello: "from a plain http page" }));
    await expect.poll(() => notes, WAIT).toContainEqual({ src: first, payload: { hello: "from a plain http page" } });
    await plain.reload();
    expect(await open()).toBe(first);
    await plain.close();
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
