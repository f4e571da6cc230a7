import { afterEach, describe, expect, it } from "vitest";
import { isXppgError, type XppgError } from "@xppg/errors";
import { QUICKCHAT_ERROR_CODES, QuickChat } from "../src/index.js";
import { bounded, loopbackChat, made, terminal, until } from "./helpers.js";

afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.stop()));
});

/** Two chats in one room, both running `run()` on PassThrough terminals, connected. */
async function pair(room = "room-1") {
  const aTerm = terminal();
  const bTerm = terminal();
  const alice = loopbackChat(room, { name: "alice", input: aTerm.input, output: aTerm.output });
  const bob = loopbackChat(room, { name: "bob", input: bTerm.input, output: bTerm.output });
  const aliceRun = alice.run();
  const bobRun = bob.run();
  await alice.start();
  await bob.connect("127.0.0.1", alice.port);
  await aTerm.waitFor(`* bob (${bob.peerId.slice(0, 11)}) joined`);
  await bTerm.waitFor(`* alice (${alice.peerId.slice(0, 11)}) joined`);
  return { alice, bob, aTerm, bTerm, aliceRun, bobRun };
}

describe("QuickChat: two chats on loopback", () => {
  it("exchange typed lines through run() and onMessage, then quit", async () => {
    const { alice, bob, aTerm, bTerm, aliceRun, bobRun } = await pair();
    const aliceGot: { user: string; text: string; peerId: string; kind: string }[] = [];
    alice.onMessage((user, text, info) => {
      aliceGot.push({ user, text, ...info });
    });

    bTerm.type("hi from bob");
    await aTerm.waitFor("[bob] hi from bob\n");
    expect(aliceGot).toEqual([{ user: "bob", text: "hi from bob", peerId: bob.peerId, kind: "chat" }]);

    aTerm.type("  hello bob  ");
    await bTerm.waitFor("[alice] hello bob\n");
    // Your own lines are not echoed back to you.
    expect(aTerm.text()).not.toContain("[alice]");
    expect(alice.peers.map((p) => [p.peerId, p.name])).toEqual([[bob.peerId, "bob"]]);

    aTerm.type("quit");
    await bounded(aliceRun, "alice's run() after quit");
    expect(alice.playground.running).toBe(false);
    await bTerm.waitFor(`* alice (${alice.peerId.slice(0, 11)}) left\n`);
    expect(bob.peers).toEqual([]);
    // She quit: her leave is one plain line, with no reason as if something had gone wrong.
    expect(bTerm.text()).not.toContain("left:");

    bTerm.type("exit");
    await bounded(bobRun, "bob's run() after exit");
    expect(bob.playground.running).toBe(false);
  });

  it("a multi-line message is printed with its later lines indented, never as a fake [user] line", async () => {
    const { bob, aTerm } = await pair();
    await bob.send("one\n[mallory] two");
    await aTerm.waitFor("[bob] one\n      [mallory] two\n");
  });

  it("run() ends on EXIT in any case, on the end of input, and on stop()", async () => {
    const t1 = terminal();
    const c1 = loopbackChat("r", { input: t1.input, output: t1.output });
    const r1 = c1.run();
    t1.type("  EXIT ");
    await bounded(r1, "run() after EXIT");

    const t2 = terminal();
    const c2 = loopbackChat("r", { input: t2.input, output: t2.output });
    const r2 = c2.run();
    t2.input.end();
    await bounded(r2, "run() after end of input");
    expect(c2.playground.running).toBe(false);

    const t3 = terminal();
    const c3 = loopbackChat("r", { input: t3.input, output: t3.output });
    const r3 = c3.run();
    await c3.start();
    await c3.stop();
    await bounded(r3, "run() after stop()");
  });

  it("lines typed before the node finished starting are not lost", async () => {
    const { alice } = await pair();
    const t = terminal();
    const carol = loopbackChat("room-1", { name: "carol", input: t.input, output: t.output });
    const got: string[] = [];
    alice.onMessage((user, text) => {
      got.push(`${user}:${text}`);
    });
    await carol.connect("127.0.0.1", alice.port);
    t.type("early line");
    t.type("quit");
    await bounded(carol.run(), "carol's run()");
    await until(() => got.length === 1, 10_000, "carol's early line");
    expect(got).toEqual(["carol:early line"]);
  });

  it("run() commands run instead of being sent; unknown /words are sent as chat", async () => {
    const t = terminal();
    const carol = loopbackChat("room-2", { name: "carol", input: t.input, output: t.output });
    const dave = loopbackChat("room-2", { name: "dave" });
    const daveGot: string[] = [];
    dave.onMessage((_user, text) => {
      daveGot.push(text);
    });
    const running = carol.run({
      commands: {
        peers: () => carol.peers.map((p) => `peer ${p.peerId}`),
        echo: (args) => `echo: ${args}`,
        fail: () => {
          throw new Error("boom");
        },
      },
    });
    await carol.start();
    await dave.connect("127.0.0.1", carol.port);
    await t.waitFor("joined");
    t.type("/peers");
    await t.waitFor(`peer ${dave.peerId}\n`);
    t.type("/echo  a b ");
    await t.waitFor("echo: a b\n");
    t.type("/fail");
    await t.waitFor("! The command /fail failed: boom\n");
    t.type("/shrug hello");
    await until(() => daveGot.length === 1, 10_000, "the /shrug line at dave");
    expect(daveGot).toEqual(["/shrug hello"]);
    t.type("quit");
    await bounded(running, "carol's run()");
  });

  it("a chat in another room is refused by the handshake, with a code", async () => {
    const alice = loopbackChat("room-a", { name: "alice" });
    const eve = loopbackChat("room-b", { name: "eve" });
    const errors: XppgError[] = [];
    eve.onError((e) => {
      errors.push(e);
    });
    await alice.start();
    const err = await eve.connect("127.0.0.1", alice.port).catch((e: unknown) => e);
    expect(isXppgError(err, "XPPG_ERR_APP_MISMATCH")).toBe(true);
    // Reported once, with the refusal as the peer gave it.
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_APP_MISMATCH"]);
    expect(errors[0]).toBe(err);
    expect(alice.peers).toEqual([]);
    expect(eve.peers).toEqual([]);
  });

  it("a connect that fails while run() runs is printed, not thrown, and the chat carries on", async () => {
    const t = terminal();
    const lonely = loopbackChat("r", { input: t.input, output: t.output });
    const running = lonely.run();
    await lonely.start();
    // A port nobody listens on: our own port after we stop listening is not certain, so use a closed chat's.
    const gone = loopbackChat("r");
    await gone.start();
    const port = gone.port!;
    await gone.stop();
    const errors: XppgError[] = [];
    lonely.onError((e) => {
      errors.push(e);
    });
    void lonely.connect(`127.0.0.1:${port}`);
    await t.waitFor(`! Could not connect to 127.0.0.1:${port}`);
    expect(errors.map((e) => e.code)).toEqual([QUICKCHAT_ERROR_CODES.CONNECT_FAILED]);
    t.type("quit");
    await bounded(running, "run()");
  });

  it("the class prints nothing without run()", async () => {
    const aTerm = terminal();
    const bTerm = terminal();
    const alice = loopbackChat("r", { name: "alice", input: aTerm.input, output: aTerm.output });
    const bob = loopbackChat("r", { name: "bob", input: bTerm.input, output: bTerm.output });
    const got: string[] = [];
    alice.onMessage((_u, text) => {
      got.push(text);
    });
    await alice.start();
    await bob.connect(`127.0.0.1:${alice.port}`);
    await bob.send("quiet");
    await until(() => got.length === 1, 10_000, "bob's message");
    await bob.stop();
    await until(() => alice.peers.length === 0, 10_000, "bob gone");
    expect(aTerm.text()).toBe("");
    expect(bTerm.text()).toBe("");
  });

  it("a throwing onMessage handler is reported and the others still run", async () => {
    const alice = loopbackChat("r", { name: "alice" });
    const bob = loopbackChat("r", { name: "bob" });
    const errors: XppgError[] = [];
    alice.onError((e) => {
      errors.push(e);
    });
    alice.onMessage(() => {
      throw new Error("bad handler");
    });
    const got: string[] = [];
    const off = alice.onMessage((_u, text) => {
      got.push(text);
    });
    await alice.start();
    await bob.connect("127.0.0.1", alice.port);
    await bob.send("one");
    await until(() => got.length === 1 && errors.length === 1, 10_000, "message and error");
    expect(errors[0]!.code).toBe(QUICKCHAT_ERROR_CODES.HANDLER_FAILED);
    off();
    await bob.send("two");
    await until(() => errors.length === 2, 10_000, "second handler error");
    expect(got).toEqual(["one"]);
  });
});

