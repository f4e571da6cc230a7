// The browser entries in a real browser: test/fixtures/browser-peer.ts is
// bundled with esbuild (browser conditions, workspace sources), served from
// 127.0.0.1 and run in Debian's Chromium (driven by playwright-core, which
// downloads nothing). The page dials a Node peer over the built-in
// WebSocket and runs Noise XX on @noble/*; the Node peer is the Node entry
// (node:crypto) behind a `ws` listener and echoes every frame. So both
// providers must agree byte for byte, over a real browser socket.
//
// Without /usr/bin/chromium (`apt-get install chromium`), or when it will
// not start, the browser tests skip and say why; the bundle test still runs.
import { createHash } from "node:crypto";
import { relative, resolve } from "node:path";
import type { Connection } from "@xppg/transport";
import { patterned } from "@xppg/transport/compliance";
import { webSocketTransport } from "@xppg/transport-ws";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateIdentity, isPeerId, secureConnection, type Identity, type NoiseCipher, type SecureConnection } from "../src/index.js";
import type { BrowserPeerRequest, BrowserPeerResult, BrowserPeerRun } from "./fixtures/browser-peer.js";
import { REPO_ROOT, bundleFixture, chromiumMissing, hostPage, type HostedPage } from "./fixtures/page-host.js";

if (chromiumMissing !== null) console.warn(`real-browser tests skipped: ${chromiumMissing}`);

// ---------------------------------------------------------------- the bundle

let bundled: Promise<{ code: string; metafile: Metafile }> | undefined;

/** The fixture as one browser ES module, built once per file. */
function bundle(): Promise<{ code: string; metafile: Metafile }> {
  bundled ??= bundleFixture("browser-peer.ts");
  return bundled;
}

// ------------------------------------------------------------ the Node peer

interface NodePeer {
  address: string;
  identity: Identity;
  /** The first accepted connection's handshake (never left unhandled). */
  handshake: Promise<SecureConnection>;
  /** Frames the Node side received (copies), in order. */
  received: Uint8Array[];
  close(): Promise<void>;
}

/** A `ws` listener on 127.0.0.1 whose connections run Noise XX (node:crypto) and echo every frame. */
async function startNodePeer(options: { cipher?: NoiseCipher } = {}): Promise<NodePeer> {
  const identity = generateIdentity();
  const received: Uint8Array[] = [];
  const accepted: Connection[] = [];
  let settle!: { resolve: (c: SecureConnection) => void; reject: (e: unknown) => void };
  const handshake = new Promise<SecureConnection>((resolve, reject) => {
    settle = { resolve, reject };
  });
  handshake.catch(() => {});
  const listener = await webSocketTransport().listen("ws://127.0.0.1:0/", (conn) => {
    accepted.push(conn);
    secureConnection(conn, { identity, ...options }).then((secure) => {
      let sending = Promise.resolve();
      secure.read({
        frame(data) {
          const copy = data.slice();
          received.push(copy);
          // One send after the other: awaiting each is the backpressure.
          sending = sending.then(() => secure.send(copy)).catch(() => {});
        },
      });
      settle.resolve(secure);
    }, settle.reject);
  });
  return {
    address: listener.address,
    identity,
    handshake,
    received,
    async close() {
      await listener.close();
      await Promise.all(accepted.map((c) => c.close()));
    },
  };
}

