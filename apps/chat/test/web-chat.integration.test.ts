// The web chat end to end, in Debian's Chromium (driven by playwright-core,
// which downloads nothing): one terminal chat process started with `--web`
// serves the page and bridges its WebSocket to the room; two pages (one at a
// phone's width) join it. Messages go every way, the topic is shared, a
// reload keeps the page's peer id, a restarted terminal chat is rejoined,
// and hostile pages and peers change nothing for the others.
//
// Without /usr/bin/chromium (`apt-get install chromium`), or when it will
// not start, these tests skip and say why. Screenshots of the pages go to
// apps/chat/test-artifacts/ (not committed).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Playground } from "@xppg/node";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, "../dist/main.js");
const ARTIFACTS = resolve(here, "../test-artifacts");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const ROOM = "web-room";
const WAIT = { timeout: 15_000 };

const chromiumMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} does not exist (apt-get install chromium)`;
if (chromiumMissing !== null) console.warn(`web chat browser tests skipped: ${chromiumMissing}`);

/** The chats' key files: a fresh folder per run, removed after. */
const CONFIG_HOME = mkdtempSync(join(tmpdir(), "xppg-web-chat-config-"));

// ------------------------------------------------------- the terminal chat

interface Terminal {
  child: ChildProcessWithoutNullStreams;
  wsPort: number;
  tcpPort: number;
  peerId: string;
  stdout(): string;
  type(line: string): void;
  stop(): Promise<void>;
}

const children: ChildProcessWithoutNullStreams[] = [];

/**
 * Starts `xppg-chat --web` on loopback ports (a fixed WebSocket port when
 * given, to restart on it); `configHome` gives another key (another peer).
 */
async function startTerminal(wsPort = 0, name = "term", configHome = CONFIG_HOME): Promise<Terminal> {
  const args = ["--port", "0", "--ws", String(wsPort), "--web", "--no-open-port", "--no-lan", "--room", ROOM, "--name", name];
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, XDG_CONFIG_HOME: configHome } });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  await vi.waitFor(() => {
    if (!/ws:\/\/[^:]+:(\d+)\/xppg/.test(out) && child.exitCode === null) throw new Error(`the chat has not started yet:\n${out}\n${err}`);
  }, WAIT);
  if (child.exitCode !== null) throw new Error(`the chat did not start:\n${out}\n${err}`);
  return {
    child,
    wsPort: Number(/ws:\/\/[^:]+:(\d+)\/xppg/.exec(out)![1]),
    tcpPort: Number(/Listening on port (\d+)/.exec(out)![1]),
    peerId: /\(peer (xp1[a-z2-7]+)\)/.exec(out)![1]!,
    stdout: () => out,
    type: (line) => void child.stdin.write(`${line}\n`),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

// ----------------------------------------------------------------- pages

let browser: Browser | undefined;
let launchFailed: string | null = null;
const pageErrors: string[] = [];

interface ChatPage {
  page: Page;
  name: string;
  peerId(): Promise<string>;
}

/** Opens the web chat served by the terminal, joins as `name` and waits for the link. */
async function openPage(terminal: Terminal, name: string, viewport = { width: 1100, height: 720 }): Promise<ChatPage> {
  const context = await browser!.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  await page.goto(`http://127.0.0.1:${terminal.wsPort}/?room=${ROOM}`);
  await joinForm(page, name);
  return { page, name, peerId: async () => (await page.textContent("#self-id")) ?? "" };
}

async function joinForm(page: Page, name: string): Promise<void> {
  await page.fill("#name", name);
  await page.click("#join-button");
  await page.waitForSelector('#link[data-state="connected"]', WAIT);
}

/** The texts of the page's message lines. */
function texts(page: Page): Promise<string[]> {
  return page.$$eval("#messages .line .text", (els) => els.map((e) => e.textContent ?? ""));
}

async function send(p: ChatPage, text: string): Promise<void> {
  await p.page.fill("#message", text);
  await p.page.click("#send-form button");
}

async function screenshot(p: ChatPage, file: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.page.screenshot({ path: join(ARTIFACTS, file) });
}

// ------------------------------------------------------------------- tests

