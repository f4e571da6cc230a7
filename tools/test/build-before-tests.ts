// Vitest global setup for the projects whose tests run the BUILT code
// (child processes that import `dist/`, as a user's program would). It builds
// the project's package and everything it depends on through turbo before
// any worker starts, so such a test never runs a stale or missing `dist/`.
// Turbo hashes the inputs: when nothing changed this is a cache hit (about
// 0.2 s); a cold build of the whole graph takes about 2 s.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";

const repoRoot = resolve(import.meta.dirname, "../..");

export default function setup(project: TestProject): void {
  // A package's project builds that package and its dependencies; a project
  // outside the packages (the repository checks) builds them all.
  const manifest = join(project.config.root, "package.json");
  const pkgName = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, "utf8")) as { name: string }).name : undefined;
  const args = ["run", "build", ...(pkgName === undefined ? [] : [`--filter=${pkgName}...`]), "--output-logs=errors-only"];
  const run = spawnSync(join(repoRoot, "node_modules", ".bin", "turbo"), args, {
    cwd: repoRoot,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    // As the root `build` script: the Node version in the build's hash (without it the build makes no code caches).
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", XPPG_NODE_VERSION: process.version },
    timeout: 300_000,
  });
  if (run.status !== 0) {
    throw new Error(
      `the ${project.name} tests run built packages, and building failed. ` +
        `Run \`pnpm exec turbo run build --filter=${pkgName}...\` from the repository root and fix what it reports.\n` +
        `${run.stdout ?? ""}${run.stderr ?? ""}${run.error ? String(run.error) : ""}`,
    );
  }
  // As the root `build` script: a build turbo restored over another leaves that one's code caches, which no facade reads.
  const prune = spawnSync(process.execPath, [join(repoRoot, "scripts", "stale-caches.mjs"), "--remove"], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
  if (prune.status !== 0) throw new Error(`removing the code caches no facade reads failed. Run \`node scripts/stale-caches.mjs --remove\` from the repository root and fix what it reports.\n${prune.stderr ?? ""}${prune.error ? String(prune.error) : ""}`);
}
