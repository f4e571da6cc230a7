// The chat app end to end in the project's namespace lab (tools/netlab lan-up):
// chats started with NO flags, their stdin and stdout piped, find each other
// by LAN discovery. Runs the BUILT app (beforeAll builds it). Discovery
// traffic stays on the lab's bridge. Needs root and iproute2; otherwise
// skipped, saying why.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPackage, labSkipReason, LanLab } from "../../../tools/test/netns-lab.js";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/main.js");
const SKIP = labSkipReason();
if (SKIP) console.log(`[@xppg/chat-app] LAN chat integration tests SKIPPED: ${SKIP}`);
const WAIT_MS = 15_000;

const lab = new LanLab(3);
const onExit = (): void => lab.down();
const children = new Set<ChildProcessWithoutNullStreams>();
const homes: string[] = [];

interface Chat {
  out(): string;
  type(line: string): void;
  waitFor(pattern: RegExp | string): Promise<string>;
  exited: Promise<number | null>;
}

/** `node main.js` with no flags in LAN host i, with a home of its own (its key files). */
function chat(i: number): Chat {
  const home = mkdtempSync(join(tmpdir(), "xppg-chat-lan-"));
  homes.push(home);
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_DATA_HOME: join(home, ".local/share") };
  const child = spawn("ip", ["netns", "exec", `${lab.prefix}l${i}`, process.execPath, MAIN], { env });
  children.add(child);
  let out = "";
  const waiters = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    out += c;
    for (const w of [...waiters]) w();
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => (out += `[stderr] ${c}`));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => (children.delete(child), r(code))));
  return {
    out: () => out,
    type: (line) => void child.stdin.write(`${line}\n`),
    exited,
    waitFor: (pattern) =>
      new Promise((res, rej) => {
        const find = (): string | undefined => (typeof pattern === "string" ? (out.includes(pattern) ? pattern : undefined) : pattern.exec(out)?.[0]);
        const timer = setTimeout(() => (waiters.delete(check), rej(new Error(`never saw ${String(pattern)} within ${WAIT_MS} ms; output:\n${out}`))), WAIT_MS);
        const check = (): void => {
          const hit = find();
          if (hit === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          res(hit);
        };
        waiters.add(check);
        check();
      }),
  };
}

describe.skipIf(SKIP !== undefined)("apps/chat with no flags, in the namespace lab", () => {
  beforeAll(() => {
    buildPackage("@xppg/chat-app");
    process.once("exit", onExit);
    lab.up();
  }, 180_000);

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    lab.down();
    process.removeListener("exit", onExit);
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it("two chats on two hosts of one LAN exchange lines with no address typed", async () => {
    const a = chat(1);
    const b = chat(2);
    // Typed before anyone is here: piped lines wait for the first peer.
    a.type("hello from host 1");
    await b.waitFor("] hello from host 1\n").catch((e: Error) => {
      throw new Error(`${e.message}\n--- the other chat:\n${a.out()}`);
    });
    b.type("hello back from host 2");
    await a.waitFor("] hello back from host 2\n");
    a.type("/peers");
    await a.waitFor(/1 peer:\n .*198\.18\.5\.2.*\((found on the LAN|joined us), direct\)/);
    a.type("quit");
    b.type("quit");
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(a.out() + b.out()).not.toContain("[stderr]");
  });

  it("two chats on one host: the second takes a free port, says so, and they chat", async () => {
    const a = chat(3);
    await a.waitFor("Listening on port 7337");
    const b = chat(3);
    await b.waitFor(/Port 7337 is taken .* listens on port \d+/);
    b.type("second chat here");
    await a.waitFor("] second chat here\n");
    a.type("first chat answers");
    await b.waitFor("] first chat answers\n");
    a.type("quit");
    b.type("quit");
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  });
});
