import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { stopNodesAfterEach } from "./helpers.js";
import { errorsOf, tcpNode, tcpRawPeer } from "./tcp-helpers.js";

stopNodesAfterEach();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "xppg-file-idle-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Playground: a stalled incoming file transfer (real TCP)", () => {
  it("is cancelled after fileIdleTimeoutMs: temporary file deleted, slot freed, an error naming the peer and the file", async () => {
    const pg = await tcpNode({ downloadDir: dir, limits: { fileIdleTimeoutMs: 500, maxIncomingTransfersPerPeer: 1 } });
    const errors = errorsOf(pg);
    const raw = await tcpRawPeer(pg);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(1));
    const t = "a".repeat(32);
    await raw.send("xppg/file-offer", { t, name: "stalled.bin", size: 1024 * 1024 });
    await raw.send("xppg/file-chunk", { t, seq: 0, data: new Uint8Array(64 * 1024) });
    await raw.send("xppg/file-chunk", { t, seq: 1, data: new Uint8Array(64 * 1024) });
    await vi.waitFor(async () => expect((await readdir(dir)).filter((f) => f.endsWith(".part"))).toHaveLength(1));
    // The sender stops midway and stays connected.
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toEqual(["XPPG_ERR_FILE_TRANSFER_FAILED"]), { timeout: 3000 });
    expect(errors[0]!.message).toContain("stalled.bin");
    expect(errors[0]!.message).toContain(raw.peerId);
    await vi.waitFor(async () => expect(await readdir(dir)).toEqual([]));
    await vi.waitFor(() => expect(raw.received.map((m) => m.kind)).toContain("xppg/file-abort"));
    expect(pg.peers.map((p) => p.peerId)).toEqual([raw.peerId]);
    // The slot is free again: with one transfer allowed per peer, a new offer is accepted (not refused).
    const t2 = "b".repeat(32);
    await raw.send("xppg/file-offer", { t: t2, name: "next.bin", size: 10 });
    await vi.waitFor(async () => expect((await readdir(dir)).filter((f) => f.endsWith(".part"))).toHaveLength(1));
    expect(errors).toHaveLength(1);
  });
});
