import "../../../tools/test/loopback-only.js";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";
import { dhtDiscovery, parseNodes } from "../src/index.js";
import { isUnicastIPv4 } from "../src/guarded-socket.js";

let net: PrivateDht;
beforeAll(async () => {
  net = await privateDht(8);
});
afterAll(() => net.close());

describe("the nodes file", () => {
  it("keeps the nodes a DHT knew, and a DHT with no bootstrap list starts from them", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "xppg-dht-")), "node.key.dht.json");
    const base = { appName: "nodes-file", host: "127.0.0.1", firstLookupDelaysMs: [], lookupIntervalMs: 300, maxPacketsPerSecondPerHost: 100_000, maxPacketsPerSecond: 100_000 };
    const first = dhtDiscovery({ ...base, bootstrap: net.bootstrap, nodesFile: file });
    await first.topic("t", { port: 7201 }).start();
    await expect.poll(() => first.stats.nodes).toBeGreaterThan(3);
    await first.close();
    const saved = JSON.parse(readFileSync(file, "utf8")) as { v: number; nodes: string[] };
    expect(saved.v).toBe(1);
    expect(saved.nodes.length).toBeGreaterThan(3);
    expect(saved.nodes.every((n) => n.startsWith("127.0.0.1:"))).toBe(true);
    // No bootstrap at all: only the saved nodes.
    const again = dhtDiscovery({ ...base, bootstrap: [], nodesFile: file, bootstrapTimeoutMs: 5_000 });
    const peer = dhtDiscovery({ ...base, bootstrap: net.bootstrap });
    const errors: Error[] = [];
    again.on("error", (e) => errors.push(e));
    const t = again.topic("t", { port: 7202 });
    await Promise.all([t.start(), peer.topic("t", { port: 7203 }).start()]);
    await expect.poll(() => t.candidates.map((c) => c.port), { timeout: 10_000 }).toContain(7203);
    expect(errors).toEqual([]);
    await Promise.all([again.close(), peer.close()]);
  });

  it("writes through a temporary file of a name no one can guess, never through a link put in its way", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xppg-dht-"));
    const file = join(dir, "node.key.dht.json");
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "keep me");
    // A link at each name a predictable writer might use (this process's id, a fixed suffix) points at another file.
    for (const name of [`${file}.${process.pid}.tmp`, `${file}.tmp`, `${file}~`]) symlinkSync(victim, name);
    const before = new Set(readdirSync(dir));
    const d = dhtDiscovery({ appName: "nodes-file", host: "127.0.0.1", bootstrap: net.bootstrap, nodesFile: file, firstLookupDelaysMs: [], maxPacketsPerSecondPerHost: 100_000, maxPacketsPerSecond: 100_000 });
    await d.topic("t", { port: 7203 }).start();
    await expect.poll(() => d.stats.nodes).toBeGreaterThan(3);
    await d.close();
    expect(readFileSync(victim, "utf8")).toBe("keep me");
    expect(lstatSync(file).isFile()).toBe(true);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect((JSON.parse(readFileSync(file, "utf8")) as { nodes: string[] }).nodes.length).toBeGreaterThan(3);
    // Nothing left behind but the file itself.
    expect(readdirSync(dir).filter((n) => !before.has(n))).toEqual(["node.key.dht.json"]);
  });

  it("reads only unicast IPv4 host:port entries, at most 200, and ignores what is not JSON", () => {
    expect(parseNodes("not json")).toEqual([]);
    expect(parseNodes('{"nodes":"x"}')).toEqual([]);
    const text = JSON.stringify({ nodes: ["1.2.3.4:6881", "224.0.0.1:1", "0.0.0.0:5", "1.2.3.4:0", "1.2.3.4:70000", "host:1", 7, "9.9.9.9:1", ...Array(300).fill("5.5.5.5:5")] });
    const nodes = parseNodes(text);
    expect(nodes.slice(0, 2)).toEqual([
      { host: "1.2.3.4", port: 6881 },
      { host: "9.9.9.9", port: 1 },
    ]);
    expect(nodes.length).toBeLessThanOrEqual(200);
  });

  it("reads any text, and mutated files, as at most 200 unicast IPv4 nodes with ports 1 to 65535, never throwing (fast-check)", () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("256", "999", "01", "-1", "", "1e2"));
    const entry = fc.oneof(
      fc.tuple(octet, octet, octet, octet, fc.oneof(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom("", "-1", "00080", "6881 ", "1e3"))).map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}:${port}`),
      fc.string({ maxLength: 30 }),
      fc.anything({ maxDepth: 1 }),
    );
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(entry, { maxLength: 260 }).map((nodes) => JSON.stringify({ v: 1, nodes })),
      fc.anything({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? ""),
    );
    fc.assert(
      fc.property(text, (t) => {
        const nodes = parseNodes(t);
        expect(nodes.length).toBeLessThanOrEqual(200);
        for (const n of nodes) {
          expect(isUnicastIPv4(n.host)).toBe(true);
          expect(Number.isInteger(n.port) && n.port >= 1 && n.port <= 65535).toBe(true);
        }
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it("reports XPPG_ERR_DHT_NODES_FILE for a file it cannot write, and closes all the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "xppg-dht-"));
    const file = join(dir, "missing-folder", "nodes.json");
    writeFileSync(join(dir, "placeholder"), "");
    const d = dhtDiscovery({ appName: "nodes-file", host: "127.0.0.1", bootstrap: net.bootstrap, nodesFile: file, maxPacketsPerSecondPerHost: 100_000 });
    const errors: { code?: string }[] = [];
    d.on("error", (e) => errors.push(e as { code?: string }));
    await d.topic("t", { port: 7204 }).start();
    await expect.poll(() => d.stats.nodes).toBeGreaterThan(0);
    await d.close();
    expect(errors.map((e) => e.code)).toContain("XPPG_ERR_DHT_NODES_FILE");
  });
});
