// The manifest fetch against a neighbour that answers out of the rules: a
// size that changes between pieces, or pieces so small that the fetch
// (each piece resetting its deadline) would take hours.
import { describe, expect, it } from "vitest";
import { ManifestFetch, MIN_MANIFEST_PIECE_BYTES, type ManifestFetchHost } from "../src/manifest-fetch.js";

function fetcher(): { fetch: ManifestFetch; invalid: string[] } {
  const invalid: string[] = [];
  const host: ManifestFetchHost = {
    contentId: "x".repeat(52),
    maxMessageSize: 1 << 20,
    maxFileSize: 1 << 30,
    requestTimeoutMs: 5000,
    send: () => {},
    invalid: (_peer, why) => void invalid.push(why),
    got: () => {},
    fail: () => {},
  };
  return { fetch: new ManifestFetch(host), invalid };
}

describe("fetching a manifest from a neighbour that breaks the rules", () => {
  it("drops a neighbour whose declared size changes between pieces", () => {
    const f = fetcher();
    f.fetch.ask("p");
    f.fetch.onPiece("p", 0, 10_000, new Uint8Array(4096));
    f.fetch.onPiece("p", 4096, 20_000, new Uint8Array(4096));
    expect(f.invalid).toEqual([expect.stringContaining("size changed from 10000 to 20000")]);
    expect(f.fetch.active).toBe(false);
  });

  it("drops a neighbour that sends tiny pieces, but takes a short last one", () => {
    const tiny = fetcher();
    tiny.fetch.ask("p");
    tiny.fetch.onPiece("p", 0, 10_000, new Uint8Array(1));
    expect(tiny.invalid).toEqual([expect.stringContaining(`at least ${MIN_MANIFEST_PIECE_BYTES}`)]);

    const last = fetcher();
    last.fetch.ask("p");
    last.fetch.onPiece("p", 0, 4097, new Uint8Array(4096));
    expect(last.fetch.active).toBe(true);
    // The last byte alone: allowed (the manifest then fails its hash check, which is another test's matter).
    last.fetch.onPiece("p", 4096, 4097, new Uint8Array(1));
    expect(last.invalid.some((why) => why.includes("at least"))).toBe(false);
  });
});
