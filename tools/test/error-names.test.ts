// Every error class of every package keeps its name (`err.name`, and so
// `toJSON().name`) once a page's bundler has minified it: minifiers rename
// classes, so the name cannot come from the class itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const packages = readdirSync(join(root, "packages")).filter((d) => existsSync(join(root, "packages", d, "package.json")));
const TAG = Symbol.for("@xppg/error");

/** The built files of a package's `exports` entries (`import` targets). */
function entriesOf(dir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) as { exports: Record<string, Record<string, unknown>> };
  return Object.values(pkg.exports).flatMap((t) => (typeof t["import"] === "string" ? [join(root, "packages", dir, t["import"])] : []));
}

/** The name an application's own subclass of `Base` gives its errors (`class AppError extends PlaygroundError {}`). */
function subclassName(Base: new (code: string, message: string) => Error): string {
  class AppError extends Base {}
  return new AppError("XPPG_ERR_TEST", "a test error").name;
}

/** Each exported class whose instances are xppg errors, by its export name, with an instance. */
function errorClasses(module: Record<string, unknown>): [string, Error][] {
  return Object.entries(module).flatMap(([key, value]): [string, Error][] => {
    if (typeof value !== "function" || !(value.prototype instanceof Error)) return [];
    const err = new (value as new (code: string, message: string) => Error)("XPPG_ERR_TEST", "a test error");
    return (err as unknown as Record<symbol, unknown>)[TAG] === true ? [[key, err]] : [];
  });
}

describe.each(packages)("packages/%s", (dir) => {
  it("names each exported error class's errors after the class", async () => {
    const found: string[] = [];
    for (const entry of entriesOf(dir)) {
      for (const [key, err] of errorClasses((await import(pathToFileURL(entry).href)) as Record<string, unknown>)) {
        found.push(key);
        expect(err.name, key).toBe(key);
        expect(err.name, key).toBe(err.constructor.name);
        // An application's subclass is named after itself, not after the package's class.
        expect(subclassName(err.constructor as new (code: string, message: string) => Error), key).toBe("AppError");
      }
    }
    if (dir !== "transport-tcp" && dir !== "transport-ws") expect(found.length).toBeGreaterThan(0);
  });

  it("keeps those names once minified", async () => {
    // Bundled and minified as a page's bundler would (with its libraries; a
    // `require` for the CommonJS ones that load Node built-ins).
    const out = join(root, "packages", dir, "node_modules", ".cache", "error-names");
    mkdirSync(out, { recursive: true });
    try {
      let classes = 0;
      for (const [i, entry] of entriesOf(dir).entries()) {
        const result = await build({
          entryPoints: [entry],
          bundle: true,
          minify: true,
          format: "esm",
          platform: "node",
          write: false,
          logLevel: "silent",
          banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
        });
        const file = join(out, `entry-${i}.mjs`);
        writeFileSync(file, result.outputFiles[0]!.text);
        for (const [key, err] of errorClasses((await import(pathToFileURL(file).href)) as Record<string, unknown>)) {
          // The base class itself is named after its minified name; each package's class passes its own.
          if (key === "XppgError") continue;
          classes++;
          expect(err.constructor.name, `${key} is renamed by the minifier`).not.toBe(key);
          expect(err.name, key).toBe(key);
          expect((err as unknown as { toJSON(): { name: string } }).toJSON().name, key).toBe(key);
          expect(subclassName(err.constructor as new (code: string, message: string) => Error), key).toBe("AppError");
        }
      }
      if (!["errors", "transport-tcp", "transport-ws"].includes(dir)) expect(classes).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
