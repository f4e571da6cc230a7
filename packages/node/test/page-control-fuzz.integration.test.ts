// The control-message fuzz of control-fuzz.test.ts, against a page's node: the browser entry, bundled with Vite
// from the sources, runs in Debian's Chromium and dials (a page cannot listen) a raw peer that accepts over
// WebSocket. The raw peer answers with a hello offering every capability (now and then one field of it changed or
// removed), then sends each control kind with arbitrary and mutated-valid payloads (fast-check): one envelope a
// frame, all in one frame (a bundle), or that bundle with a byte changed or cut short. Plaintext
// (`dangerouslyDisableEncryption`) and encrypted; encrypted, it may then send a record of the secure channel that
// does not open (random bytes, a replayed record, a record with a byte changed) for the page's record layer.
// The page refuses the hello or drops the peer with a stable code, or takes its messages; it never fails in its own
// code (XPPG_ERR_INTERNAL), throws nothing uncaught, logs no error on its console, and serves its honest Node peer
// throughout; after the runs it still dials a fresh peer.
//
// Without /usr/bin/chromium (`apt-get install chromium`), or when it will not start, these tests skip and say why.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateIdentity, secureConnection } from "@xppg/secure";
import type { Connection, Listener } from "@xppg/transport";
import { webSocketTransport } from "@xppg/transport-ws";
import { bundleForBrowser } from "../../../bench/browser/bundle.mjs";
import { chromiumMissing, hostPage, type HostedPage } from "../../secure/test/fixtures/page-host.js";
import { Playground } from "../src/index.js";
import { NODE_CAPABILITIES, PROTOCOL_VERSION } from "../src/protocol.js";
import { messages, mutated, SIGNED } from "./control-messages.js";
import { RawPeer, until } from "./helpers.js";

if (chromiumMissing !== null) console.warn(`page control-message fuzz skipped: ${chromiumMissing}`);

const here = dirname(fileURLToPath(import.meta.url));
const APP = "page-fuzz";
/** Runs per mode: each is one dial of the raw peer by the page, and one round trip with the honest peer (PAGE_FUZZ_RUNS for a longer hunt). */
const RUNS = Number(process.env.PAGE_FUZZ_RUNS ?? 150);
/**
 * The seed of the runs, printed before they start: a run the test's timeout cuts short (a page that hangs, waited
 * for at each shrinking step) prints no counterexample. PAGE_FUZZ_SEED replays the same draws; the identities, and
 * so the peer ids and signatures in the messages, are new each time.
 */
const SEED = process.env.PAGE_FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.PAGE_FUZZ_SEED);
const WAIT = 10_000;

// What the page runs: a Playground driven from the test through globalThis.fuzzPage().
const PAGE = `
import { Playground, createIdentity, isRemotePeerError } from "@xppg/node";
const state = { pg: undefined, errors: [], left: [], got: [] };
const fuzzPage = {
  async open(url, plain) {
    await state.pg?.stop();
    state.errors.length = 0;
    state.left.length = 0;
    state.got.length = 0;
    // Strikes would ban the raw peer's host after a few runs; this test is about surviving the input.
    const pg = new Playground(${JSON.stringify(APP)}, { identity: await createIdentity(), dangerouslyDisableEncryption: plain, limits: { banThreshold: Number.MAX_SAFE_INTEGER } });
    state.pg = pg;
    pg.events.on("error", (e, peer) => void state.errors.push({ code: String(e.code), message: String(e.message), remote: isRemotePeerError(e), peer: peer ?? null }));
    pg.events.on("peer:left", (peer, reason) => void state.left.push({ peer: peer.peerId, code: reason === undefined ? null : String(reason.code), remote: reason !== undefined && isRemotePeerError(reason) }));
    pg.on("note", (src, _kind, payload) => void state.got.push({ src, payload }));
    await pg.start();
    const peer = await pg.join(url);
    return { peerId: pg.peerId, remote: peer.peerId };
  },
  async join(url) {
    try {
      return { peerId: (await state.pg.join(url)).peerId };
    } catch (e) {
      return { code: String(e?.code), message: String(e?.message) };
    }
  },
  errors: () => state.errors.slice(),
  left: () => state.left.slice(),
  got: () => state.got.slice(),
  peers: () => state.pg.peers.map((p) => p.peerId),
  running: () => state.pg.running,
  send: (payload) => state.pg.send("note", payload),
  stop: () => state.pg?.stop(),
};
globalThis.fuzzPage = () => fuzzPage;
`;