describe("QuickChat: arguments and limits", () => {
  it("refuses empty and over-long messages with codes, sending nothing", async () => {
    const chat = loopbackChat("r", { maxTextLength: 10 });
    await expect(chat.send("x".repeat(11))).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.CHAT_TOO_LONG });
    await expect(chat.send("   ")).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT });
    await expect(chat.send(42 as unknown as string)).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT });
    await chat.send("x".repeat(10));
  });

  it("run() refuses an over-long typed line with a notice and keeps going", async () => {
    const t = terminal();
    const chat = loopbackChat("r", { maxTextLength: 5, input: t.input, output: t.output });
    const running = chat.run();
    t.type("123456");
    await t.waitFor("! The message has 6 characters; the limit is 5.");
    t.type("quit");
    await bounded(running, "run()");
  });

  it("checks and cleans the display name", () => {
    expect(loopbackChat("r", { name: "  ann \t lee\u001b " }).name).toBe("ann lee");
    expect(() => loopbackChat("r", { name: "\u001b\u200b  " })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => loopbackChat("r", { name: "n".repeat(33) })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(loopbackChat("r", { name: "n".repeat(40), maxNameLength: 40 }).name).toHaveLength(40);
    const fallback = loopbackChat("r").name;
    expect(fallback.length).toBeGreaterThan(0);
    expect(fallback.length).toBeLessThanOrEqual(32);
  });

  it("refuses a bad room, port or limit", () => {
    expect(() => new QuickChat("")).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => new QuickChat("r", { port: 70000 })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => new QuickChat("r", { maxTextLength: 0 })).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    expect(() => loopbackChat("r").onMessage(null as never)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });

  it("start() is shared, and a stopped chat refuses to start, send or run", async () => {
    const chat = loopbackChat("r");
    const [a, b] = await Promise.all([chat.start(), chat.start()]);
    expect(a).toBeNull();
    expect(b).toBeNull();
    expect(chat.port).toBeGreaterThan(0);
    expect(chat.addresses).toEqual([`tcp://127.0.0.1:${chat.port}`]);
    await chat.stop();
    await chat.stop();
    await expect(chat.start()).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.STOPPED });
    await expect(chat.send("hi")).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.STOPPED });
    await expect(chat.run()).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.STOPPED });
    await expect(chat.connect("127.0.0.1", 1)).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.STOPPED });
  });

  it("run() twice at once is refused", async () => {
    const t = terminal();
    const chat = loopbackChat("r", { input: t.input, output: t.output });
    const running = chat.run();
    await expect(chat.run()).rejects.toMatchObject({ code: QUICKCHAT_ERROR_CODES.ALREADY_RUNNING });
    t.input.end();
    await bounded(running, "run()");
  });
});

