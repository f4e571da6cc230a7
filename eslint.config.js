import js from "@eslint/js";
import tseslint from "typescript-eslint";

const CLOCK_MESSAGE =
  'Time it with `now()` from "@xppg/errors" (`import { now as nowMs } from "@xppg/errors"`), not `performance.now()`: every time the packages compare must come from that one clock, and in Node reading `performance` loads perf_hooks in the first connection. A time handed to the application on the `performance.now()` clock goes through `toPerformanceTime()`.';

export default tseslint.config(
  // Fixtures of earlier releases are generated bundles, kept as built.
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", "**/coverage/**", "tools/.readme-run-*/**", "packages/node/test/fixtures/compat/*/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", queueMicrotask: "readonly", Buffer: "readonly", URL: "readonly", AbortController: "readonly", AbortSignal: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", performance: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // One clock for the packages' own timing: `now()` of @xppg/errors. Times compared with each other must come
  // from the same clock, and in Node the first read of the global `performance` loads perf_hooks, about 1 ms of
  // a fresh process's first connection (issue 15). Only the clock module itself reads it.
  {
    files: ["packages/*/src/**/*.ts"],
    ignores: ["packages/errors/src/clock.ts", "packages/errors/src/browser/clock.ts"],
    rules: {
      "no-restricted-globals": ["error", { name: "performance", message: CLOCK_MESSAGE }],
      "no-restricted-properties": ["error", { object: "globalThis", property: "performance", message: CLOCK_MESSAGE }],
      "no-restricted-imports": ["error", { paths: [{ name: "node:perf_hooks", message: CLOCK_MESSAGE }, { name: "perf_hooks", message: CLOCK_MESSAGE }] }],
      // import("node:perf_hooks") and require("perf_hooks"), which the rule above does not see.
      "no-restricted-syntax": [
        "error",
        { selector: "ImportExpression[source.value=/^(node:)?perf_hooks$/]", message: CLOCK_MESSAGE },
        { selector: "CallExpression > Literal.arguments[value=/^(node:)?perf_hooks$/]", message: CLOCK_MESSAGE },
      ],
    },
  },
  // Rules that need type information, on every TypeScript file. One program
  // (tsconfig.lint.json) covers sources, tests and tools; a dropped promise
  // must be marked `void` with a comment saying why nobody awaits it.
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { project: "./tsconfig.lint.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
    },
  },
);