// ----------------------------------------------------------------- helpers

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
/** Length and SHA-256 of a frame: a byte-exact comparison whose failure prints briefly. */
const digest = (bytes: Uint8Array): string => `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
const hexDigest = (h: string): string => digest(Buffer.from(h, "hex"));

const FRAMES = [patterned(0, 1), patterned(1, 0xa5), patterned(1000, 7), patterned(200_000, 0xdecafbad)];

// ------------------------------------------------------------------- tests

describe("the browser bundle of the fixture", () => {
  it("holds the @xppg browser entries from source and the @noble libraries, and no ws or node: module", async () => {
    const { code, metafile } = await bundle();
    const inputs = Object.keys(metafile.inputs).map((p) => relative(REPO_ROOT, resolve(REPO_ROOT, p)).replaceAll("\\", "/"));
    expect(inputs).toContain("packages/secure/src/browser.ts");
    expect(inputs).toContain("packages/secure/src/crypto/noble-provider.ts");
    expect(inputs).toContain("packages/transport-ws/src/browser/index.ts");
    expect(inputs.some((p) => p.includes("@noble/curves"))).toBe(true);
    expect(inputs.some((p) => p.includes("@noble/ciphers"))).toBe(true);
    // Nothing of Node: no built-in, no `ws`, no Node entry or provider.
    const forbidden = inputs.filter(
      (p) =>
        p.startsWith("node:") ||
        /(^|\/)node_modules\/ws\//.test(p) ||
        p === "packages/secure/src/index.ts" ||
        p === "packages/secure/src/node-api.ts" ||
        p === "packages/secure/src/crypto/node-provider.ts" ||
        p.startsWith("packages/transport-ws/src/node/"),
    );
    expect(forbidden).toEqual([]);
    const imports = Object.values(metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imports.filter((p) => p.startsWith("node:") || p === "ws" || p.startsWith("ws/"))).toEqual([]);
    expect(code).toContain("xppgRun");
  });
});

describe.skipIf(chromiumMissing !== null)("in a real Chromium page against a Node peer", () => {
  let hosted: HostedPage | undefined;
  let launchFailed: string | null = null;

  beforeAll(async () => {
    const { code } = await bundle();
    hosted = await hostPage(code, "browser-peer.js", "xppgRun", "real-browser tests");
    launchFailed = hosted.launchFailed;
  });

  afterAll(async () => {
    await hosted?.close();
  });

  /** Runs the fixture's `xppgRun` in the page. */
  async function runInPage(request: BrowserPeerRequest): Promise<BrowserPeerResult> {
    const result = await hosted!.page!.evaluate((req) => (globalThis as unknown as { xppgRun: BrowserPeerRun }).xppgRun(req), request);
    expect(hosted!.pageErrors).toEqual([]);
    return result;
  }

  /** Case (a) and (b): handshake, both ids, every frame echoed byte-exact. */
  async function echoesWith(pageCipher: NoiseCipher | undefined, nodeCipher: NoiseCipher | undefined, expected: NoiseCipher): Promise<void> {
    const peer = await startNodePeer(nodeCipher === undefined ? {} : { cipher: nodeCipher });
    try {
      const result = await runInPage({ url: peer.address, frames: FRAMES.map(hex), ...(pageCipher === undefined ? {} : { cipher: pageCipher }) });
      if ("error" in result) expect.fail(`the page failed: ${result.error.code ?? ""} ${result.error.message}`);
      const secure = await peer.handshake;
      expect([result.cipher, secure.cipher]).toEqual([expected, expected]);

      // Each side proved its identity to the other.
      expect(isPeerId(result.peerId)).toBe(true);
      expect(result.peerId).not.toBe(peer.identity.peerId);
      expect(secure.remotePeerId).toBe(result.peerId);
      expect(result.remotePeerId).toBe(peer.identity.peerId);
      expect(secure.outbound).toBe(false);

      // Browser -> Node and back, byte-exact, in order.
      expect(peer.received.map(digest)).toEqual(FRAMES.map(digest));
      expect(result.echoed.map(hexDigest)).toEqual(FRAMES.map(digest));
    } finally {
      await peer.close();
    }
  }

  it("completes Noise XX with no cipher set, on AESGCM (offered by the page, WebCrypto's), and echoes 0, 1, 1000 and 200000-byte frames", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    await echoesWith(undefined, undefined, "AESGCM");
  });

  it("falls back to ChaChaPoly (noble's, loaded then) with a Node peer that takes no offer, as a node of the last release", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    await echoesWith(undefined, "ChaChaPoly", "ChaChaPoly");
  });

  it("does the same with cipher AESGCM set on both sides, and with ChaChaPoly set on both sides", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    await echoesWith("AESGCM", "AESGCM", "AESGCM");
    await echoesWith("ChaChaPoly", "ChaChaPoly", "ChaChaPoly");
  });

  it("rejects with XPPG_ERR_PEER_ID_MISMATCH when the Node peer is not the expected one, and the Node side fails too", async (ctx) => {
    ctx.skip(launchFailed !== null, launchFailed ?? "");
    const peer = await startNodePeer();
    try {
      const someoneElse = generateIdentity().peerId;
      const result = await runInPage({ url: peer.address, expectedPeerId: someoneElse, frames: FRAMES.map(hex) });
      expect(result).toMatchObject({ error: { code: "XPPG_ERR_PEER_ID_MISMATCH" } });
      expect("remotePeerId" in result).toBe(false);
      await expect(peer.handshake).rejects.toMatchObject({ code: "XPPG_ERR_HANDSHAKE_FAILED" });
      expect(peer.received).toEqual([]);
    } finally {
      await peer.close();
    }
  });
});
