// Creates a complete workspace package in the house style: package.json
// (the `source` export condition, publint), tsconfig.json and
// tsconfig.test.json, a README with an install line, a runnable example and
// an error-code table, src/index.ts, src/errors.ts (an XppgError subclass
// with its codes) and one real test. Usage, from the repository root:
//
//   node scripts/new-package.mjs <name> "<description>" [--adapter] [dep ...]
//
// <name> is the folder and the npm name without the scope (kebab-case).
// --adapter: a transport adapter, with @xppg/transport as a peer dependency.
// dep: @xppg/<pkg> (a workspace dependency) or an npm name[@range].
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const adapter = args.includes("--adapter");
const [name, description, ...deps] = args.filter((a) => a !== "--adapter");
if (!name || !description || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [--adapter] [dep ...]   (name: kebab-case)');
  process.exit(2);
}
const dir = join("packages", name);
if (existsSync(join(dir, "package.json"))) {
  console.error(`${dir}/package.json exists already`);
  process.exit(1);
}

const pascal = name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c) => c.toUpperCase());
const screaming = name.replace(/-/g, "_").toUpperCase();
const codes = `${screaming}_ERROR_CODES`;
const errorClass = `${pascal}Error`;
const failedCode = `XPPG_ERR_${screaming}_FAILED`;
const pkgName = `@xppg/${name}`;

const dependencies = { "@xppg/errors": "workspace:^" };
const references = [{ path: "../errors" }];
for (const d of deps) {
  if (d.startsWith("@xppg/")) {
    dependencies[d] = "workspace:^";
    references.push({ path: `../${d.slice("@xppg/".length)}` });
  } else {
    const at = d.lastIndexOf("@");
    if (at > 0) dependencies[d.slice(0, at)] = d.slice(at + 1);
    else dependencies[d] = "*";
  }
}
if (adapter && !references.some((r) => r.path === "../transport")) references.push({ path: "../transport" });

const pkg = {
  name: pkgName,
  version: "0.1.0",
  description,
  license: "MIT",
  type: "module",
  sideEffects: false,
  exports: {
    ".": {
      source: "./src/index.ts",
      types: "./dist/index.d.ts",
      node: "./dist/bundle/index.js",
      import: "./dist/index.js",
    },
  },
  files: ["dist", "src", "README.md"],
  engines: { node: "^20.19.0 || >=22.3.0" },
  scripts: {
    build: "tsc -b && node ../../scripts/bundle-node.mjs",
    prepack: "node ../../scripts/stale-caches.mjs --remove .",
    typecheck: "tsc -p tsconfig.test.json",
    test: `vitest run --root ../.. --project ${name}`,
    "check:publish": "publint",
  },
  dependencies,
  repository: { type: "git", url: "git+https://example.invalid/xppg.git", directory: `packages/${name}` },
  // Adapters take the interface package as a peer: one copy of it per application.
  ...(adapter ? { peerDependencies: { "@xppg/transport": "workspace:^" }, devDependencies: { "@xppg/transport": "workspace:^" } } : {}),
};

const json = (value) => JSON.stringify(value, null, 2) + "\n";
const files = {
  "package.json": json(pkg),
  "tsconfig.json": json({
    extends: "../../tsconfig.base.json",
    compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" },
    include: ["src"],
    references,
  }),
  "tsconfig.test.json": json({
    extends: "../../tsconfig.base.json",
    // Dependencies are read from their sources (the `source` condition): no build before a typecheck.
    compilerOptions: { composite: false, noEmit: true, customConditions: ["source"] },
    include: ["src", "test"],
  }),
  "src/errors.ts": `import { XppgError, type XppgErrorOptions } from "@xppg/errors";

/** Stable codes of the errors \`${pkgName}\` throws or reports. */
export const ${codes} = {
  /** Replace with this package's own codes, one per way a user can fail. */
  FAILED: "${failedCode}",
} as const;

/** One of the {@link ${codes}}. */
export type ${pascal}ErrorCode = (typeof ${codes})[keyof typeof ${codes}];

/** Any error from \`${pkgName}\`; \`code\` is one of {@link ${codes}}. */
export class ${errorClass} extends XppgError {
  constructor(code: ${pascal}ErrorCode, message: string, options?: XppgErrorOptions) {
    super(code, message, options);
  }
}

/** An example factory: the message says what happened and what to do next. */
export function failedError(what: string): ${errorClass} {
  return new ${errorClass}(${codes}.FAILED, \`\${what} failed. Check the arguments and try again.\`, { details: { what } });
}
`,
  "src/index.ts": `export { ${codes}, ${errorClass}, failedError } from "./errors.js";
export type { ${pascal}ErrorCode } from "./errors.js";
`,
  "test/errors.test.ts": `import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { ${codes}, ${errorClass}, failedError } from "../src/index.js";

describe("${errorClass}", () => {
  it("is an xppg error with a stable code and a message that says what to do", () => {
    const error = failedError("the example");
    expect(error).toBeInstanceOf(${errorClass});
    expect(isXppgError(error, ${codes}.FAILED)).toBe(true);
    expect(error.code).toBe("${failedCode}");
    expect(error.message).toContain("try again");
    expect(error.toJSON()).toMatchObject({ name: "${errorClass}", code: "${failedCode}", details: { what: "the example" } });
  });
});
`,
  "README.md": `# ${pkgName}

${description}

\`\`\`sh
pnpm add ${pkgName}${adapter ? " @xppg/transport" : ""}
\`\`\`

\`\`\`ts
import { failedError } from "${pkgName}";

const error = failedError("the example");
console.log(error.code, error.message);
\`\`\`
${
  adapter
    ? `
## Writing the adapter
Build the transport from its socket code and \`@xppg/transport/adapter\`:
a \`ConnectionLink\` per socket wrapped in a \`ConnectionCore\` (close, flow,
backpressure and \`Symbol.asyncDispose\` come with it), \`dialWithDeadline\`
for \`dial\`, \`checkInteger\` for options. Then run the compliance suite
from \`@xppg/transport/compliance\` in \`test/compliance.test.ts\`.
`
    : ""
}
## API

### \`failedError(what)\`
Replace with one heading per exported call: what it does, its options and
their defaults.

## Error codes
Every error is a \`${errorClass}\` (an \`XppgError\`); match on \`code\`.

| code | when |
|---|---|
| \`${failedCode}\` | replace with when a user meets it |
`,
};

mkdirSync(join(dir, "src"), { recursive: true });
mkdirSync(join(dir, "test"), { recursive: true });
for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);

console.log(`created ${dir} (${Object.keys(files).join(", ")})`);
console.log("next: pnpm install, then pnpm vitest run --project " + name);
console.log(`remember: add a changeset for the new package (.changeset/${name}.md, "${pkgName}": minor) when it is ready to publish.`);
