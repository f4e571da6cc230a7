// A page's record layer (PageRecordLink) over real TCP to a Node side, its
// WebCrypto AEAD wrapped so that each seal or open answers when the test
// says (the AEAD is not under test; what the record layer does with answers
// that come late, out of order or as failures is): records go out in nonce
// order and are decoded in arrival order whatever order the answers come in,
// reading pauses at 16 records being opened, the close is judged after the
// last open, and a seal or open that fails ends the connection as a local
// fault, never as the peer's bad record.
import { connect, type Socket } from "node:net";
import type { Connection } from "@xppg/transport";
import { parseTcpAddress, tcpConnectionFromSocket, tcpTransport } from "@xppg/transport-tcp";
import { Collector, patterned, within } from "@xppg/transport/compliance";
import { describe, expect, it, vi } from "vitest";
import type { AsyncAead } from "../src/crypto/provider.js";
import { pageChannelProvider } from "../src/crypto/page-provider.js";
import { pageCrypto } from "../src/crypto/web-crypto.js";
import { SECURE_ERROR_CODES, generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";
import { CipherState } from "../src/noise/cipher-state.js";
import type { HandshakeResult } from "../src/noise/handshake-state.js";
import { PageRecordLink } from "../src/page-record-link.js";
import { secureConnectionCore } from "../src/secure-connection.js";

/** Errors made for records refused (`decryptFailedError`, called through): how many records were judged bad. */
const judged = vi.hoisted(() => ({ bad: 0 }));
vi.mock("../src/errors.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/errors.js")>();
  return { ...real, decryptFailedError: (...args: Parameters<typeof real.decryptFailedError>) => (judged.bad++, real.decryptFailedError(...args)) };
});

type Call = { kind: "seal" | "open"; counter: number; release(): void };

/** The real AEAD, each answer held back while `hold` says so, or replaced by `fake` when it returns a promise. */
function controlled(fake?: (kind: "seal" | "open", counter: number, calls: Call[]) => Promise<never> | Promise<void> | undefined) {
  const calls: Call[] = [];
  const holding = { seal: false, open: false };
  const wrap = (aead: AsyncAead): AsyncAead => {
    const one =
      (kind: "seal" | "open") =>
      (...args: Parameters<AsyncAead["seal"]>): Promise<Uint8Array | null> => {
        const counter = args[2];
        const answer = kind === "seal" ? aead.seal(...args) : aead.open(...args);
        const instead = fake?.(kind, counter, calls);
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        calls.push({ kind, counter, release });
        if (!holding[kind]) release();
        if (instead !== undefined) return instead.then(() => gate).then(() => answer);
        return gate.then(() => answer);
      };
    return { seal: one("seal") as AsyncAead["seal"], open: one("open") };
  };
  return { calls, holding, wrap };
}

interface Pair {
  page: SecureConnection;
  node: SecureConnection;
  /** The page's TCP connection, below its secure channel. */
  pageRaw: Connection;
  /** The Node side's TCP connection, below its secure channel. */
  nodeRaw: Connection;
  /** Frames the Node side's TCP connection delivered after the handshake (records), by size. */
  nodeRecords: number[];
  close(): Promise<void>;
}

/**
 * A page (the browser entry's record layer, its AEAD wrapped by `wrap`, its session's cipher states as `keys`
 * gives them) dialling a Node side over TCP: they settle on AESGCM.
 */
async function pagePair(
  wrap: (aead: AsyncAead) => AsyncAead,
  keys: (session: HandshakeResult) => HandshakeResult = (s) => s,
  dial?: (address: string) => Promise<Connection>,
): Promise<Pair> {
  const t = tcpTransport();
  const nodeRecords: number[] = [];
  let accepted!: Promise<SecureConnection>;
  let nodeRaw!: Connection;
  const l = await t.listen("tcp://127.0.0.1:0", (raw) => {
    nodeRaw = raw;
    const read = raw.read.bind(raw);
    let handshake = 2; // messages 1 and 3
    raw.read = (sink) =>
      read({
        ...sink,
        frame: (f) => {
          if (handshake-- <= 0) nodeRecords.push(f.byteLength);
          return sink.frame(f);
        },
      });
    accepted = secureConnection(raw, { identity: generateIdentity() });
  });
  const pageRaw = await (dial ?? ((a) => t.dial(a)))(l.address);
  const page = await secureConnectionCore(
    pageChannelProvider,
    pageRaw,
    { identity: generateIdentity() },
    (c, session, controller, o, crypto) => new PageRecordLink(wrap(crypto!.aead!), c, keys(session), controller, o),
    pageCrypto,
  );
  const node = await within(accepted, "the Node side's handshake");
  expect([page.cipher, node.cipher]).toEqual(["AESGCM", "AESGCM"]);
  return {
    page,
    node,
    pageRaw,
    nodeRaw,
    nodeRecords,
    async close() {
      await page.close().catch(() => {});
      await node.close().catch(() => {});
      await l.close();
    },
  };
}

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && Buffer.from(a).equals(Buffer.from(b));

