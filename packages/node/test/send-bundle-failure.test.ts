import type { Transport } from "@xppg/transport";
import { connectionResetError } from "@xppg/transport/adapter";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it, vi } from "vitest";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { collect, stopNodesAfterEach, track } from "./helpers.js";
import { errorsOf, leftOf, tcpNode, throwingTransport } from "./tcp-helpers.js";

// pg.send to a neighbour resolves once its message is queued. A tick's first
// message is written at once; its later ones are written together, as one
// bundle, at the tick's end. These tests fail that later write in each way a
// connection can (README, "`await pg.send(kind, payload, { to? })`"): the
// sends resolved, so the loss must show, with a code, on `peer:left` and
// `error`, and every send after it must reject.

stopNodesAfterEach();

const quietHeartbeat = { intervalMs: 60_000, timeoutMs: 120_000 };
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const outcome = (p: Promise<void>): Promise<string> => p.then(() => "resolved", (e: { code?: string }) => `rejected ${String(e.code)}`);
const KiB = 1024;

/** A node dialling P with `transport`, both started, joined, and idle after a message that arrived. */
async function joined(encrypted: boolean, transport: Transport) {
  const plain: PlaygroundOptions = encrypted ? {} : { dangerouslyDisableEncryption: true };
  const p = await tcpNode({ heartbeat: quietHeartbeat, ...plain });
  const a = track(new Playground("test-app", { transports: [transport], listen: [], heartbeat: quietHeartbeat, ...plain }));
  await a.start();
  await a.join(`tcp://127.0.0.1:${p.port}`);
  const got = collect<unknown>(p, "m");
  await a.send("m", 0, { to: p.peerId });
  await vi.waitFor(() => expect(got).toHaveLength(1));
  await turn();
  return { a, p, got, errors: errorsOf(a), left: leftOf(a) };
}

/** After the loss: a few turns, then what a send to P gives and what P got. */
async function afterLoss(a: Playground, p: Playground, left: { peerId: string }[]) {
  await vi.waitFor(() => expect(left).toHaveLength(1));
  const later = await outcome(a.send("m", "later", { to: p.peerId }));
  for (let i = 0; i < 10; i++) await turn();
  return later;
}

const big = (): { big: Uint8Array } => ({ big: new Uint8Array(70 * KiB) });

/**
 * What P read is a prefix of `sent`, never more (nothing after a lost
 * bundle, so no gap): the session ends with a reset, which may cut what was
 * written at once before it too.
 */
function expectPrefix(got: { payload: unknown }[], sent: unknown[]): void {
  const payloads = got.map((m) => m.payload);
  expect(sent.slice(0, payloads.length)).toEqual(payloads);
}

describe("plaintext: a transport whose maxFrameSize is below limits.maxFrameSize refuses a large bundle and stays open", () => {
  it.each([
    ["pg.send to one peer", (a: Playground, to: string) => a.send("m", big(), { to })],
    ["pg.sendText", (a: Playground, to: string) => a.sendText("x".repeat(70 * KiB), to)],
    ["a broadcast", (a: Playground) => a.send("m", big())],
  ])("%s in a tick's bundle: the session ends with XPPG_ERR_FRAME_TOO_LARGE on peer:left and error (once), later sends reject", async (_name, sendLarge) => {
    const { a, p, got, errors, left } = await joined(false, tcpTransport({ maxFrameSize: 64 * KiB }));
    // The tick's first message leaves at once; the large one is the tick's bundle, refused at the tick's end.
    const sends = [a.send("m", 1, { to: p.peerId }), sendLarge(a, p.peerId)];
    expect(await Promise.all(sends.map(outcome))).toEqual(["resolved", "resolved"]);
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_FRAME_TOO_LARGE" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_FRAME_TOO_LARGE"]);
    expect(later).toMatch(/^rejected XPPG_ERR_/);
    // Nothing after the lost bundle reached P: no gap in what it read.
    expectPrefix(got, [0, 1]);
  });

  it("a large message that is the tick's first (written at once) ends the session the same way", async () => {
    const { a, p, got, errors, left } = await joined(false, tcpTransport({ maxFrameSize: 64 * KiB }));
    expect(await outcome(a.send("m", big(), { to: p.peerId }))).toBe("resolved");
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_FRAME_TOO_LARGE" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_FRAME_TOO_LARGE"]);
    expect(later).toMatch(/^rejected XPPG_ERR_/);
    expectPrefix(got, [0]);
  });
});