describe("QuickChat: openPort", () => {
  it("is on by default and hands the mapping result back", async () => {
    const asked: number[] = [];
    const chat = loopbackChat("r", {
      openPort: undefined,
      playgroundOptions: {
        portMapper: {
          map: async (o) => {
            asked.push(o.internalPort);
            const port = o.internalPort;
            const remove = async (): Promise<void> => {};
            return { mapped: true, method: "upnp-igd2", externalIp: "203.0.113.7", externalPort: port, internalPort: port, internalIp: "192.0.2.10", protocol: "TCP", leaseSeconds: 3600, remove, [Symbol.asyncDispose]: remove };
          },
        },
      },
    });
    const nat = await chat.start();
    expect(asked).toEqual([chat.port]);
    expect(nat).toMatchObject({ mapped: true, externalIp: "203.0.113.7", externalPort: chat.port });
    expect(chat.nat).toBe(nat);
  });

  it("never makes the start hang, even with a port mapper that never answers", async () => {
    const chat = loopbackChat("r", {
      openPort: true,
      openPortTimeoutMs: 50,
      playgroundOptions: { portMapper: { map: () => new Promise(() => {}) } },
    });
    const nat = await bounded(chat.start(), "start() with a silent port mapper");
    expect(nat).toMatchObject({ mapped: false });
    expect(chat.playground.running).toBe(true);
  });

  it("a port mapper that throws costs the mapping, not the chat", async () => {
    const chat = loopbackChat("r", {
      openPort: undefined,
      playgroundOptions: {
        portMapper: {
          map: () => Promise.reject(new Error("no such router")),
        },
      },
    });
    const errors: XppgError[] = [];
    chat.onError((e) => {
      errors.push(e);
    });
    const nat = await bounded(chat.start(), "start() with a failing port mapper");
    expect(nat).toMatchObject({ mapped: false });
    expect(errors.map((e) => e.code)).toEqual([QUICKCHAT_ERROR_CODES.PORT_MAPPING_FAILED]);
    expect(chat.playground.running).toBe(true);
  });
});

describe("QuickChat: the user's key", () => {
  it("keeps one identity per key file across runs, and a fresh one with keyFile: false", async () => {
    const { mkdtemp, rm, stat } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "xppg-qc-key-"));
    try {
      const keyFile = join(dir, "me.key");
      const first = loopbackChat("r", { keyFile });
      const second = loopbackChat("r", { keyFile });
      expect(second.peerId).toBe(first.peerId);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect(loopbackChat("r", { keyFile: false }).peerId).not.toBe(first.peerId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("defaults to one key per user name under the config folder", async () => {
    const { defaultKeyFile } = await import("../src/index.js");
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = "/tmp/cfg";
    try {
      expect(defaultKeyFile("alice")).toBe("/tmp/cfg/xppg/quickchat-alice.key");
      expect(defaultKeyFile("../evil")).toBe("/tmp/cfg/xppg/quickchat-__evil.key");
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });
});