/** A TCP dial counting the frames its connection delivers after message 2 of the handshake (the peer's records). */
function counting(): { dial: (address: string) => Promise<Connection>; records: number } {
  const below = {
    records: -1,
    async dial(address: string): Promise<Connection> {
      const raw = await tcpTransport().dial(address);
      const read = raw.read.bind(raw);
      raw.read = (sink) => read({ ...sink, frame: (f) => (below.records++, sink.frame(f)) });
      return raw;
    },
  };
  return below;
}

interface OpenHeld {
  aead: ReturnType<typeof controlled>;
  /** The page's connection below, counting the peer's records. */
  below: ReturnType<typeof counting>;
  p: Pair;
  atPage: Collector;
}

/**
 * A page pair (its AEAD `controlled` by `fake`, its connection below `counting`) with the peer's first record
 * ([1, 2, 3]) being opened, every open held: runs `body`, then releases what is still held (a failed check
 * leaves opens held, which the close would wait for) and closes the pair.
 */
async function withFirstOpenHeld(fake: Parameters<typeof controlled>[0], body: (held: OpenHeld) => Promise<void>): Promise<void> {
  const aead = controlled(fake);
  const below = counting();
  const p = await pagePair(aead.wrap, undefined, below.dial);
  try {
    const atPage = new Collector(p.page);
    aead.holding.open = true;
    await p.node.send(Uint8Array.of(1, 2, 3));
    await vi.waitFor(() => expect(aead.calls.filter((c) => c.kind === "open").length).toBe(1));
    await body({ aead, below, p, atPage });
  } finally {
    for (const call of aead.calls) call.release();
    await p.close();
  }
}