describe("plaintext: messages that each fit a transport's maxFrameSize below limits.maxFrameSize", () => {
  it("are cut into bundles the connection takes: the tick's messages all arrive and the session stays", async () => {
    const { a, p, got, errors, left } = await joined(false, tcpTransport({ maxFrameSize: 16 * KiB }));
    const tenKiB = (n: number) => ({ n, bytes: new Uint8Array(10 * KiB) });
    // The tick's first leaves at once; the two others, 20 KiB together, would be one bundle over the transport's 16 KiB.
    const sends = [a.send("m", 1, { to: p.peerId }), a.send("m", tenKiB(2), { to: p.peerId }), a.send("m", tenKiB(3), { to: p.peerId })];
    expect(await Promise.all(sends.map(outcome))).toEqual(["resolved", "resolved", "resolved"]);
    await vi.waitFor(() => expect(got).toHaveLength(4));
    expect(got.map((m) => m.payload).map((x) => (typeof x === "object" && x !== null && "n" in x ? x.n : x))).toEqual([0, 1, 2, 3]);
    expect(await outcome(a.send("m", 4, { to: p.peerId }))).toBe("resolved");
    await vi.waitFor(() => expect(got).toHaveLength(5));
    expect(left).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe("encrypted: both nodes on a transport whose maxFrameSize is below a secure record (65,535 bytes)", () => {
  it("messages larger than its frames arrive whole, alone or several in a tick, and the session stays", async () => {
    const small = () => tcpTransport({ maxFrameSize: 16 * KiB });
    const p = await tcpNode({ heartbeat: quietHeartbeat, transports: [small()] });
    const a = track(new Playground("test-app", { transports: [small()], listen: [], heartbeat: quietHeartbeat }));
    await a.start();
    await a.join(`tcp://127.0.0.1:${p.port}`);
    const got = collect<unknown>(p, "m");
    const errors = errorsOf(a);
    const left = leftOf(a);
    const bytes = (size: number, seed: number) => Uint8Array.from({ length: size }, (_, i) => (seed + i) % 251);
    const sent = [bytes(100 * KiB, 1), bytes(10, 2), bytes(40 * KiB, 3), bytes(300 * KiB, 4)];
    expect(await outcome(a.send("m", sent[0], { to: p.peerId }))).toBe("resolved");
    expect(await Promise.all(sent.slice(1).map((b) => outcome(a.send("m", b, { to: p.peerId }))))).toEqual(["resolved", "resolved", "resolved"]);
    await vi.waitFor(() => expect(got).toHaveLength(sent.length));
    got.forEach((m, i) => expect(m.payload).toEqual(sent[i]));
    expect(left).toEqual([]);
    expect(errors).toEqual([]);
  });
});

// A TCP connection lends room (the bundle leaves with sendLent); one without loans (a WebSocket's way) is sent copies with send.
describe.each([
  ["sendLent", true],
  ["send, no loans", false],
])("plaintext: a connection whose write (%s) throws a plain error on a tick's bundle", (call, lending) => {
  it("the session ends with XPPG_ERR_TRANSPORT_CONTRACT (the error as cause) on peer:left and error (once), not as a clean leave; later sends reject", async () => {
    const t = throwingTransport({}, { lending });
    const { a, p, got, errors, left } = await joined(false, t.transport);
    const first = a.send("m", 1, { to: p.peerId });
    t.fail();
    const rest = [a.send("m", 2, { to: p.peerId }), a.sendText("3", p.peerId)];
    expect(await Promise.all([first, ...rest].map(outcome))).toEqual(["resolved", "resolved", "resolved"]);
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_TRANSPORT_CONTRACT" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_TRANSPORT_CONTRACT"]);
    expect((errors[0]!.cause as Error).message).toBe("injected write failure");
    // The words blame the transport, not xppg, and say what to do.
    // It names the call that threw (sendLent for a lending connection).
    const callName = lending ? "sendLent" : "send";
    expect(errors[0]!.message).toMatch(new RegExp(`tcp transport's connection .* failed in its ${callName} \\(Error: injected write failure\\).*bug in that transport.*fix it.*report it to its authors`));
    expect(call.startsWith(callName)).toBe(true);
    expect(later).toMatch(/^rejected XPPG_ERR_/);
    expectPrefix(got, [0, 1]);
  });
});

describe("encrypted: the write under the secure channel throws while the tick's later frames are sealed", () => {
  it("the sends resolved (handed to the channel), the session ends with XPPG_ERR_CONNECTION_RESET (once), later sends reject", async () => {
    const t = throwingTransport();
    const { a, p, got, errors, left } = await joined(true, t.transport);
    const first = a.send("m", 1, { to: p.peerId });
    t.fail();
    const rest = [a.send("m", 2, { to: p.peerId }), a.send("m", 3)];
    expect(await Promise.all([first, ...rest].map(outcome))).toEqual(["resolved", "resolved", "resolved"]);
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_CONNECTION_RESET" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_CONNECTION_RESET"]);
    expect(later).toMatch(/^rejected XPPG_ERR_/);
    expectPrefix(got, [0, 1]);
  });
});

