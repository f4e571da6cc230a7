// The first five minutes: two chats on one machine with nothing typed but
// the room. LAN discovery here runs on loopback only, on a UDP port of this
// file's own, so nothing reaches a real network.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { XppgError } from "@xppg/errors";
import { DEFAULT_CHAT_PORT, QUICKCHAT_ERROR_CODES, defaultKeyFile } from "../src/index.js";
import { bounded, loopbackChat, made, terminal } from "./helpers.js";

const lan = { interface: "127.0.0.1", mdnsPort: 20_000 + ((process.pid + 7) % 20_000) };
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.stop()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "xppg-qc-first-"));
  dirs.push(d);
  return d;
};

describe("QuickChat: two chats on one machine, nothing typed but the room", () => {
  it("find each other by LAN discovery and chat; /peers can tell how each was found", async () => {
    const aTerm = terminal();
    const bTerm = terminal();
    const alice = loopbackChat("lan-room", { name: "alice", lan, input: aTerm.input, output: aTerm.output });
    const bob = loopbackChat("lan-room", { name: "bob", lan, input: bTerm.input, output: bTerm.output });
    const runs = [alice.run(), bob.run()];
    await aTerm.waitFor(`* bob (${bob.peerId.slice(0, 11)}) joined`);
    await bTerm.waitFor(`* alice (${alice.peerId.slice(0, 11)}) joined`);
    bTerm.type("hello without an address");
    await aTerm.waitFor("[bob] hello without an address");
    // At least one side dialled the other after discovering it; nobody typed an address.
    const how = [alice.foundBy(bob.peerId), bob.foundBy(alice.peerId)];
    expect(how).toContain("lan");
    expect(how).not.toContain("address");
    aTerm.type("quit");
    bTerm.type("quit");
    await bounded(Promise.all(runs), "both runs after quit");
  });

  it("a chat in another room is not joined", async () => {
    const alice = loopbackChat("room-a", { lan });
    const other = loopbackChat("room-b", { lan });
    const bob = loopbackChat("room-a", { lan });
    await Promise.all([alice.start(), other.start(), bob.start()]);
    await expect.poll(() => alice.peers.map((p) => p.peerId)).toEqual([bob.peerId]);
    expect(other.peers).toEqual([]);
  });

  it("piped lines typed before anyone is here wait for the first peer instead of being lost", async () => {
    const aTerm = terminal();
    const alice = loopbackChat("pipe-room", { lan, input: aTerm.input, output: aTerm.output, name: "alice" });
    const aliceRun = alice.run();
    aTerm.type("said before bob came");
    await alice.start();
    const bob = loopbackChat("pipe-room", { lan });
    const got: string[] = [];
    bob.onMessage((user, text) => {
      got.push(`${user}: ${text}`);
    });
    await bob.start();
    await expect.poll(() => got).toEqual(["alice: said before bob came"]);
    aTerm.type("quit");
    await bounded(aliceRun, "alice's run after quit");
  });

  it("a line typed at a terminal with nobody here says it was not sent", async () => {
    const aTerm = terminal();
    Object.assign(aTerm.input, { isTTY: true });
    Object.assign(aTerm.output, { isTTY: true, columns: 80 });
    const alice = loopbackChat("alone-room", { input: aTerm.input, output: aTerm.output });
    const run = alice.run();
    await alice.start();
    aTerm.type("anyone?");
    await aTerm.waitFor("Nobody is here yet: the message was not sent.");
    aTerm.type("quit");
    await bounded(run, "run after quit");
  });

  it(`takes a free port and says so when the default port ${DEFAULT_CHAT_PORT} is taken`, async () => {
    // Whoever holds it (this server or another program), the default port is taken on 127.0.0.1.
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.once("error", () => resolve()).listen(DEFAULT_CHAT_PORT, "127.0.0.1", resolve));
    try {
      const errors: XppgError[] = [];
      const chat = loopbackChat("port-room", { port: undefined });
      chat.onError((e) => errors.push(e));
      await chat.start();
      expect(chat.port).not.toBe(DEFAULT_CHAT_PORT);
      expect(errors.map((e) => e.code)).toEqual([QUICKCHAT_ERROR_CODES.PORT_IN_USE]);
      expect(errors[0]!.message).toContain(`listens on port ${chat.port}`);
      expect(chat.playground.port).toBe(chat.port);
      // An explicit port is never changed behind the user's back.
      const explicit = loopbackChat("port-room", { port: DEFAULT_CHAT_PORT });
      await expect(explicit.start()).rejects.toMatchObject({ code: "XPPG_ERR_LISTEN_FAILED" });
    } finally {
      holder.close();
    }
  });
});

describe("QuickChat: one identity per process unless asked", () => {
  it("two chats without a name or key file are two peers", () => {
    expect(loopbackChat("r", { keyFile: undefined }).peerId).not.toBe(loopbackChat("r", { keyFile: undefined }).peerId);
  });

  it("two running chats never share a key file: the second is refused with a clear message, then may start once the first stops", async () => {
    const keyFile = join(tempDir(), "me.key");
    const first = loopbackChat("r", { keyFile });
    const second = loopbackChat("r", { keyFile });
    expect(second.peerId).toBe(first.peerId);
    await first.start();
    const refused = await second.start().catch((e: XppgError) => e);
    expect(refused).toMatchObject({ code: QUICKCHAT_ERROR_CODES.KEY_FILE_IN_USE });
    expect((refused as XppgError).message).toContain("--name");
    await first.stop();
    await second.start();
    expect(second.playground.running).toBe(true);
  });

  it("a lock left by a process that is gone is taken over", async () => {
    const keyFile = join(tempDir(), "me.key");
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(`${keyFile}.lock`, `${gone.stdout}\n`);
    const chat = loopbackChat("r", { keyFile });
    await chat.start();
    expect(chat.playground.running).toBe(true);
  });

  it("with a name, the key file is the per-name default", () => {
    const config = tempDir();
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = config;
    try {
      const a = loopbackChat("r", { name: "carol", keyFile: undefined });
      const b = loopbackChat("r", { name: "carol", keyFile: undefined });
      expect(a.peerId).toBe(b.peerId);
      expect(defaultKeyFile("carol").startsWith(config)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });
});
