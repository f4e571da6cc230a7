import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";

/**
 * End to end through real processes: the built app, as a user starts it.
 * The project's global setup (tools/test/build-before-tests.ts) builds it first.
 */
const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/main.js");
/** The chats' config folder (their key files): a fresh one per test run, removed after. */
const CONFIG_HOME = mkdtempSync(join(tmpdir(), "xppg-chat-config-"));
afterAll(() => rmSync(CONFIG_HOME, { recursive: true, force: true }));
if (!existsSync(MAIN)) {
  throw new Error(`${MAIN} does not exist: run \`pnpm exec turbo run build --filter=@xppg/chat-app...\` from the repository root.`);
}

const WAIT_MS = 15_000;

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  type(line: string): void;
  waitFor(pattern: RegExp | string): Promise<RegExpExecArray | string>;
  exited(): Promise<number | null>;
}

const children: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});

function chatProcess(args: string[]): Proc {
  // Each run keeps its keys in a folder of its own, never in the user's real config.
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, XDG_CONFIG_HOME: CONFIG_HOME, XDG_DATA_HOME: CONFIG_HOME } });
  children.push(child);
  let out = "";
  let errText = "";
  const changed = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    out += c;
    for (const f of [...changed]) f();
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    errText += c;
  });
  const exit = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const find = (pattern: RegExp | string): RegExpExecArray | string | null =>
    typeof pattern === "string" ? (out.includes(pattern) ? pattern : null) : pattern.exec(out);
  return {
    child,
    stdout: () => out,
    stderr: () => errText,
    type: (line) => child.stdin.write(`${line}\n`),
    waitFor: (pattern) =>
      new Promise((res, rej) => {
        const now = find(pattern);
        if (now !== null) return res(now);
        const timer = setTimeout(() => {
          changed.delete(check);
          rej(new Error(`stdout never showed ${String(pattern)} within ${WAIT_MS} ms.\nstdout:\n${out}\nstderr:\n${errText}`));
        }, WAIT_MS);
        const check = (): void => {
          const hit = find(pattern);
          if (hit === null) return;
          clearTimeout(timer);
          changed.delete(check);
          res(hit);
        };
        changed.add(check);
      }),
    exited: () =>
      Promise.race([
        exit,
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`process did not exit within ${WAIT_MS} ms.\nstdout:\n${out}\nstderr:\n${errText}`)), WAIT_MS).unref()),
      ]),
  };
}

/** Starts a chat on any free loopback-reachable port; resolves with it, its port and its peer id. */
async function startChat(args: string[]): Promise<{ proc: Proc; port: number; peerId: string }> {
  // No LAN discovery here: these chats run on the machine's own interfaces (lan.integration.test.ts runs it in the lab).
  const proc = chatProcess(["--port", "0", "--no-open-port", "--no-lan", ...args]);
  const listening = (await proc.waitFor(/Listening on port (\d+)/)) as RegExpExecArray;
  const who = (await proc.waitFor(/\(peer (xp1[a-z2-7]+)\)/)) as RegExpExecArray;
  return { proc, port: Number(listening[1]), peerId: who[1]! };
}