describe.each([
  ["encrypted", true],
  ["plaintext", false],
])("the connection is reset in the tick after the sends were queued (%s)", (_name, encrypted) => {
  it("the sends resolved, peer:left carries the reset's code, later sends reject", async () => {
    const t = throwingTransport();
    const { a, p, got, left } = await joined(encrypted, t.transport);
    const sends = [a.send("m", 1, { to: p.peerId }), a.send("m", 2, { to: p.peerId })];
    const conn = t.connection();
    void conn.close(connectionResetError(conn.remoteAddress, new Error("reset in the same tick")));
    expect(await Promise.all(sends.map(outcome))).toEqual(["resolved", "resolved"]);
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_CONNECTION_RESET" }]);
    expect(later).toMatch(/^rejected XPPG_ERR_/);
    expectPrefix(got, [0, 1]);
  });
});

describe.each([
  ["sendLent", true],
  ["send, no loans", false],
])("plaintext: a connection whose write (%s) throws a plain error on the tick's first message (written at once)", (_name, lending) => {
  it.each([
    ["pg.send to one peer", (a: Playground, to: string) => a.send("m", 1, { to })],
    ["a broadcast", (a: Playground) => a.send("m", 1)],
    ["pg.sendText", (a: Playground, to: string) => a.sendText("1", to)],
    ["pg.pushState", (a: Playground, to: string) => (a.state.set("k", 1), a.pushState(to))],
  ])("%s: the session ends with XPPG_ERR_TRANSPORT_CONTRACT on peer:left and error (once)", async (_name, sendOne) => {
    const t = throwingTransport({}, { lending });
    const { a, p, errors, left } = await joined(false, t.transport);
    t.fail();
    await outcome(sendOne(a, p.peerId));
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_TRANSPORT_CONTRACT" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_TRANSPORT_CONTRACT"]);
    expect((errors[0]!.cause as Error).message).toBe("injected write failure");
    expect(later).toMatch(/^rejected XPPG_ERR_/);
  });
});

