import fc from "fast-check";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { smapsParts } from "../smaps.mjs";

// bench/rss-peak.mjs reads smaps as bytes so that sampling allocates nothing on the V8 heap it measures: the
// parts it finds must be those a plain reading of the text finds (this reference, as the tool read it before).
function reference(text: string): { node: number; anon: number; malloc: number; addons: number } {
  const parts = { node: 0, anon: 0, malloc: 0, addons: 0 };
  let part: keyof typeof parts | null = null;
  for (const line of text.split("\n")) {
    const map = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (map !== null) {
      const path = map[1]!;
      part = path === "" ? "anon" : path === "[heap]" ? "malloc" : path.endsWith("/node") || path.endsWith("/nodejs") ? "node" : path.startsWith("[") ? null : "addons";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null && part !== null) parts[part] += Number(rss[1]) * 1024;
  }
  return parts;
}

const dir = mkdtempSync(join(tmpdir(), "xppg-bench-smaps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const parse = (text: string) => {
  const file = join(dir, `smaps-${files++}`);
  writeFileSync(file, text);
  return smapsParts(file);
};

const PATHS = ["", "[heap]", "[stack]", "[vdso]", "[anon:v8]", "/usr/bin/node", "/usr/local/bin/nodejs", "/usr/lib/libc.so.6", "/x/sodium-native.node", "/opt/node (deleted)", "/home/a b/node"];
const hex = fc.bigInt({ min: 0n, max: 2n ** 48n }).map((n) => n.toString(16));
const mapping = fc.record({
  from: hex,
  to: hex,
  perms: fc.constantFrom("r--p", "rw-p", "r-xp", "---p", "rw-s"),
  path: fc.oneof(fc.constantFrom(...PATHS), fc.stringMatching(/^\/[a-z/._-]{0,20}$/)),
  gap: fc.integer({ min: 1, max: 20 }),
  rss: fc.nat({ max: 10_000_000 }),
  fields: fc.array(fc.tuple(fc.constantFrom("Size", "Pss", "Shared_Clean", "Private_Dirty", "Referenced", "Anonymous", "Swap", "Locked"), fc.nat({ max: 99_999 })), { maxLength: 6 }),
  flags: fc.boolean(),
});
type Mapping = { from: string; to: string; perms: string; path: string; gap: number; rss: number; fields: [string, number][]; flags: boolean };
const render = (ms: Mapping[]) =>
  ms
    .map((m) => {
      // An anonymous mapping's header ends at its inode, or in spaces after it, as Linux pads it.
      const header = `${m.from}-${m.to} ${m.perms} 00000000 00:00 0${m.path === "" ? " ".repeat(m.gap % 3 === 0 ? 0 : m.gap) : " ".repeat(m.gap) + m.path}`;
      const fields = m.fields.map(([k, v]) => `${k}:${" ".repeat(10)}${v} kB`);
      return [header, ...fields.slice(0, 1), `Rss:${" ".repeat(m.gap)}${m.rss} kB`, ...fields.slice(1), ...(m.flags ? ["VmFlags: rd wr mr mw me ac sd"] : [])].join("\n");
    })
    .join("\n") + "\n";

describe("smapsParts (bench/smaps.mjs)", () => {
  it("finds the parts a reading of the text finds, for any list of mappings (property)", () => {
    fc.assert(
      fc.property(fc.array(mapping, { maxLength: 40 }), (ms) => {
        const text = render(ms);
        expect(parse(text)).toEqual(reference(text));
      }),
      { numRuns: 300 },
    );
  });

  it("reads a file larger than its first buffer (1 MiB) whole", () => {
    const one = "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nSize:                  4 kB\nRss:                   4 kB\nPss:                   4 kB\n";
    const heap = "55aa00000000-55aa00100000 rw-p 00000000 00:00 0                          [heap]\nRss:                1024 kB\n";
    const text = one.repeat(30_000) + heap;
    expect(text.length).toBeGreaterThan(2 ** 21);
    expect(parse(text)).toEqual({ node: 0, anon: 30_000 * 4096, malloc: 1024 * 1024, addons: 0 });
    expect(parse(text)).toEqual(reference(text));
  });

  it.skipIf(!existsSync("/proc/self/smaps"))("reads this process's own smaps: the node binary, the C heap and anonymous memory are resident", () => {
    const parts = smapsParts();
    expect(parts.node).toBeGreaterThan(0);
    expect(parts.anon).toBeGreaterThan(0);
    expect(parts.malloc + parts.addons).toBeGreaterThan(0);
    // Mapping by mapping the same text gives the same parts (read once, parsed both ways).
    const text = readFileSync("/proc/self/smaps", "utf8");
    expect(parse(text)).toEqual(reference(text));
  });
});
if (!existsSync("/proc/self/smaps")) console.log("[skip] smaps of this process: no /proc/self/smaps (Linux only)");
