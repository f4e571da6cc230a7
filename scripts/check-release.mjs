// Release check for CI: `changeset status` must pass, and `changeset version`
// must run to the end. The version step rewrites package.json files and
// deletes changesets, so it runs in a scratch copy of the release inputs
// (the root manifest, the workspace file, .changeset/ and every workspace
// package.json), never in the checkout. Usage: node scripts/check-release.mjs
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const changeset = join(root, "node_modules", ".bin", "changeset");

function run(cwd, args) {
  const r = spawnSync(changeset, args, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 60_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function fail(what, output) {
  console.error(`release check: ${what}\n${output}`);
  process.exit(1);
}

// `changeset status` compares with the base branch (config.baseBranch, "main").
// A clean clone of another branch has it only as origin/main.
const hasRef = (ref) => spawnSync("git", ["rev-parse", "--verify", "--quiet", ref], { cwd: root, stdio: "ignore" }).status === 0;
const base = hasRef("main") ? [] : hasRef("origin/main") ? ["--since=origin/main"] : undefined;
if (base === undefined) fail("no main or origin/main to compare with: fetch main first (`git fetch origin main:main`)", "");
const status = run(root, ["status", ...base]);
if (!status.ok) fail("`pnpm changeset status` failed", status.output);

const scratch = mkdtempSync(join(tmpdir(), "xppg-release-"));
try {
  for (const file of ["package.json", "pnpm-workspace.yaml"]) cpSync(join(root, file), join(scratch, file));
  cpSync(join(root, ".changeset"), join(scratch, ".changeset"), { recursive: true });
  const workspaces = ["bench", ...["packages", "apps"].flatMap((group) => readdirSync(join(root, group)).map((name) => `${group}/${name}`))];
  for (const dir of workspaces) {
    if (!existsSync(join(root, dir, "package.json"))) continue;
    mkdirSync(join(scratch, dir), { recursive: true });
    cpSync(join(root, dir, "package.json"), join(scratch, dir, "package.json"));
  }
  // The changelog generator named in .changeset/config.json is resolved from the scratch root.
  symlinkSync(join(root, "node_modules"), join(scratch, "node_modules"), "dir");
  const version = run(scratch, ["version"]);
  if (!version.ok) fail("a dry `changeset version` failed", version.output);
  const left = readdirSync(join(scratch, ".changeset")).filter((f) => f.endsWith(".md") && f !== "README.md");
  if (left.length > 0) fail(`a dry \`changeset version\` left changesets unconsumed: ${left.join(", ")}`, version.output);
  const manifest = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const moves = workspaces
    .map((dir) => ({ name: manifest(join(root, dir)).name, before: manifest(join(root, dir)).version, after: manifest(join(scratch, dir)).version }))
    .filter((m) => m.before !== m.after);
  // A package leaves 0.x only when a changeset says "major" for it by name, never as a side effect
  // (changesets bumps a peer dependent to major when the peer's new version leaves the declared range).
  const askedMajor = new Set(
    readdirSync(join(root, ".changeset"))
      .filter((f) => f.endsWith(".md") && f !== "README.md")
      .flatMap((f) => [...readFileSync(join(root, ".changeset", f), "utf8").matchAll(/^"([^"]+)":\s*major\s*$/gm)].map((m) => m[1])),
  );
  const leaps = moves.filter((m) => m.before.startsWith("0.") && !m.after.startsWith("0.") && !askedMajor.has(m.name));
  if (leaps.length > 0) {
    fail(`a dry \`changeset version\` would take ${leaps.map((m) => `${m.name} ${m.before} -> ${m.after}`).join(", ")} out of 0.x though no changeset asks for a major release of it. Widen its peer range on the other @xppg package (e.g. "workspace:>=0.1.0 <1.0.0") or write a changeset that asks for it.`, version.output);
  }
  console.log(`release check: changeset status ok; a dry changeset version would release:`);
  for (const m of moves) console.log(`  ${m.name} ${m.before} -> ${m.after}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
