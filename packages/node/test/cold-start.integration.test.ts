// What a plain Playground loads (issue 15): a fresh process that starts two
// nodes, joins and sends a message loads none of the optional rooms and
// packages (the file protocol, the DHT, LAN discovery, port mapping, the
// relay transport with its circuits and hole punching, WebSockets,
// @msgpack/msgpack); each is loaded when its option or first call asks for it.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const built = existsSync(fileURLToPath(new URL("../dist/index.js", import.meta.url)));
if (!built) console.log("[skip] cold-start tests: packages/node is not built; run `pnpm test` from the root (it builds first).");
const SCRIPT = fileURLToPath(new URL("./fixtures/cold-start.mjs", import.meta.url));

/** Files a node loads only for a feature the plain program does not use. */
const OPTIONAL = [
  // All of @xppg/files but its file-name helper (`sanitizeFileName`, which loads nothing else).
  /\/packages\/files\/(?!dist\/safe-name\.js$)/,
  /\/packages\/dht\//,
  /\/packages\/discovery\//,
  /\/packages\/nat\//,
  /\/packages\/transport-ws\//,
  /\/packages\/node\/dist\/(file-push|relay-(transport|service|socket|splice)|circuit-connection|hole-punch|frame-tap|reach-probe)\.js$/,
  /\/node_modules\/.*\/(ws|multicast-dns|@msgpack)\//,
];

function run(step: string): { plain: string[]; after: string[] } {
  const r = spawnSync(process.execPath, [SCRIPT, step], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { plain: string[]; after: string[] };
}

const optional = (urls: string[]): string[] => urls.filter((u) => OPTIONAL.some((re) => re.test(u)));

describe.skipIf(!built)("a plain Playground's first connection", () => {
  it("loads none of the optional rooms' modules", () => {
    const { plain, after } = run("none");
    expect(plain.some((u) => u.endsWith("/packages/node/dist/playground.js"))).toBe(true);
    expect(optional(plain)).toEqual([]);
    // Stopping loads none either.
    expect(optional(after)).toEqual([]);
  });

  it("loads the file protocol at the first pg.files call", () => {
    const { plain, after } = run("files");
    expect(optional(plain)).toEqual([]);
    expect(optional(after).some((u) => u.includes("/packages/files/dist/swarm.js"))).toBe(true);
  });
});
