import { describe, expect, it, vi } from "vitest";
import { memoryTransport } from "@xppg/transport";
import { Playground, RemotePeerError, isRemotePeerError } from "../src/index.js";
import { nextEvent, node, stopNodesAfterEach, track, until } from "./helpers.js";

stopNodesAfterEach();

let counter = 0;
const address = (): string => `memory://signals-${process.pid}-${++counter}`;

describe("AbortSignal on long calls", () => {
  it("start: an aborted start closes what it opened, rejects with XPPG_ERR_ABORTED, and may be retried", async () => {
    const listen = [address()];
    const pg = track(new Playground("app", { transports: [memoryTransport()], listen }));
    await expect(pg.start({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    const controller = new AbortController();
    const starting = pg.start({ signal: controller.signal });
    controller.abort(new Error("changed my mind"));
    await expect(starting).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED", message: expect.stringContaining("start()") });
    expect(pg.running).toBe(false);
    // The address was released: the same node starts on it now.
    await expect(pg.start()).resolves.toBeNull();
    expect(pg.addresses).toEqual(listen);
  });

  it.each(["throw", "reject"] as const)("start: a listener that opens after the start was aborted is closed, and its broken close (%s) escapes nowhere", async (how) => {
    const inner = memoryTransport();
    let opened: { close(): Promise<void> } | undefined;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const transport = Object.assign(Object.create(inner) as typeof inner, {
      listen: async (...args: Parameters<typeof inner.listen>) => {
        await gate;
        const l = await inner.listen(...args);
        opened = l;
        return Object.assign(Object.create(l) as typeof l, {
          close: () => {
            const closing = l.close();
            if (how === "throw") throw new Error("injected listener close failure");
            return closing.then(() => Promise.reject(new Error("injected listener close failure")));
          },
        });
      },
    });
    const listen = [address()];
    const pg = track(new Playground("app", { transports: [transport], listen }));
    const controller = new AbortController();
    const starting = pg.start({ signal: controller.signal });
    controller.abort();
    await expect(starting).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    release();
    await until(() => opened !== undefined, 5000, "the late listener to open");
    // Closed all the same: the address is free again.
    await vi.waitFor(async () => await (await inner.listen(listen[0]!, () => {})).close(), { timeout: 5000, interval: 5 });
  });

  it("join: aborting a join to a node that never answers rejects at once with XPPG_ERR_ABORTED", async () => {
    const silent = address();
    const held: { close(): Promise<void> }[] = [];
    const listener = await memoryTransport().listen(silent, (conn) => void held.push(conn));
    try {
      const pg = await node();
      const controller = new AbortController();
      const joining = pg.join(silent, { signal: controller.signal, timeoutMs: 60_000 });
      await until(() => held.length === 1, 5000, "the dial to arrive");
      controller.abort();
      await expect(joining).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
      expect(pg.peers).toEqual([]);
      await expect(pg.join(silent, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    } finally {
      await Promise.all(held.map((c) => c.close()));
      await listener.close();
    }
  });

  it("requestState: aborting gives up with XPPG_ERR_ABORTED", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const controller = new AbortController();
    const asking = b.requestState({ signal: controller.signal });
    controller.abort();
    await expect(asking).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    await expect(b.requestState({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    await expect(b.requestState({ to: a.peerId })).resolves.toBeUndefined();
  });

  it("on: aborting the signal removes the handler", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const controller = new AbortController();
    const got: unknown[] = [];
    a.on("note", (_src, _kind, payload) => void got.push(payload), { signal: controller.signal });
    await b.send("note", 1);
    await until(() => got.length === 1, 5000, "the first note");
    controller.abort();
    const unhandled = nextEvent(a, "message:unhandled");
    await b.send("note", 2);
    expect(await unhandled).toEqual([b.peerId, "note"]);
    expect(got).toEqual([1]);
    // Already aborted: never added.
    a.on("late", () => void got.push("late"), { signal: AbortSignal.abort() });
    const lateUnhandled = nextEvent(a, "message:unhandled");
    await b.send("late", 3);
    expect(await lateUnhandled).toEqual([b.peerId, "late"]);
  });

  it("events.on: aborting the signal removes the listener", async () => {
    const a = await node();
    const controller = new AbortController();
    const seen: string[] = [];
    a.events.on("peer:joined", (p) => void seen.push(`aborted:${p.peerId}`), { signal: controller.signal });
    a.events.on("peer:joined", (p) => void seen.push(`kept:${p.peerId}`));
    controller.abort();
    const b = await node();
    await b.join(a.addresses[0]!);
    await until(() => seen.length === 1, 5000, "peer:joined");
    expect(seen).toEqual([`kept:${b.peerId}`]);
  });
});

describe("Symbol.asyncDispose", () => {
  it("await using stops the node when the scope ends", async () => {
    let escaped: Playground | undefined;
    {
      await using pg = new Playground("app", { transports: [memoryTransport()], listen: [address()] });
      await pg.start();
      escaped = pg;
      expect(pg.running).toBe(true);
    }
    expect(escaped.running).toBe(false);
    await expect(escaped.sendText("x")).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
  });
});

describe("a goodbye's code is the remote peer's", () => {
  it("arrives as a RemotePeerError with the peer's code and reason", async () => {
    const a = await node();
    const b = await node();
    await b.join(a.addresses[0]!);
    const left = nextEvent(b, "peer:left");
    a.disconnect(b.peerId, "maintenance");
    const [, reason] = await left;
    expect(reason).toBeInstanceOf(RemotePeerError);
    expect(isRemotePeerError(reason)).toBe(true);
    expect(reason).toMatchObject({ code: "XPPG_ERR_DISCONNECTED", remote: true, message: expect.stringContaining("maintenance") });
  });
});
