import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateIdentity } from "@xppg/secure";
import { memoryTransport } from "@xppg/transport";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { collect, node, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

/** Expects `XPPG_ERR_INVALID_ARGUMENT` whose message starts with the call, names each of `words` and shows the right call. */
function invalid(call: string, ...words: string[]): unknown {
  return expect.objectContaining({
    code: "XPPG_ERR_INVALID_ARGUMENT",
    message: expect.stringMatching(new RegExp(`^${escape(call)}: ${words.map((w) => `(?=.*${escape(w)})`).join("")}.*Write it as `, "s")),
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const CTOR = "new Playground(appName, options)";

describe("new Playground: options are checked, none ignored", () => {
  it.each<[string, unknown, string[]]>([
    ["a negative maxPeers", { limits: { maxPeers: -5 } }, ["limits.maxPeers", "-5", "{ limits: { maxPeers: 64 } }"]],
    ["a NaN handshake timeout", { limits: { handshakeTimeoutMs: NaN } }, ["limits.handshakeTimeoutMs", "NaN"]],
    ["a frame size of 2 bytes", { limits: { maxFrameSize: 2 } }, ["limits.maxFrameSize", "4096"]],
    ["a port out of range", { port: 70000 }, ["port", "70000", "{ port: 7337 }"]],
    ["a heartbeat timeout below its interval", { heartbeat: { intervalMs: 5000, timeoutMs: 1000 } }, ["heartbeat.timeoutMs"]],
    ["allowPeers as one string", { allowPeers: "xp1abc" }, ["allowPeers", "allowPeers: ["]],
    ["a non-boolean encryption switch", { dangerouslyDisableEncryption: "yes" }, ["dangerouslyDisableEncryption"]],
    ["a portMapper without map", { portMapper: {} }, ["portMapper"]],
    ["a state that is no Replica", { state: { get: () => 1 } }, ["state", "SharedState"]],
    ["transports that are not transports", { transports: [{}] }, ["transports"]],
  ])("refuses %s", (_what, options, words) => {
    expect(() => new Playground("x", options as PlaygroundOptions)).toThrow(invalid(CTOR, ...words));
  });

  it.each<[string, unknown, string]>([
    ["top level", { prot: 7444 }, 'options has no option "prot" (did you mean "port"?)'],
    ["limits", { limits: { maxPeer: 3 } }, 'limits has no option "maxPeer" (did you mean "maxPeers"?)'],
    ["heartbeat", { heartbeat: { interval: 3 } }, 'heartbeat has no option "interval"'],
  ])("refuses an unknown key at the %s", (_where, options, message) => {
    expect(() => new Playground("x", options as PlaygroundOptions)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining(message) }));
  });

  it("refuses options that are not an object, and a bad app name, showing the right call", () => {
    expect(() => new Playground("x", "7444" as never)).toThrow(invalid(CTOR, "options must be an object"));
    expect(() => new Playground("")).toThrow(invalid("new Playground(appName, options?)", "appName", 'new Playground("my-app")'));
    expect(() => new Playground(42 as never)).toThrow(invalid("new Playground(appName, options?)", "appName"));
  });

  it("takes a number second argument as the port, as the call plainly means", async () => {
    const pg = track(new Playground("x", 0, { host: "127.0.0.1" }));
    await pg.start();
    expect(pg.addresses[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(pg.port).toBeGreaterThan(0);
    expect(() => new Playground("x", 70000)).toThrow(invalid(CTOR, "port", "70000"));
    expect(() => new Playground("x", { port: 1 } as never, {})).toThrow(invalid(CTOR, "third argument"));
    expect(() => new Playground("x", 7444, { port: 7445 } as never)).toThrow(invalid(CTOR, "the port came twice"));
    expect(() => new Playground("x", 7444, { prot: 1 } as never)).toThrow(invalid(CTOR, '"prot"'));
  });

  it("accepts an injected Replica as pg.state", async () => {
    const { SharedState } = await import("@xppg/state");
    const state = new SharedState({ replicaId: "mine" });
    const pg = new Playground("x", { state, transports: [memoryTransport()], listen: [] });
    expect(pg.state).toBe(state);
  });
});

describe("new Playground with keyFile: a bad option creates no key file", () => {
  it.each<[string, Record<string, unknown>, string, string[]]>([
    ["a bad reach", { reach: { serveRelay: "sometimes" } }, "new Playground(appName, { reach })", ["reach.serveRelay"]],
    ["a bad files option", { files: { nope: 1 } }, CTOR, ['files has no option "nope"']],
    ["a bad discovery", { discovery: { lan: "yes" } }, CTOR, ["discovery.lan"]],
    ["an identity too", { identity: generateIdentity() }, CTOR, ["either identity or keyFile"]],
  ])("refuses %s before it writes the key file", (_what, options, call, words) => {
    const dir = mkdtempSync(join(tmpdir(), "xppg-keyfile-"));
    try {
      const keyFile = join(dir, "node.key");
      expect(() => new Playground("x", { keyFile, ...options })).toThrow(invalid(call, ...words));
      expect(existsSync(keyFile)).toBe(false);
      // The same options but the bad one: the key file is made.
      if (!("identity" in options)) {
        const pg = new Playground("x", { keyFile });
        expect(existsSync(keyFile)).toBe(true);
        expect(new Playground("x", { keyFile }).peerId).toBe(pg.peerId);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a keyFile that is not a string", () => {
    expect(() => new Playground("x", { keyFile: 5 } as never)).toThrow(invalid(CTOR, "keyFile", "5", '"./my-node.key"'));
  });
});

describe("Playground calls: wrong arguments throw with the right call", () => {
  it("sendText with a peer id as second argument sends to that peer only, never to everyone", async () => {
    const a = await node();
    const b = await node();
    const c = await node();
    await b.join(a.addresses[0]!);
    await c.join(a.addresses[0]!);
    const atB = collect<{ text: string }>(b, "text");
    const atC = collect<{ text: string }>(c, "text");
    await until(() => a.peers.length === 2, 5000, "two peers");
    await a.sendText("for b only", b.peerId);
    await a.send("note", 1, c.peerId);
    await until(() => atB.length === 1, 5000, "b's text");
    await a.sendText("to all");
    await until(() => atC.length === 1 && atB.length === 2, 5000, "the broadcast");
    expect(atB.map((m) => m.payload.text)).toEqual(["for b only", "to all"]);
    expect(atC.map((m) => m.payload.text)).toEqual(["to all"]);
    await expect(a.sendText("hi", "nobody")).rejects.toMatchObject({ code: "XPPG_ERR_UNKNOWN_PEER" });
  });

  it('join takes "host:port" in one string, as the chat banner prints it, and refuses a port given twice', async () => {
    const a = track(new Playground("x", { host: "127.0.0.1", port: 0 }));
    const b = track(new Playground("x", { host: "127.0.0.1", port: 0 }));
    await a.start({ openPort: false });
    await b.start({ openPort: false });
    await expect(b.join(`127.0.0.1:${a.port}`)).resolves.toMatchObject({ peerId: a.peerId });
    await expect(b.join(`127.0.0.1:${a.port}`, a.port)).rejects.toEqual(invalid("pg.join(host, port?, options?)", "already ends with a port"));
    await expect(b.join("127.0.0.1:99999")).rejects.toEqual(invalid("pg.join(host, port?, options?)", "port", "99999"));
  });

  it("send refuses a payload of a fixed-shape kind that the receiver would refuse", async () => {
    const a = await node();
    await expect(a.send("text", "hi")).rejects.toEqual(invalid('pg.send("text", payload)', "{ text: string }", 'pg.sendText("hello")'));
    await expect(a.send("text", { text: 5 })).rejects.toEqual(invalid('pg.send("text", payload)', "{ text: string }"));
    await expect(a.send("text", { text: "ok" })).resolves.toBeUndefined();
  });

  it("send checks every call's kind and payload, after a stream of sends of one kind too", async () => {
    const a = await node();
    for (let i = 0; i < 3; i++) await expect(a.send("note", i)).resolves.toBeUndefined();
    await expect(a.send("xppg/hello", {})).rejects.toMatchObject({ code: "XPPG_ERR_RESERVED_KIND" });
    await expect(a.send("", 1)).rejects.toEqual(invalid("pg.send(kind, payload, options?)", "kind"));
    await expect(a.send("note", 4)).resolves.toBeUndefined();
    await expect(a.send("text", { text: "ok" })).resolves.toBeUndefined();
    await expect(a.send("text", { text: 5 })).rejects.toEqual(invalid('pg.send("text", payload)', "{ text: string }"));
    await expect(a.send("text", { text: "ok" })).resolves.toBeUndefined();
    await expect(a.send("text", "hi")).rejects.toEqual(invalid('pg.send("text", payload)', "{ text: string }"));
  });

  it("send's checks after a stream of one kind: another node refuses an undefined kind, a stopped one a kind it sent before", async () => {
    const a = await node();
    for (let i = 0; i < 3; i++) await expect(a.send("note", i)).resolves.toBeUndefined();
    const b = await node();
    await expect(b.send(undefined as never, 1)).rejects.toEqual(invalid("pg.send(kind, payload, options?)", "kind"));
    await expect(b.send("note", 1)).resolves.toBeUndefined();
    await a.stop();
    await expect(a.send("note", 4)).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
    await expect(b.send("note", 2)).resolves.toBeUndefined();
  });

  it.each<[string, (pg: Playground) => Promise<unknown>, string, string[]]>([
    ["sendText(5)", (pg) => pg.sendText(5 as never), "pg.sendText(text, options?)", ["text must be a string"]],
    ["send(kind, payload, { too })", (pg) => pg.send("k", 1, { too: "x" } as never), "pg.send(kind, payload, options?)", ['"too" (did you mean "to"?)']],
    ["send(7, payload)", (pg) => pg.send(7 as never, 1), "pg.send(kind, payload, options?)", ["kind"]],
    ["join(7337)", (pg) => pg.join(7337 as never), "pg.join(host, port?, options?)", ["host"]],
    ["join(host, '7337')", (pg) => pg.join("127.0.0.1", "7337" as never), "pg.join(host, port?, options?)", ["port", "7337"]],
    ["join(host, port, { timeout })", (pg) => pg.join("127.0.0.1", 7337, { timeout: 5 } as never), "pg.join(host, port?, options?)", ['"timeout" (did you mean "timeoutMs"?)']],
    ["start({ openport })", (pg) => pg.start({ openport: true } as never), "pg.start(options?)", ['"openport" (did you mean "openPort"?)']],
    ["shareFile(42)", (pg) => pg.shareFile(42 as never), "pg.shareFile(path, options?)", ["path"]],
    ["requestState({ timeout })", (pg) => pg.requestState({ timeout: 5 } as never), "pg.requestState(options?)", ['"timeout"']],
    ["pushState(42)", (pg) => pg.pushState(42 as never), "pg.pushState(options?)", ["options must be an object"]],
  ])("%s", async (_what, call, name, words) => {
    const pg = await node();
    await expect(call(pg)).rejects.toEqual(invalid(name, ...words));
  });

  it.each<[string, (pg: Playground) => unknown, string, string[]]>([
    ["on(kind, not a function)", (pg) => pg.on("k", "nope" as never), "pg.on(kind, handler, options?)", ["handler must be a function"]],
    ["on('', handler)", (pg) => pg.on("", () => {}), "pg.on(kind, handler, options?)", ["kind"]],
    ["on(kind, handler, { signal: 1 })", (pg) => pg.on("k", () => {}, { signal: 1 as never }), "pg.on(kind, handler, options?)", ["signal must be an AbortSignal"]],
    ["on(kind, handler, { borrow: 1 })", (pg) => pg.on("k", () => {}, { borrow: 1 as never }), "pg.on(kind, handler, options?)", ["borrow must be true or false"]],
    ["ban(42)", (pg) => pg.ban(42 as never), "pg.ban(peerIdOrHost, options?)", ["peerIdOrHost"]],
    ["ban(id, { duration })", (pg) => pg.ban("x", { duration: 5 } as never), "pg.ban(peerIdOrHost, options?)", ['"duration" (did you mean "durationMs"?)']],
    ["unban(null)", (pg) => pg.unban(null as never), "pg.unban(peerIdOrHost)", ["peerIdOrHost"]],
    ["disconnect(id, 42)", (pg) => pg.disconnect("x", 42 as never), "pg.disconnect(peerId, reason?)", ["reason must be a string"]],
  ])("%s", async (_what, call, name, words) => {
    const pg = await node();
    expect(() => call(pg)).toThrow(invalid(name, ...words));
  });

  it("events.on refuses a listener that is not a function", async () => {
    const pg = await node();
    expect(() => pg.events.on("error", 5 as never)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining("events.on(name, listener, options?)") }));
  });
});

describe("pg.events.on: the event's name is checked", () => {
  it.each<[string, unknown]>([
    ["a typo", "peer:join"],
    ["a message kind", "chat"],
    ["a name from Object.prototype", "toString"],
    ["not a string", 5],
  ])("refuses %s: a listener that would never be called", (_what, name) => {
    const pg = track(new Playground("x", { transports: [memoryTransport()], listen: [] }));
    expect(() => pg.events.on(name as "error", () => {})).toThrow(invalid("events.on(name, listener, options?)", "there is no event named", "peer:joined", "pg.on(kind, handler)"));
    expect(() => pg.events.once(name as "error", () => {})).toThrow(invalid("events.once(name, listener, options?)", "there is no event named", "pg.events.once("));
  });

  it.each<[string, unknown, string]>([
    ["a BigInt", 5n, "a bigint"],
    ["an object with no prototype", Object.create(null), "a object"],
    ["a symbol", Symbol("peer:joined"), "a symbol"],
  ])("refuses %s with XPPG_ERR_INVALID_ARGUMENT (not a TypeError from showing it), from on and from once", (_what, name, shown) => {
    const pg = track(new Playground("x", { transports: [memoryTransport()], listen: [] }));
    expect(() => pg.events.on(name as "error", () => {})).toThrow(invalid("events.on(name, listener, options?)", `there is no event named ${shown}`));
    expect(() => pg.events.once(name as "error", () => {})).toThrow(invalid("events.once(name, listener, options?)", `there is no event named ${shown}`));
  });

  it("takes every event the node emits", () => {
    const pg = track(new Playground("x", { transports: [memoryTransport()], listen: [] }));
    for (const name of ["peer:joined", "peer:left", "error", "message:unhandled", "peer:banned", "peer:discovered", "mesh:joined", "mesh:left", "reachability:changed"] as const) {
      expect(typeof pg.events.on(name, () => {})).toBe("function");
    }
  });
});

describe("message kinds: the node's event names are events, not kinds", () => {
  const EVENTS = ["peer:joined", "peer:left", "error", "message:unhandled", "peer:banned", "peer:discovered", "mesh:joined", "mesh:left", "reachability:changed"] as const;

  it("the list is every event pg.events takes", () => {
    const pg = track(new Playground("x", { transports: [memoryTransport()], listen: [] }));
    for (const name of EVENTS) expect(typeof pg.events.on(name, () => {})).toBe("function");
    expect(() => pg.events.on("chat" as "error", () => {})).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
  });

  it.each(EVENTS)("pg.on, pg.handle, pg.send and pg.request refuse %s, pointing to pg.events.on", async (name) => {
    const pg = await node();
    const event = `${JSON.stringify(name)} is an event of the node, not a message kind`;
    const listen = `pg.events.on(${JSON.stringify(name)}, ...)`;
    expect(() => pg.on(name, () => {})).toThrow(invalid("pg.on(kind, handler, options?)", event, listen));
    expect(() => pg.on(name, () => {}, { borrow: true })).toThrow(invalid("pg.on(kind, handler, options?)", event, listen));
    expect(() => pg.handle(name, () => 1)).toThrow(invalid("pg.handle(kind, handler, options?)", event, listen));
    await expect(pg.send(name, { x: 1 })).rejects.toEqual(invalid("pg.send(kind, payload, options?)", event, listen, "choose another kind"));
    await expect(pg.send(name, { x: 1 }, { to: "xp1nobody" })).rejects.toEqual(invalid("pg.send(kind, payload, options?)", event));
    await expect(pg.request(name, { x: 1 }, { to: "xp1nobody" })).rejects.toEqual(invalid("pg.request(kind, payload, { to, timeoutMs?, signal? })", event, listen));
  });

  it("takes every other kind, with or without a colon, and a case or a suffix away from an event", async () => {
    const pg = await node();
    for (const kind of ["chat", "chat:move", "peer:chat", "Error", "errors", "peer:joined2", "x:error"]) {
      expect(typeof pg.on(kind, () => {})).toBe("function");
      expect(typeof pg.handle(kind, () => 1)).toBe("function");
      await expect(pg.send(kind, { x: 1 })).resolves.toBeUndefined();
    }
  });
});