describe("pnpm chat --web serves only the built page", () => {
  it("serves the page with a strict content security policy, and nothing outside it", async () => {
    const terminal = await startTerminal();
    try {
      const base = `http://127.0.0.1:${terminal.wsPort}`;
      const page = await fetch(`${base}/?room=x`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
      expect(await page.text()).toContain("xppg web chat");
      for (const path of ["/../package.json", "/%2e%2e/package.json", "/..%2fpackage.json", "/assets/../../package.json", "//etc/passwd", "/index.html%00"]) {
        expect((await fetch(`${base}${path}`)).status, path).toBe(404);
      }
      expect((await fetch(`${base}/`, { method: "POST", body: "x" })).status).toBe(405);
    } finally {
      await terminal.stop();
    }
  });
});

describe.skipIf(chromiumMissing !== null)("the web chat in real Chromium pages, with a terminal chat", () => {
  let terminal: Terminal;
  let ana: ChatPage;
  let ben: ChatPage;

  beforeAll(async () => {
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    } catch (err) {
      launchFailed = `${CHROMIUM} did not start: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
      console.warn(`web chat browser tests skipped: ${launchFailed}`);
      return;
    }
    terminal = await startTerminal();
    ana = await openPage(terminal, "ana");
    // The second page at a phone's width.
    ben = await openPage(terminal, "ben", { width: 390, height: 780 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(CONFIG_HOME, { recursive: true, force: true });
  });

  it("two pages and the terminal see each other's messages, every way", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // Each page lists the other and the terminal: the page through the terminal (mesh), the terminal directly.
    await expect.poll(() => ana.page.textContent("#people"), WAIT).toMatch(/ben.*through term/);
    await expect.poll(() => ben.page.textContent("#people"), WAIT).toMatch(/term.*direct link \(WebSocket\)/);

    await send(ana, "hello from ana");
    await expect.poll(() => texts(ben.page), WAIT).toContain("hello from ana");
    await expect.poll(() => terminal.stdout(), WAIT).toContain("[ana] hello from ana\n");

    await send(ben, "hello from ben");
    await expect.poll(() => texts(ana.page), WAIT).toContain("hello from ben");
    await expect.poll(() => terminal.stdout(), WAIT).toContain("[ben] hello from ben\n");

    terminal.type("hello from the terminal");
    await expect.poll(() => texts(ana.page), WAIT).toContain("hello from the terminal");
    await expect.poll(() => texts(ben.page), WAIT).toContain("hello from the terminal");
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("a page that chats and shares a topic loads one script: the chunks split off (AES-GCM, routed unicast, port mapping) stay unloaded", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // What bench/browser/size.mjs reports as the first load is then all a chatting page downloads.
    await expect.poll(() => ben.page.textContent("#people"), WAIT).toMatch(/ana/);
    for (const p of [ana, ben]) {
      const scripts = await p.page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.endsWith(".js")));
      expect(scripts.map((n) => n.replace(/^.*\/assets\//, ""))).toEqual([expect.stringMatching(/^index-[\w-]+\.js$/)]);
    }
  });

  it("a topic set in one page shows in the other page and in the terminal", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    await ana.page.click("#topic-edit");
    await ana.page.fill("#topic-input", "Lunch at noon");
    await ana.page.click("#topic-form button");
    await expect.poll(() => ben.page.textContent("#topic-text"), WAIT).toBe("Lunch at noon");
    await expect.poll(() => ben.page.textContent("#topic-by"), WAIT).toBe("set by ana");
    await expect.poll(() => terminal.stdout(), WAIT).toContain("* topic: Lunch at noon (set by ana)");
    // And the terminal's topic reaches the pages.
    terminal.type("/topic Dinner at eight");
    await expect.poll(() => ana.page.textContent("#topic-text"), WAIT).toBe("Dinner at eight");
    await screenshot(ana, "web-chat-desktop.png");
    await screenshot(ben, "web-chat-phone.png");
  }, 60_000);

  it("a message with markup is shown as text: no element is made, no script runs", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const hostile = `<img src=x onerror="globalThis.__pwned = 1"><script>globalThis.__pwned = 2</script>`;
    await send(ana, hostile);
    await expect.poll(() => texts(ben.page), WAIT).toContain(hostile);
    expect(await ben.page.$$("#messages img, #messages script")).toHaveLength(0);
    expect(await ben.page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await ana.page.$$("#messages img, #messages script")).toHaveLength(0);
    await expect.poll(() => terminal.stdout(), WAIT).toContain(`[ana] ${hostile}\n`);
  }, 30_000);

  it("an over-long name or message is refused in words, in the page and from a peer", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // Typed in a page: nothing is sent, the page says why.
    await ben.page.fill("#message", "x".repeat(2500));
    await ben.page.click("#send-form button");
    await expect.poll(() => ben.page.textContent("#send-error"), WAIT).toContain("the limit is 2000");
    await ben.page.fill("#message", "");
    const fresh = await browser!.newPage();
    await fresh.goto(`http://127.0.0.1:${terminal.wsPort}/?room=${ROOM}`);
    await fresh.fill("#name", "n".repeat(40));
    await fresh.click("#join-button");
    await expect.poll(() => fresh.textContent("#join-error"), WAIT).toContain("the limit is 32");
    await fresh.close();

    // From a peer that is not a page: a Node node joins the terminal over TCP and sends too much.
    const rogue = new Playground(ROOM, { port: 0, host: "127.0.0.1" });
    await rogue.start();
    try {
      await rogue.join("127.0.0.1", terminal.tcpPort);
      await rogue.send("chat", { user: "r".repeat(500), text: "too long a name" });
      await rogue.send("chat", { user: "rogue", text: "y".repeat(10_000) });
      await rogue.send("chat", { user: "rogue", text: "a fair message after" });
      await expect.poll(() => texts(ana.page), WAIT).toContain("a fair message after");
      const shown = await texts(ana.page);
      expect(shown.some((t) => t.includes("too long a name") || t.includes("yyyyyyyy"))).toBe(false);
      expect(shown.filter((t) => t.includes("was not shown"))).toHaveLength(2);
    } finally {
      await rogue.stop();
    }
  }, 30_000);

  it("garbage and hundreds of sockets from a page cost the others nothing", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const url = `ws://127.0.0.1:${terminal.wsPort}/xppg`;
    // One socket that sends random bytes: it is closed.
    const garbage = await ben.page.evaluate(async (target) => {
      const ws = new (globalThis as unknown as { WebSocket: new (u: string) => { binaryType: string; readyState: number; send(d: Uint8Array): void; onopen: (() => void) | null; onclose: ((e: { code: number }) => void) | null } }).WebSocket(target);
      ws.binaryType = "arraybuffer";
      return await new Promise<number>((done) => {
        const timer = setTimeout(() => done(-1), 10_000);
        ws.onclose = (e) => {
          clearTimeout(timer);
          done(e.code);
        };
        ws.onopen = () => {
          for (let i = 0; i < 50 && ws.readyState === 1; i++) ws.send(crypto.getRandomValues(new Uint8Array(1 + ((i * 97) % 4000))));
        };
      });
    }, url);
    expect(garbage).not.toBe(-1);

    // 300 sockets at once, left open a moment, then closed.
    const sockets = await ana.page.evaluate(async (target) => {
      type Ws = { readyState: number; close(): void; onopen: (() => void) | null; onclose: (() => void) | null; onerror: (() => void) | null };
      const Ctor = (globalThis as unknown as { WebSocket: new (u: string) => Ws }).WebSocket;
      const all: Ws[] = [];
      let opened = 0;
      let closed = 0;
      await Promise.all(
        Array.from({ length: 300 }, () => {
          const ws = new Ctor(target);
          all.push(ws);
          return new Promise<void>((done) => {
            const timer = setTimeout(done, 10_000);
            ws.onopen = () => {
              opened++;
              clearTimeout(timer);
              done();
            };
            ws.onclose = ws.onerror = () => {
              closed++;
              clearTimeout(timer);
              done();
            };
          });
        }),
      );
      (globalThis as { __flood?: Ws[] }).__flood = all;
      return { opened, closed };
    }, url);
    expect(sockets.opened + sockets.closed).toBeGreaterThan(0);

    // Meanwhile the room works: ben to the terminal and to ana.
    await send(ben, "still here during the flood");
    await expect.poll(() => terminal.stdout(), WAIT).toContain("[ben] still here during the flood\n");
    await expect.poll(() => texts(ana.page), WAIT).toContain("still here during the flood");
    await ana.page.evaluate(() => {
      for (const ws of (globalThis as { __flood?: { close(): void }[] }).__flood ?? []) ws.close();
    });
    expect(terminal.child.exitCode).toBeNull();
    await expect.poll(() => ana.page.getAttribute("#link", "data-state"), WAIT).toBe("connected");
  }, 60_000);

  it("a link's ?ws= on another server is shown and asked about before the page connects; a bad one is not used", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    // Another chat on 127.0.0.1 but another port: another origin than the page, as a stranger's server would be.
    const otherHome = mkdtempSync(join(tmpdir(), "xppg-web-chat-other-"));
    const other = await startTerminal(0, "other", otherHome);
    const own = `ws://127.0.0.1:${terminal.wsPort}/xppg`;
    const foreign = `ws://127.0.0.1:${other.wsPort}/xppg`;
    const base = `http://127.0.0.1:${terminal.wsPort}/?room=${ROOM}`;
    const page = await browser!.newPage();
    try {
      await page.goto(`${base}&ws=${encodeURIComponent(foreign)}`);
      expect(await page.isVisible("#link-warning")).toBe(true);
      expect(await page.textContent("#link-address")).toBe(foreign);
      // Join without answering: the tab does not connect, and says why.
      await page.fill("#name", "linked");
      await page.click("#join-button");
      await expect.poll(() => page.textContent("#join-error"), WAIT).toContain(`The link points this tab at ${foreign}`);
      expect(await page.getAttribute("#link", "data-state")).toBe("stopped");
      expect(await page.isVisible("#chat")).toBe(false);
      // "Connect to it": now it joins the other server, which sees the page.
      await page.click("#link-accept");
      await page.waitForSelector('#link[data-state="connected"]', WAIT);
      const linkedId = (await page.textContent("#self-id")) ?? "";
      await expect.poll(() => other.stdout(), WAIT).toContain(`* linked (${linkedId.slice(0, 11)}) joined`);

      // "Use this page's server" puts the page's own address back.
      await page.goto(`${base}&ws=${encodeURIComponent(foreign)}`);
      await page.click("#link-reject");
      expect(await page.inputValue("#server")).toBe(own);
      expect(await page.isVisible("#link-warning")).toBe(false);

      // The page's own address asks nothing; addresses that are not ws:// or wss:// are not used, in words.
      await page.goto(`${base}&ws=${encodeURIComponent(own)}`);
      expect(await page.isVisible("#link-warning")).toBe(false);
      expect(await page.inputValue("#server")).toBe(own);
      for (const bad of ["javascript:alert(1)", "http://127.0.0.1:1/xppg", "ws://user:secret@127.0.0.1:1/xppg", "not an address"]) {
        await page.goto(`${base}&ws=${encodeURIComponent(bad)}`);
        expect(await page.textContent("#join-error"), bad).toContain("The link's address was not used.");
        expect(await page.inputValue("#server"), bad).toBe(own);
        expect(await page.isVisible("#link-warning"), bad).toBe(false);
      }
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await other.stop();
      rmSync(otherHome, { recursive: true, force: true });
    }
  }, 60_000);

  it("a second tab with the same name (the same key) is told so in words", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const twin = await ana.page.context().newPage();
    await twin.goto(`http://127.0.0.1:${terminal.wsPort}/?room=${ROOM}`);
    await twin.fill("#name", "ana");
    await twin.click("#join-button");
    await expect.poll(() => twin.textContent("#link"), WAIT).toContain("already open in another tab");
    await twin.close();
    // The first tab keeps its link.
    await send(ana, "still the one ana");
    await expect.poll(() => texts(ben.page), WAIT).toContain("still the one ana");
  }, 30_000);

  it("a reloaded page rejoins with the same peer id", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const before = await ana.peerId();
    expect(before).toMatch(/^xp1[a-z2-7]{52}$/);
    await ana.page.reload();
    // The form remembers the name; the identity comes from IndexedDB.
    expect(await ana.page.inputValue("#name")).toBe("ana");
    await joinForm(ana.page, "ana");
    expect(await ana.peerId()).toBe(before);
    await expect.poll(() => terminal.stdout(), WAIT).toMatch(new RegExp(`\\* ana \\(${before.slice(0, 11)}\\) joined[^\\n]*\\n[\\s\\S]*\\* ana \\(${before.slice(0, 11)}\\) joined`));
    await send(ana, "back after a reload");
    await expect.poll(() => texts(ben.page), WAIT).toContain("back after a reload");
  }, 60_000);

  it("pages rejoin a terminal chat that restarts on the same port", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const port = terminal.wsPort;
    await terminal.stop();
    await expect.poll(() => ana.page.getAttribute("#link", "data-state"), WAIT).not.toBe("connected");
    // The terminal's goodbye in words, on the page's production build too (its text is the peer's, not left out).
    const lost = (await texts(ana.page)).filter((t) => t.startsWith("Lost the link"));
    expect(lost.at(-1)).toMatch(/^Lost the link to (ws:\/\/\S+)\. The chat at \1 is shutting down\. Rejoining…$/);
    terminal = await startTerminal(port);
    await expect.poll(() => ana.page.getAttribute("#link", "data-state"), WAIT).toBe("connected");
    await expect.poll(() => ben.page.getAttribute("#link", "data-state"), WAIT).toBe("connected");
    terminal.type("the terminal is back");
    await expect.poll(() => texts(ana.page), WAIT).toContain("the terminal is back");
    await expect.poll(() => texts(ben.page), WAIT).toContain("the terminal is back");
    await send(ben, "welcome back");
    await expect.poll(() => terminal.stdout(), WAIT).toContain("[ben] welcome back\n");
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