describe("a page's record layer, its AEAD answering out of order", () => {
  it("hands records to the connection below in nonce order when the seals answer in reverse", async () => {
    const aead = controlled();
    const p = await pagePair(aead.wrap);
    try {
      const atNode = new Collector(p.node);
      aead.holding.seal = true;
      // 200,000 bytes: one flush of four records, their seals all out at once.
      const big = patterned(200_000, 7);
      void p.page.send(big);
      await vi.waitFor(() => expect(aead.calls.filter((c) => c.kind === "seal").length).toBe(4));
      for (const call of aead.calls.slice().reverse()) call.release();
      aead.holding.seal = false;
      await atNode.waitFor(1);
      expect(same(atNode.frames[0], big)).toBe(true);
      expect(p.nodeRecords.length).toBe(4);
    } finally {
      await p.close();
    }
  });

  it("decodes in arrival order when the opens answer in reverse, pauses reading at the 16th record being opened, resumes, and reports the close only after the last open", async () => {
    const aead = controlled();
    const p = await pagePair(aead.wrap);
    try {
      const atPage = new Collector(p.page);
      let closeSeen = false;
      void p.page.closed.then(() => (closeSeen = true));
      // Every pause and resume of the page's TCP connection, with how many opens were out then.
      const flow: string[] = [];
      const pause = p.pageRaw.pause.bind(p.pageRaw);
      const resume = p.pageRaw.resume.bind(p.pageRaw);
      const out = (): number => aead.calls.length;
      p.pageRaw.pause = () => (flow.push(`pause at ${out()}`), pause());
      p.pageRaw.resume = () => (flow.push(`resume at ${out()}`), resume());
      aead.holding.open = true;
      // Twenty frames, each sent in its own turn (the first frame of a turn is sealed at once): twenty records or so.
      const frames = Array.from({ length: 20 }, (_, i) => patterned(60_000, i));
      const sent: Promise<void>[] = [];
      for (const f of frames) {
        sent.push(p.node.send(f));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // The Node side closes only after the checks at 16 opens: once the peer has closed, the frames held below
      // are handed over even while paused, and the count of opens would move on past 16.
      await vi.waitFor(() => expect(aead.calls.length).toBe(16));
      expect(flow).toEqual(["pause at 16"]);
      expect(atPage.frames.length).toBe(0);
      void Promise.all(sent).then(() => p.node.close());
      const first = aead.calls.slice();
      for (const call of first.slice().reverse()) call.release();
      // Decoded in order; reading resumed, and the rest (with the end of stream) arrive and wait to be opened.
      await vi.waitFor(() => expect(flow[1]).toBe("resume at 16"));
      await vi.waitFor(() => expect(atPage.frames.length).toBe(16));
      // The link below is gone (the peer's end read), and the close waits for the last opens.
      await p.pageRaw.closed;
      expect(closeSeen).toBe(false);
      const rest = aead.calls.slice(16);
      expect(rest.length).toBeGreaterThan(1);
      for (const call of rest.reverse()) call.release();
      const info = await p.page.closed;
      expect(info.error).toBeUndefined();
      expect(atPage.frames.length).toBe(20);
      frames.forEach((f, i) => expect(same(atPage.frames[i], f), `frame ${i}`).toBe(true));
    } finally {
      await p.close();
    }
  });

  it("a seal that fails during a clean close: nothing after it goes out, the end of stream neither, the page's close reports it, and the peer sees no bad record", async () => {
    // The record at transport nonce 1 cannot be sealed (nonce 0 carries the first frame).
    const aead = controlled((kind, counter) => (kind === "seal" && counter === 1 ? Promise.reject(new Error("injected: the AEAD could not seal")) : undefined));
    const p = await pagePair(aead.wrap);
    try {
      const atNode = new Collector(p.node);
      await p.page.send(Uint8Array.of(1));
      await atNode.waitFor(1);
      void p.page.send(Uint8Array.of(2)).catch(() => {});
      await p.page.close().catch(() => {});
      const info = await p.page.closed;
      expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_CLOSED");
      expect(String((info.error?.cause as Error | undefined)?.message)).toContain("injected");
      const atPeer = await p.node.closed;
      expect(atPeer.error?.code).not.toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
      // Only the record at nonce 0: none at 1 or after (the end of stream at 2 among them).
      expect(p.nodeRecords.length).toBe(1);
      expect(atNode.frames.map((f) => Array.from(f))).toEqual([[1]]);
    } finally {
      await p.close();
    }
  });

  it("a seal that failed before the application's close() (judged later, an open still out): closed reports the fault, as this side's close, not a clean close", async () => {
    const aead = controlled((kind, counter) => (kind === "seal" && counter === 1 ? Promise.reject(new Error("injected: the AEAD could not seal")) : undefined));
    const p = await pagePair(aead.wrap);
    try {
      const atNode = new Collector(p.node);
      // A record from the peer whose open is held: the link's close cannot be judged until it answers.
      aead.holding.open = true;
      await p.node.send(Uint8Array.of(9));
      await vi.waitFor(() => expect(aead.calls.some((c) => c.kind === "open")).toBe(true));
      await p.page.send(Uint8Array.of(1));
      await atNode.waitFor(1);
      // Sealed at nonce 1, which fails: the page closes its link below, and the close waits for the held open.
      void p.page.send(Uint8Array.of(2)).catch(() => {});
      await p.pageRaw.closed;
      const closing = p.page.close();
      aead.holding.open = false;
      for (const call of aead.calls) call.release();
      await closing;
      const info = await p.page.closed;
      expect(info.initiator).toBe("local");
      expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_CLOSED");
      expect(String((info.error?.cause as Error | undefined)?.message)).toContain("injected");
      expect(atNode.frames.map((f) => Array.from(f))).toEqual([[1]]);
    } finally {
      await p.close();
    }
  });

  it("after a seal of its own failed, a page opens no record more, and a bad one the connection below still delivers does not turn the close into the peer's", async () => {
    let failSeal!: (err: Error) => void;
    const sealFails = new Promise<never>((_, reject) => (failSeal = reject));
    const aead = controlled((kind, counter) => (kind === "seal" && counter === 1 ? sealFails : undefined));
    // The page's TCP connection over a socket of its own: how many bytes it has read tells when a record is held.
    let socket!: Socket;
    const dial = (address: string): Promise<Connection> =>
      new Promise((resolve, reject) => {
        socket = connect(parseTcpAddress(address)!.port, "127.0.0.1");
        socket.once("error", reject);
        socket.once("connect", () => resolve(tcpConnectionFromSocket(socket, { outbound: true })));
      });
    const p = await pagePair(aead.wrap, undefined, dial);
    try {
      const atNode = new Collector(p.node);
      await p.page.send(Uint8Array.of(1));
      await atNode.waitFor(1);
      void p.page.send(Uint8Array.of(2)).catch(() => {});
      await vi.waitFor(() => expect(aead.calls.filter((c) => c.kind === "seal").length).toBe(2));
      // Held below the page: a record of the peer (25 bytes framed), then one of an impossible size (3 bytes).
      p.pageRaw.pause();
      const before = socket.bytesRead;
      await p.node.send(Uint8Array.of(7));
      await p.nodeRaw.send(Uint8Array.of(1, 2, 3));
      await vi.waitFor(() => expect(socket.bytesRead).toBe(before + 25 + 7));
      // The connection below delivers what it holds as the page closes it for its fault.
      const close = p.pageRaw.close.bind(p.pageRaw);
      p.pageRaw.close = (error) => {
        const closing = close(error);
        p.pageRaw.resume();
        return closing;
      };
      failSeal(new Error("injected: the AEAD could not seal"));
      const info = await p.page.closed;
      expect(info.initiator).toBe("local");
      expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_CLOSED");
      expect(String((info.error?.cause as Error | undefined)?.message)).toContain("injected");
      expect(aead.calls.filter((c) => c.kind === "open")).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it("a record layer given cipher states without a key (which would pass records through in the clear) refuses them: the handshake rejects with XPPG_ERR_INVALID_KEY and no record leaves", async () => {
    const t = tcpTransport();
    let nodeRaw!: Connection;
    let accepted!: Promise<SecureConnection>;
    const l = await t.listen("tcp://127.0.0.1:0", (raw) => {
      nodeRaw = raw;
      accepted = secureConnection(raw, { identity: generateIdentity() });
    });
    try {
      const pageRaw = await t.dial(l.address);
      const keyless = (session: HandshakeResult): HandshakeResult => ({
        ...session,
        send: new CipherState(pageChannelProvider, null, "AESGCM"),
        receive: new CipherState(pageChannelProvider, null, "AESGCM"),
      });
      const page = secureConnectionCore(
        pageChannelProvider,
        pageRaw,
        { identity: generateIdentity() },
        (c, session, controller, o, crypto) => new PageRecordLink(crypto!.aead!, c, keyless(session), controller, o),
        pageCrypto,
      );
      const error = await within(
        page.then(
          () => undefined,
          (err: unknown) => err,
        ),
        "the page's handshake",
      );
      expect(error).toMatchObject({ code: SECURE_ERROR_CODES.INVALID_KEY });
      expect(String((error as Error).message)).toContain("PageRecordLink needs a key");
      await pageRaw.closed;
      // The Node side finished its handshake and got nothing after it: no record, and no frame in the clear.
      const node = await within(accepted, "the Node side's handshake");
      const atNode = new Collector(node);
      await node.closed;
      await nodeRaw.closed;
      expect(atNode.frames).toEqual([]);
    } finally {
      await l.close();
    }
  });

  it("a key this page has used up (XPPG_ERR_KEY_EXHAUSTED) closes the connection as this side's doing, not the peer's, and no record leaves", async () => {
    // A sending key with 8 bytes of budget left: the first record is past it.
    const spent = (session: HandshakeResult): HandshakeResult => ({ ...session, send: new CipherState(pageChannelProvider, new Uint8Array(32), "AESGCM", 8) });
    const p = await pagePair((aead) => aead, spent);
    try {
      const sent = p.page.send(patterned(100, 1));
      await expect(sent).resolves.toBeUndefined();
      const info = await p.page.closed;
      expect(info.initiator).toBe("local");
      expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_CLOSED");
      expect((info.error?.cause as { code?: string } | undefined)?.code).toBe(SECURE_ERROR_CODES.KEY_EXHAUSTED);
      await expect(p.page.send(Uint8Array.of(2))).rejects.toMatchObject({ code: "XPPG_ERR_CONNECTION_CLOSED" });
      const atPeer = await p.node.closed;
      expect(atPeer.error?.code).not.toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
      expect(p.nodeRecords).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it("an open that fails (a fault of this side's AEAD) after a slower one: the earlier record's frames are delivered first, and the failure is not the peer's bad record", async () => {
    let afterFailure!: () => void;
    const failedTurn = new Promise<void>((resolve) => (afterFailure = resolve));
    const aead = controlled((kind, counter) => {
      if (kind !== "open") return undefined;
      if (counter === 1) {
        // Record 0 answers a turn after record 1's open has failed.
        setTimeout(afterFailure, 0);
        return Promise.reject(new Error("injected: the AEAD could not open"));
      }
      return counter === 0 ? failedTurn : undefined;
    });
    const p = await pagePair(aead.wrap);
    try {
      const atPage = new Collector(p.page);
      await p.node.send(Uint8Array.of(1));
      await vi.waitFor(() => expect(aead.calls.length).toBe(1));
      await p.node.send(Uint8Array.of(2));
      const info = await p.page.closed;
      expect(atPage.frames.map((f) => Array.from(f))).toEqual([[1]]);
      expect(info.initiator).toBe("local");
      expect(info.error).toBeDefined();
      expect(info.error?.code).not.toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
      expect(String((info.error?.cause as Error | undefined)?.message)).toContain("injected");
    } finally {
      await p.close();
    }
  });

  it.each([
    ["shorter than a tag", 5],
    ["longer than a Noise message", 65_536],
  ])("a record of impossible size (%s) from the peer fails the connection after the records before it are opened: their frames are delivered, not lost", (_what, size) =>
    withFirstOpenHeld(undefined, async ({ aead, below, p, atPage }) => {
      // Below the Node side's record layer: a frame no record can be.
      await p.nodeRaw.send(new Uint8Array(size).fill(7));
      await vi.waitFor(() => expect(below.records).toBe(2));
      for (const call of aead.calls) call.release();
      const info = await p.page.closed;
      expect(atPage.frames.map((f) => Array.from(f))).toEqual([[1, 2, 3]]);
      expect(info.error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
    }),
  );

  it("after a record of impossible size nothing more is opened or judged: a flood of them queues no work, a genuine record after them is not opened, and the failure still comes, once", () =>
    withFirstOpenHeld(undefined, async ({ aead, below, p, atPage }) => {
      judged.bad = 0;
      // Below the Node side's record layer: 2,000 frames no record can be (each 4 bytes on the wire), then a genuine
      // record sealed with the nonce the page would give it (no nonce was spent on the bad ones).
      let last!: Promise<void>;
      for (let i = 0; i < 2000; i++) last = p.nodeRaw.send(new Uint8Array(0));
      await last;
      await p.node.send(Uint8Array.of(4));
      await vi.waitFor(() => expect(below.records).toBe(2002));
      expect(judged.bad).toBe(1);
      expect(aead.calls.filter((c) => c.kind === "open").length).toBe(1);
      for (const call of aead.calls) call.release();
      const info = await p.page.closed;
      expect(atPage.frames.map((f) => Array.from(f))).toEqual([[1, 2, 3]]);
      expect(info.error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
      expect(info.error?.message).toContain("record #1 ");
    }),
  );

  it.each([
    ["the peer closes the connection below", "close"],
    ["the earlier record's open fails (this side's AEAD)", "open fails"],
  ])("a record of impossible size while an earlier one is being opened, and %s meanwhile: the page's connection still closes, with an error", (_what, meanwhile) => {
    let failOpen!: (err: Error) => void;
    const openFails = new Promise<never>((_, reject) => (failOpen = reject));
    openFails.catch(() => {});
    const fake = (kind: "seal" | "open", counter: number) => (meanwhile === "open fails" && kind === "open" && counter === 0 ? openFails : undefined);
    return withFirstOpenHeld(fake, async ({ aead, below, p, atPage }) => {
      await p.nodeRaw.send(new Uint8Array(5));
      await vi.waitFor(() => expect(below.records).toBe(2));
      if (meanwhile === "close") {
        await p.nodeRaw.close();
        await p.pageRaw.closed;
        for (const call of aead.calls) call.release();
        const info = await within(p.page.closed, "the page's close");
        expect(atPage.frames.map((f) => Array.from(f))).toEqual([[1, 2, 3]]);
        expect(info.error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
      } else {
        failOpen(new Error("injected: the AEAD could not open"));
        for (const call of aead.calls) call.release();
        const info = await within(p.page.closed, "the page's close");
        expect(atPage.frames).toEqual([]);
        // This side's fault came first: it stays this side's, not the peer's bad record.
        expect(info.initiator).toBe("local");
        expect(info.error?.code).toBe("XPPG_ERR_CONNECTION_CLOSED");
        expect(String((info.error?.cause as Error | undefined)?.message)).toContain("injected");
      }
    });
  });
});