describe("apps/chat end to end", () => {
  it("--help prints the usage and exits 0", async () => {
    const proc = chatProcess(["--help"]);
    expect(await proc.exited()).toBe(0);
    expect(proc.stdout()).toContain("Usage: xppg-chat");
    expect(proc.stdout()).toContain("--no-open-port");
  });

  it.each([["--bogus"], ["--port", "nope"], ["--port", "70000"], ["--connect", "127.0.0.1:0"], ["--name", "   "], ["stray"], ["--ws", "nope"], ["--ws", "70000"]])("a bad argument %s prints help and exits 2", async (...args) => {
    const proc = chatProcess(args);
    expect(await proc.exited()).toBe(2);
    expect(proc.stderr()).toMatch(/^xppg-chat: .+\nRun it with --help/);
    expect(proc.stdout()).toBe("");
  });

  it("/send shares a file by content id and /get fetches it with a progress bar", async () => {
    const file = join(CONFIG_HOME, "report.bin");
    const data = randomBytes(3 * 1024 * 1024);
    writeFileSync(file, data);
    const alice = await startChat(["--name", "alice", "--room", "files-room"]);
    const bob = await startChat(["--name", "bob", "--room", "files-room", "--connect", `127.0.0.1:${alice.port}`]);
    await alice.proc.waitFor(`* bob (${bob.peerId.slice(0, 11)}) joined from`);
    alice.proc.type(`/send ${file}`);
    const shared = (await bob.proc.waitFor(/\[alice\] shares report\.bin \(3\.1 MB\): \/get ([0-9a-f]{64})/)) as RegExpExecArray;
    bob.proc.type(`/get ${shared[1]}`);
    const saved = (await bob.proc.waitFor(/Saved (.+report\.bin) \(3\.1 MB, from 1 peer\)\./)) as RegExpExecArray;
    expect(Buffer.compare(readFileSync(saved[1]!), data)).toBe(0);
    expect(bob.proc.stdout()).toMatch(/report\.bin \[[^\]]*\] \d+% \| [\d.]+ \w?B of 3\.1 MB/);
    bob.proc.type("/get nope");
    await bob.proc.waitFor("Usage: /get <content id>");
    alice.proc.type("quit");
    bob.proc.type("quit");
    expect(await alice.proc.exited()).toBe(0);
    expect(await bob.proc.exited()).toBe(0);
  });

  it("two processes chat both ways, list peers, and quit with code 0", async () => {
    const alice = await startChat(["--name", "alice", "--room", "it-room"]);
    await alice.proc.waitFor(`pnpm chat --room "it-room" --connect`);
    const bob = await startChat(["--name", "bob", "--room", "it-room", "--connect", `127.0.0.1:${alice.port}`]);
    await alice.proc.waitFor(`* bob (${bob.peerId.slice(0, 11)}) joined from`);
    await bob.proc.waitFor(`* alice (${alice.peerId.slice(0, 11)}) joined from`);

    bob.proc.type("hello from bob");
    await alice.proc.waitFor("[bob] hello from bob\n");
    alice.proc.type("hi bob, alice here");
    await bob.proc.waitFor("[alice] hi bob, alice here\n");

    alice.proc.type("/peers");
    await alice.proc.waitFor(new RegExp(`You: [^\\n]+\\n1 peer:\\n  bob  ${bob.peerId}  [^\\n]*, direct\\)`));
    alice.proc.type("/help");
    await alice.proc.waitFor("/peers   list the connected peers");

    alice.proc.type("quit");
    expect(await alice.proc.exited()).toBe(0);
    await bob.proc.waitFor(`* alice (${alice.peerId.slice(0, 11)}) left`);
    bob.proc.type("exit");
    expect(await bob.proc.exited()).toBe(0);
    expect(alice.proc.stdout()).toContain("Bye.");
    expect(alice.proc.stderr()).toBe("");
    expect(bob.proc.stderr()).toBe("");
    // Commands are not sent: bob never saw alice's /peers or /help.
    expect(bob.proc.stdout()).not.toContain("/peers");
  });

  it("a chat in another room is refused, says so, and keeps running", async () => {
    const alice = await startChat(["--name", "alice", "--room", "room-a"]);
    const eve = await startChat(["--name", "eve", "--room", "room-b", "--connect", `127.0.0.1:${alice.port}`]);
    await eve.proc.waitFor(/^! .*app mismatch/m);
    eve.proc.type("/peers");
    await eve.proc.waitFor("Nobody is here yet.");
    eve.proc.type("quit");
    alice.proc.child.stdin.end();
    expect(await eve.proc.exited()).toBe(0);
    expect(await alice.proc.exited()).toBe(0);
  });

  it("a peer that crashes gives one line, with its name, not the same reason twice", async () => {
    const alice = await startChat(["--name", "alice", "--room", "crash-room"]);
    const bob = await startChat(["--name", "bob", "--room", "crash-room", "--connect", `127.0.0.1:${alice.port}`]);
    await alice.proc.waitFor(`* bob (${bob.peerId.slice(0, 11)}) joined from`);
    bob.proc.child.kill("SIGKILL");
    await alice.proc.waitFor(`* bob (${bob.peerId.slice(0, 11)}) left`);
    // Output is ordered: anything printed about the leave comes before /help's answer.
    alice.proc.type("/help");
    await alice.proc.waitFor("/peers   list the connected peers");
    const after = alice.proc.stdout().slice(alice.proc.stdout().indexOf("* bob ("));
    expect(after.split("\n").filter((l) => l.startsWith("! "))).toEqual([]);
    alice.proc.type("quit");
    expect(await alice.proc.exited()).toBe(0);
  });
});

describe("apps/chat --dht-topic on a private DHT", () => {
  // 20 DHT nodes on 127.0.0.1; the chats are given their addresses (--dht-bootstrap), never the public routers.
  let net: PrivateDht;
  beforeAll(async () => {
    net = await privateDht(20);
  });
  afterAll(() => net.close());

  it("two processes with one room and topic find each other with no address typed, and chat", async () => {
    const flags = ["--room", "topic-room", "--dht-topic", "purple elephant", ...net.bootstrap.flatMap((b) => ["--dht-bootstrap", b])];
    const alice = await startChat(["--name", "alice", ...flags]);
    await alice.proc.waitFor('topic "purple elephant" anywhere join by themselves');
    const bob = await startChat(["--name", "bob", ...flags]);
    await alice.proc.waitFor(`* bob (${bob.peerId.slice(0, 11)}) joined from`);
    bob.proc.type("found you by topic");
    await alice.proc.waitFor("[bob] found you by topic\n");
    bob.proc.type("/peers");
    await bob.proc.waitFor(new RegExp(`alice  ${alice.peerId}  .*\\((found on the DHT|joined us), `));
    alice.proc.type("quit");
    bob.proc.type("quit");
    expect(await alice.proc.exited()).toBe(0);
    expect(await bob.proc.exited()).toBe(0);
    expect(alice.proc.stderr()).toBe("");
  }, 40_000);

  it("--dht-bootstrap without --dht-topic is a usage error", async () => {
    const proc = chatProcess(["--dht-bootstrap", "127.0.0.1:6881"]);
    expect(await proc.exited()).toBe(2);
    expect(proc.stderr()).toContain("--dht-bootstrap is for --dht-topic");
  });
});