describe.each([
  ["encrypted", true],
  ["plaintext", false],
])("a connection whose close throws or rejects a plain error (%s)", (_name, encrypted) => {
  // Encrypted, a close that rejects once the connection below has closed comes after the secure connection ended: nothing is left to report it to.
  const reports = (how: "throw" | "reject"): number => (encrypted && how === "reject" ? 0 : 1);
  it.each(["throw", "reject"] as const)("close %ss on pg.disconnect: no throw and nothing unhandled, the peer leaves, XPPG_ERR_TRANSPORT_CONTRACT at most once", async (how) => {
    const t = throwingTransport();
    const { a, p, errors, left } = await joined(encrypted, t.transport);
    t.failClose(how);
    expect(a.disconnect(p.peerId, "test")).toBe(true);
    await vi.waitFor(() => expect(left).toHaveLength(1));
    expect(left[0]!.code).toBe("XPPG_ERR_DISCONNECTED");
    await vi.waitFor(() => expect(errors).toHaveLength(reports(how)));
    for (let i = 0; i < 10; i++) await turn();
    expect(errors).toHaveLength(reports(how));
    for (const e of errors) {
      expect(e.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
      expect((e.cause as Error).message).toBe("injected close failure");
      expect(e.message).toMatch(/failed in its close \(Error: injected close failure\), where its contract says close resolves.*taken as closed all the same/);
    }
    expect(a.peers).toEqual([]);
  });
});

describe("plaintext: a connection whose send and then close throw", () => {
  it("the session ends with the send's XPPG_ERR_TRANSPORT_CONTRACT; the close's is reported beside it; nothing escapes", async () => {
    const t = throwingTransport();
    const { a, p, errors, left } = await joined(false, t.transport);
    t.failClose("throw");
    t.fail();
    await outcome(a.send("m", 1, { to: p.peerId }));
    await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_TRANSPORT_CONTRACT" }]);
    await vi.waitFor(() => expect(errors).toHaveLength(2));
    expect(errors.map((e) => [e.code, (e.cause as Error).message]).sort()).toEqual([
      ["XPPG_ERR_TRANSPORT_CONTRACT", "injected close failure"],
      ["XPPG_ERR_TRANSPORT_CONTRACT", "injected write failure"],
    ]);
  });
});

describe("a connection no session took, whose close throws or rejects", () => {
  /** A TCP transport whose accepted connections close, then throw or reject from `close`. */
  function closeFailingListener(how: "throw" | "reject"): Transport {
    const inner = tcpTransport();
    return Object.assign(Object.create(inner) as Transport, {
      listen: (address: string, handler: Parameters<Transport["listen"]>[1], o?: Parameters<Transport["listen"]>[2]) =>
        inner.listen(
          address,
          (c) => {
            const close = c.close.bind(c);
            c.close = (error) => {
              const closing = close(error);
              if (how === "throw") throw new Error("injected close failure");
              return closing.then(() => Promise.reject(new Error("injected close failure")));
            };
            handler(c);
          },
          o,
        ),
    });
  }

  it.each(["throw", "reject"] as const)("a banned host's connection is closed and the failure reported as XPPG_ERR_TRANSPORT_CONTRACT, nothing escapes, the node takes the next one (%s)", async (how) => {
    const p = await tcpNode({ transports: [closeFailingListener(how)] });
    const errors = errorsOf(p);
    p.ban("host:127.0.0.1");
    const a = await tcpNode({ listen: [] });
    await expect(a.join(`tcp://127.0.0.1:${p.port}`)).rejects.toBeDefined();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]!.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
    expect((errors[0]!.cause as Error).message).toBe("injected close failure");
    p.unban("host:127.0.0.1");
    await a.join(`tcp://127.0.0.1:${p.port}`);
    await vi.waitFor(() => expect(p.peers.map((peer) => peer.peerId)).toEqual([a.peerId]));
  });
});

describe("plaintext: a connection whose lendRoom throws a plain error", () => {
  it.each([
    ["on the tick's first message", false],
    ["on a tick's bundle", true],
  ])("%s: the session ends with XPPG_ERR_TRANSPORT_CONTRACT naming lendRoom (once), not a throw out of pg.send; later sends reject", async (_name, afterFirst) => {
    const t = throwingTransport();
    const { a, p, got, errors, left } = await joined(false, t.transport);
    const sends = [];
    if (afterFirst) sends.push(a.send("m", 1, { to: p.peerId }));
    t.failLend();
    sends.push(a.send("m", 2, { to: p.peerId }), a.send("m", 3, { to: p.peerId }));
    // Each send either resolved (queued) or rejected with a code: none threw.
    for (const o of await Promise.all(sends.map(outcome))) expect(o).toMatch(/^(resolved|rejected XPPG_ERR_)/);
    const later = await afterLoss(a, p, left);
    expect(left).toEqual([{ peerId: p.peerId, code: "XPPG_ERR_TRANSPORT_CONTRACT" }]);
    expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_TRANSPORT_CONTRACT"]);
    expect((errors[0]!.cause as Error).message).toBe("injected lendRoom failure");
    expect(errors[0]!.message).toMatch(/failed in its lendRoom \(Error: injected lendRoom failure\)/);
    expect(later).toMatch(/^rejected XPPG_ERR_/);
    expectPrefix(got, [0, 1]);
  });
});