interface PageError {
  code: string;
  message: string;
  remote: boolean;
  peer: string | null;
}
interface PeerLeft {
  peer: string;
  /** The code of the reason it left with, or null for none. */
  code: string | null;
  /** The code is the peer's own (its goodbye). */
  remote: boolean;
}
interface FuzzPage {
  open(url: string, plain: boolean): Promise<{ peerId: string; remote: string }>;
  join(url: string): Promise<{ peerId: string } | { code: string; message: string }>;
  errors(): PageError[];
  left(): PeerLeft[];
  got(): { src: string; payload: unknown }[];
  peers(): string[];
  running(): boolean;
  send(payload: unknown): Promise<void>;
  stop(): Promise<void>;
}
/** The page's API; the page defines a global `fuzzPage` the same way, so callbacks run by page.evaluate can use it. */
const fuzzPage = (): FuzzPage => (globalThis as unknown as { fuzzPage: () => FuzzPage }).fuzzPage();

const show = (list: [string, unknown][]): string => JSON.stringify(list, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : v));

describe.skipIf(chromiumMissing !== null)("a page's node, fed fuzzed control messages by a peer it dialled over WebSocket", () => {
  let hosted: HostedPage | undefined;

  beforeAll(async () => {
    // A development build (as vite dev serves it): the error texts in full.
    const { code } = await bundleForBrowser({ root: resolve(here, ".."), code: PAGE, source: true, minify: false, split: false, mode: "development" });
    hosted = await hostPage(code, "page-fuzz.js", "fuzzPage", "page control-message fuzz");
  }, 60_000);

  afterAll(async () => {
    await hosted?.close();
  });

  describe.each([
    ["plaintext", true],
    ["encrypted", false],
  ] as const)("%s", (what, plain) => {
    const honest: Playground[] = [];
    let listener: Listener | undefined;

    afterAll(async () => {
      await hosted?.page?.evaluate(() => fuzzPage().stop());
      await listener?.close();
      await Promise.all(honest.map((pg) => pg.stop()));
    });

    /** A Node peer the page can dial, as the page is: plaintext or encrypted. */
    async function honestPeer(): Promise<Playground> {
      const pg = new Playground(APP, { listen: ["ws://127.0.0.1:0/"], transports: [webSocketTransport()], ...(plain ? { dangerouslyDisableEncryption: true } : {}) });
      honest.push(pg);
      await pg.start();
      return pg;
    }

    it("each peer is dropped with a typed reason or its messages taken; the page never fails in its own code, throws nothing and keeps serving its honest peer", async (ctx) => {
      ctx.skip(hosted?.launchFailed != null, hosted?.launchFailed ?? "");
      const page = hosted!.page!;
      const good = await honestPeer();
      const heard: unknown[] = [];
      good.on("note", (_src, _kind, payload) => void heard.push(payload));
      const opened = await page.evaluate(([url, p]) => fuzzPage().open(url, p), [good.addresses[0]!, plain] as const);
      expect(opened.remote).toBe(good.peerId);
      const pageId = opened.peerId;

      // The raw peer: each connection the page dials is answered by a fresh identity, through the secure handshake
      // unless plaintext, with a hello offering every capability (or that hello mutated) and the welcome.
      let accepted: ((raw: RawPeer, socket: SocketTap) => void) | undefined;
      let helloOf: (raw: RawPeer) => unknown = validHello;
      let hello: unknown;
      const accept = async (conn: Connection): Promise<void> => {
        const identity = generateIdentity();
        const socket = tapped(conn);
        let raw: RawPeer;
        if (plain) raw = new RawPeer(conn, identity.peerId, pageId);
        else {
          const secure = await secureConnection(socket.conn, { identity });
          raw = new RawPeer(secure, identity.peerId, secure.remotePeerId);
        }
        raw.identity = identity;
        // Waiting for it first: a raw peer reads only once it was handed over.
        accepted?.(raw, socket);
        hello = helloOf(raw);
        await raw.send("xppg/hello", hello);
        await raw.send("xppg/welcome", null);
      };
      listener = await webSocketTransport().listen("ws://127.0.0.1:0/", (conn) => void accept(conn).catch(() => conn.close()));

      let seen = 0;
      let dropped = 0;
      let refusedHellos = 0;
      let round = 0;
      console.info(`page control-message fuzz, ${what}: ${RUNS} runs, seed ${SEED} (PAGE_FUZZ_SEED=${SEED} replays them)`);
      await fc.assert(
        fc.asyncProperty(fc.integer(), fc.constantFrom(...SHAPES), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom(...(plain ? (["none"] as const) : RECORDS)), fc.option(fc.integer(), { freq: 8 }), async (seed, shape, at, byte, record, helloSeed) => {
          // This run's own uncaught errors and console errors (a shrunk run is reported with its own).
          const [pageErrorsBefore, consoleErrorsBefore] = [hosted!.pageErrors.length, hosted!.consoleErrors.length];
          const rawReady = new Promise<[RawPeer, SocketTap]>((done) => (accepted = (r, t) => done([r, t])));
          helloOf = (r) => (helloSeed === null ? validHello(r) : fc.sample(mutated(validHello(r) as Record<string, unknown>), { seed: helloSeed, numRuns: 1 })[0]);
          const joined = await page.evaluate((url) => fuzzPage().join(url), listener!.address);
          const [raw, socket] = await rawReady;
          let context = `hello ${show([["xppg/hello", hello]])}`;
          if ("code" in joined) {
            // A hello the page refused: the join says why with a stable code, and the connection closes.
            expect(joined.code, context).toMatch(/^XPPG_ERR_[A-Z_]+$/);
            expect(joined.code, context).not.toBe("XPPG_ERR_INTERNAL");
            await until(() => raw.conn.isClosed, WAIT, "the refused peer's close");
            refusedHellos++;
          } else {
            expect(joined, context).toEqual({ peerId: raw.peerId });
            // Whatever the node greets a new link with comes first: the fuzz starts once the page's welcome arrived.
            await until(() => raw.received.some((m) => m.kind === "xppg/welcome"), WAIT, "the page's welcome");
            // With a tampered record to come, sometimes nothing before it: the record is then what the page refuses.
            const list = fc.sample(fc.array(messages(raw), { minLength: record === "none" ? 1 : 0, maxLength: 6 }), { seed, numRuns: 1 })[0]!;
            context = `${shape} (${at}, ${byte}), record ${record}: ${show(list)}`;
            const frames = list.map(([kind, payload]) => (kind.startsWith(SIGNED) ? raw.signedBroadcast(kind.slice(SIGNED.length), payload, raw.identity!) : raw.envelope(kind, payload)));
            for (const frame of shaped(frames, shape, at, byte)) await raw.conn.send(frame).catch(() => {});
            // Under the secure channel: a record that does not open (random bytes, one seen before, one byte changed).
            if (record !== "none") await socket.send(tampered(socket.last!, record, at, byte)).catch(() => {});
            await raw.send("xppg/ping", null).catch(() => {});
            // Either the page answered the last ping (it took everything) or it dropped the peer.
            await until(() => raw.received.some((m) => m.kind === "xppg/pong") || raw.conn.isClosed, WAIT, "a pong or a close");
            // A record that does not open ends the connection, whatever came before it.
            if (record !== "none") await until(() => raw.conn.isClosed, WAIT, "the close after a tampered record");
          }
          const closedByPage = raw.conn.isClosed;
          await raw.conn.close();
          await expect.poll(() => page.evaluate(() => fuzzPage().peers()), { timeout: WAIT }).not.toContain(raw.peerId);

          const errors = await page.evaluate(() => fuzzPage().errors());
          const fresh = errors.slice(seen);
          seen = errors.length;
          // Every error is a typed one of the project, none says the page's own code failed.
          const internal = fresh.filter((e) => !e.remote && (e.code === "XPPG_ERR_INTERNAL" || !e.code.startsWith("XPPG_ERR_")));
          expect(internal, context).toEqual([]);
          // A peer the page dropped after it joined left with a reason: a stable code of the project's, or the peer's own goodbye.
          if (closedByPage && !("code" in joined)) {
            dropped++;
            const left = (await page.evaluate(() => fuzzPage().left())).filter((l) => l.peer === raw.peerId);
            expect(left, context).toHaveLength(1);
            const [{ code, remote }] = left as [PeerLeft];
            if (!remote) expect(code, context).toMatch(/^XPPG_ERR_[A-Z_]+$/);
            expect(code, context).not.toBe("XPPG_ERR_INTERNAL");
          }
          // Only that connection: the honest peer stays and is served both ways.
          expect(fresh.filter((e) => e.peer === good.peerId), context).toEqual([]);
          const n = round++;
          await good.send("note", { n });
          await expect.poll(() => page.evaluate(() => fuzzPage().got()), { timeout: WAIT }).toContainEqual({ src: good.peerId, payload: { n } });
          await page.evaluate((m) => fuzzPage().send({ back: m }), n);
          await until(() => heard.some((h) => (h as { back?: number }).back === n), WAIT, "the page's note");
          expect(hosted!.pageErrors.slice(pageErrorsBefore), context).toEqual([]);
          expect(hosted!.consoleErrors.slice(consoleErrorsBefore), context).toEqual([]);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      // The input reached the parsers: peers were refused for what they sent, and for their hellos.
      expect(dropped).toBeGreaterThan(0);
      expect(refusedHellos).toBeGreaterThan(0);
      expect((await page.evaluate(() => fuzzPage().errors())).some((e) => e.code === "XPPG_ERR_PROTOCOL_VIOLATION")).toBe(true);
      // And the page carries on: still running, still with its honest peer, and a fresh dial works.
      expect(await page.evaluate(() => fuzzPage().running())).toBe(true);
      const another = await honestPeer();
      expect(await page.evaluate((url) => fuzzPage().join(url), another.addresses[0]!)).toEqual({ peerId: another.peerId });
      expect(new Set(await page.evaluate(() => fuzzPage().peers()))).toEqual(new Set([good.peerId, another.peerId]));
      expect(hosted!.pageErrors).toEqual([]);
      expect(hosted!.consoleErrors).toEqual([]);
    }, 240_000);
  });
});

/**
 * How the envelopes go out. A frame is a bundle ([u32 length][envelope]...): one envelope a frame, all in one frame,
 * or all in one frame with the byte at `at` (modulo its length) set to `byte`, or cut there.
 */
const SHAPES = ["each", "bundled", "byte changed", "cut"] as const;
function shaped(frames: Uint8Array[], shape: (typeof SHAPES)[number], at: number, byte: number): Uint8Array[] {
  if (shape === "each") return frames;
  const all = concat(frames);
  if (shape === "bundled") return [all];
  const where = at % all.byteLength;
  if (shape === "cut") return [all.subarray(0, Math.max(1, where))];
  all[where] = byte;
  return [all];
}

/** The hello of a raw peer offering every capability. */
function validHello(raw: RawPeer): unknown {
  return { app: APP, protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: [...NODE_CAPABILITIES], peerId: raw.peerId, listen: [], agent: "fuzz", time: Date.now() };
}

/** What the raw peer does under the secure channel after its envelopes: nothing, or send a record that does not open. */
const RECORDS = ["none", "random", "replayed", "byte changed"] as const;
function tampered(last: Uint8Array, record: Exclude<(typeof RECORDS)[number], "none">, at: number, byte: number): Uint8Array {
  if (record === "replayed") return last;
  if (record === "random") return Uint8Array.from({ length: at % 200 }, (_, i) => (byte * 31 + i * 7) & 0xff);
  const copy = last.slice();
  const where = at % copy.byteLength;
  copy[where] = copy[where] === byte ? byte ^ 0xff : byte;
  return copy;
}

/** A socket as the raw peer's secure channel writes on it: the last frame it wrote kept, and a way to write past it. */
interface SocketTap {
  /** What the secure channel is given: the socket, sending through `send` only. */
  readonly conn: Connection;
  /** The last frame written through `conn`. */
  readonly last: Uint8Array | undefined;
  /** Writes a frame on the socket, past the secure channel. */
  send(frame: Uint8Array): Promise<void>;
}
function tapped(socket: Connection): SocketTap {
  let last: Uint8Array | undefined;
  const send = (frame: Uint8Array): Promise<void> => {
    last = frame.slice();
    return socket.send(frame);
  };
  // Without sendParts and the lent room, a secure channel writes each record with send (the transport contract).
  const hidden = new Set<PropertyKey>(["sendParts", "lendRoom", "sendLent", "endLoan"]);
  const conn = new Proxy(socket, {
    get(target, key) {
      if (key === "send") return send;
      if (hidden.has(key)) return undefined;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    conn,
    get last() {
      return last;
    },
    send: (frame) => socket.send(frame),
  };
}

/** One frame holding the envelopes of several. */
function concat(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.byteLength;
  }
  return out;
}
