import { readdirSync, existsSync } from "node:fs";
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// One vitest project per workspace folder, named after the folder, so
// `pnpm vitest run --project framing` (or `pnpm test` inside a package) runs
// one package. Tests import workspace packages through their `source`
// export condition: no build step between an edit and a test run.
//
// The exception: tests that start child processes on the BUILT package (as a
// user's program would). Their projects get a global setup that builds the
// package and its dependencies first (a turbo cache hit when nothing
// changed), so they never run a stale or missing `dist/`.
const runsBuiltCode = new Set(["node", "secure", "transport-tcp", "chat"]);
const projects = ["packages", "apps"].flatMap((group) =>
  readdirSync(group)
    .filter((name) => existsSync(`${group}/${name}/test`))
    .map((name) => ({
      extends: true as const,
      test: {
        name,
        root: `${group}/${name}`,
        include: ["test/**/*.test.ts"],
        ...(runsBuiltCode.has(name) ? { globalSetup: ["../../tools/test/build-before-tests.ts"] } : {}),
      },
    })),
);
// Checks across the packages (the error code registry, the README examples).
projects.push({
  extends: true as const,
  test: { name: "repo", root: "tools", include: ["test/**/*.test.ts"], globalSetup: ["./test/build-before-tests.ts"] },
});
// The bench's own helpers (the abuse report's percentiles, /proc parsing,
// PASS/FAIL rule) are tested too.
if (existsSync("bench/test")) {
  projects.push({ extends: true as const, test: { name: "bench", root: "bench", include: ["test/**/*.test.ts"] } });
}

export default defineConfig({
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  resolve: { conditions: ["source", ...defaultServerConditions] },
  test: {
    projects,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start processes and namespaces; two cores are all we have.
    maxWorkers: 2,
  },
});
