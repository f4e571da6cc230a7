// Docs that run. Every ```ts / ```js block in the root README, in each
// package README and in each app README is type-checked (against the
// packages' sources) and run as a program of its own (against the built
// packages, which the project's global setup builds first). A block whose
// first line is `// fragment: <why>` is only type-checked.
//
// A run gets its own network namespace with nothing but loopback (so an
// example that asks the router for a port mapping reaches no network), a
// fresh HOME (so key files land in a temporary folder), no stdin, and 20 s:
// it must exit with status 0 by then, and print something if it logs.
// Failures name the README file and line of the block.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "../..");
const RUN_TIMEOUT_MS = 20_000;

/**
 * Blocks known to fail today, by `file:line` of their opening fence, with the
 * reason. Their run is expected to fail (`it.fails`): when one starts to pass,
 * the test says so and the entry must go.
 */
const KNOWN_FAILING: Record<string, string> = {};

interface Block {
  /** `README.md:36`: the README and the line of the opening fence. */
  readonly where: string;
  readonly file: string;
  /** Line of the first code line in the README (1-based). */
  readonly firstLine: number;
  readonly code: string;
  readonly fragment: string | undefined;
}

function readmes(): string[] {
  const found = ["README.md"];
  for (const group of ["packages", "apps"]) {
    for (const name of readdirSync(join(repo, group)).sort()) {
      if (existsSync(join(repo, group, name, "README.md"))) found.push(`${group}/${name}/README.md`);
    }
  }
  return found;
}

function extractBlocks(file: string): Block[] {
  const lines = readFileSync(join(repo, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript|mjs)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const fragment = /^\s*\/\/\s*fragment:\s*(.*)$/.exec(body[0] ?? "")?.[1];
    blocks.push({ where: `${file}:${start + 1}`, file, firstLine: start + 2, code: body.join("\n"), fragment });
  }
  return blocks;
}

const blocks = readmes().flatMap(extractBlocks);
const slug = (b: Block): string => b.where.replace(/[^A-Za-z0-9]+/g, "-");

/** How to give each run a network namespace of its own, or why we cannot. */
function namespaceRunner(): { prefix: string[] } | { skip: string } {
  if (process.platform !== "linux") return { skip: "not Linux" };
  const probe = (args: string[]): boolean => spawnSync("unshare", [...args, "sh", "-c", "ip link set lo up"], { stdio: "ignore", timeout: 10_000 }).status === 0;
  if (probe(["--net"])) return { prefix: ["unshare", "--net"] };
  if (probe(["--user", "--map-root-user", "--net"])) return { prefix: ["unshare", "--user", "--map-root-user", "--net"] };
  return { skip: "cannot make a network namespace (needs root or unprivileged user namespaces, and util-linux's unshare and iproute2's ip)" };
}

let work = "";
const typeErrors = new Map<string, string[]>();

beforeAll(() => {
  // Inside the repository, so the temporary programs resolve `@xppg/*` through
  // the links below; removed afterwards (and ignored by git meanwhile).
  work = mkdtempSync(join(repo, "tools", ".readme-run-"));
  const scope = join(work, "node_modules", "@xppg");
  mkdirSync(scope, { recursive: true });
  for (const name of readdirSync(join(repo, "packages"))) symlinkSync(join(repo, "packages", name), join(scope, name), "dir");
  for (const b of blocks) writeFileSync(join(work, `${slug(b)}.ts`), b.code);
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      extends: relative(work, join(repo, "tsconfig.base.json")),
      compilerOptions: { composite: false, noEmit: true, customConditions: ["source"], moduleDetection: "force", noUnusedLocals: false },
      include: ["*.ts"],
    }),
  );
  // One program for every block: diagnostics are sorted back to their blocks.
  const tsc = spawnSync(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", work, "--pretty", "false"], { encoding: "utf8", timeout: 240_000 });
  const bySlug = new Map(blocks.map((b) => [slug(b), b]));
  for (const line of tsc.stdout.split("\n")) {
    const m = /^(.*?)\.ts\((\d+),(\d+)\): (error .*)$/.exec(line);
    const b = m ? bySlug.get(m[1]!.split(/[\\/]/).pop()!) : undefined;
    if (!m || !b) continue;
    typeErrors.set(b.where, [...(typeErrors.get(b.where) ?? []), `${b.file}:${b.firstLine + Number(m[2]) - 1}:${m[3]} ${m[4]}`]);
  }
  if (tsc.status !== 0 && typeErrors.size === 0) throw new Error(`tsc failed without block diagnostics:\n${tsc.stdout}${tsc.stderr}`);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const runner = namespaceRunner();
if ("skip" in runner) console.log(`[readme examples] runs SKIPPED (type checks still run): ${runner.skip}`);

function run(b: Block): { ok: boolean; report: string } {
  const program = join(work, `${slug(b)}.mjs`);
  writeFileSync(program, ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  const home = mkdtempSync(join(tmpdir(), "xppg-readme-home-"));
  try {
    const prefix = "prefix" in runner ? runner.prefix : [];
    const [cmd, ...args] = [...prefix, "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$0" "$@"', process.execPath, program];
    const r = spawnSync(cmd, args, {
      cwd: work,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: RUN_TIMEOUT_MS,
      killSignal: "SIGKILL",
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config"), NO_COLOR: "1" },
    });
    const output = `--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
    if (r.error || r.signal) return { ok: false, report: `${b.where}: did not exit within ${RUN_TIMEOUT_MS} ms\n${output}` };
    if (r.status !== 0) return { ok: false, report: `${b.where}: exited with status ${r.status}\n${output}` };
    if (b.code.includes("console.log") && r.stdout.trim() === "") return { ok: false, report: `${b.where}: logs, but printed nothing\n${output}` };
    return { ok: true, report: "" };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

describe.each(blocks)("$where", (b) => {
  it("type-checks", () => {
    expect((typeErrors.get(b.where) ?? []).join("\n"), `${b.where}: type errors`).toBe("");
  });

  if (b.fragment !== undefined) return;
  const known = KNOWN_FAILING[b.where];
  const test = "skip" in runner ? it.skip : known === undefined ? it : it.fails;
  test(known === undefined ? "runs and exits" : `runs and exits (known to fail: ${known})`, () => {
    const { ok, report } = run(b);
    expect(ok, report).toBe(true);
  }, RUN_TIMEOUT_MS + 10_000);
});

it("finds the README examples (the check can fail)", () => {
  expect(blocks.length).toBeGreaterThan(10);
  expect(blocks.some((b) => b.where.startsWith("README.md:"))).toBe(true);
});
