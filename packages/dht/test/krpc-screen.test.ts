import { describe, expect, it } from "vitest";
import type { DhtInstance } from "../src/bittorrent-dht.js";
import { screenQueries } from "../src/krpc-screen.js";

describe("the screen in front of the DHT library's query handler", () => {
  it("passes well-formed queries, drops the others and counts them", () => {
    const seen: unknown[] = [];
    let dropped = 0;
    const dht = { _onquery: (query: unknown) => void seen.push(query) };
    screenQueries(dht as unknown as DhtInstance, () => dropped++);
    const id = Buffer.alloc(20, 1);
    const good = { q: "get_peers", a: { id, info_hash: Buffer.alloc(20, 2) } };
    dht._onquery(good);
    dht._onquery({ q: "get_peers", a: { id, info_hash: 7 } });
    expect(seen).toEqual([good]);
    expect(dropped).toBe(1);
  });

  it("refuses to start on a library without the handler it screens, instead of stepping aside", () => {
    expect(() => screenQueries({} as DhtInstance, () => {})).toThrow(/pinned version/);
  });
});
