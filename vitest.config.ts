import { readdirSync, existsSync } from "node:fs";
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// One vitest project per workspace folder, named after the folder, so
// `pnpm vitest run --project framing` (or `pnpm test` inside a package) runs
// one package. Tests import workspace packages through their `source`
// export condition: no build step between an edit and a test run.
const projects = ["packages", "apps"].flatMap((group) =>
  readdirSync(group)
    .filter((name) => existsSync(`${group}/${name}/test`))
    .map((name) => ({
      extends: true as const,
      test: {
        name,
        root: `${group}/${name}`,
        include: ["test/**/*.test.ts"],
      },
    })),
);

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
