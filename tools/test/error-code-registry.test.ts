// One registry of error codes across the packages. Each package exports its
// code table (`*_ERROR_CODES`); a code string is written down (as a string
// literal in a table) in exactly one package, and any other table that carries
// it refers to that definition (`INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT`),
// so one code can never mean two things. Codes every package shares live in
// `@xppg/errors`. Each package README's error table lists its codes.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a script of the repository, in plain JavaScript with no types
import { ERRORS_FILE, docText, errorCodes, errorCodesMarkdown } from "../../scripts/error-codes.mjs";

const repo = resolve(import.meta.dirname, "../..");
const packages = readdirSync(join(repo, "packages")).filter((name) => existsSync(join(repo, "packages", name, "src", "index.ts")));

/** Every `*_ERROR_CODES` table a package exports, merged: code name -> code string. */
async function tablesOf(name: string): Promise<Map<string, string>> {
  const entry = (await import(join(repo, "packages", name, "src", "index.ts"))) as Record<string, unknown>;
  const codes = new Map<string, string>();
  for (const [exported, value] of Object.entries(entry)) {
    if (!/_ERROR_CODES$/.test(exported) || typeof value !== "object" || value === null) continue;
    for (const [key, code] of Object.entries(value)) codes.set(`${exported}.${key}`, String(code));
  }
  return codes;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Where each code string is defined: a table entry written as a string literal (`KEY: "XPPG_ERR_..."`). */
function definitions(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const name of packages) {
    for (const file of sourceFiles(join(repo, "packages", name, "src"))) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        const m = /^\s*[A-Z][A-Z0-9_]*:\s*"(XPPG_ERR_[A-Z0-9_]+)"/.exec(line);
        if (m) where.set(m[1]!, [...(where.get(m[1]!) ?? []), `${relative(repo, file)}:${i + 1}`]);
      });
    }
  }
  return where;
}

/** The codes in the first column of the tables under a README's error heading. */
function readmeCodes(name: string): Set<string> {
  const text = readFileSync(join(repo, "packages", name, "README.md"), "utf8");
  const codes = new Set<string>();
  let inErrors = false;
  for (const line of text.split("\n")) {
    if (/^#{2,3} /.test(line)) inErrors = /^## (Error codes|Errors|Close codes and errors)\b/.test(line);
    if (!inErrors || !line.startsWith("|")) continue;
    const first = line.split("|")[1] ?? "";
    for (const m of first.matchAll(/`(XPPG_ERR_[A-Z0-9_]+)`/g)) codes.add(m[1]!);
  }
  return codes;
}

describe("the error code registry", async () => {
  const tables = new Map(await Promise.all(packages.map(async (name) => [name, await tablesOf(name)] as const)));
  const everyCode = new Set([...tables.values()].flatMap((t) => [...t.values()]));
  const defined = definitions();

  it("finds the tables (the check can fail)", () => {
    expect(tables.get("errors")?.get("XPPG_ERROR_CODES.INVALID_ARGUMENT")).toBe("XPPG_ERR_INVALID_ARGUMENT");
    expect(tables.get("nat")?.get("NAT_ERROR_CODES.NO_GATEWAY")).toBe("XPPG_ERR_NAT_NO_GATEWAY");
    expect(everyCode.size).toBeGreaterThan(50);
  });

  it("writes each code string down in one place only", () => {
    const twice = [...defined].filter(([, sites]) => sites.length > 1).map(([code, sites]) => `${code} at ${sites.join(", ")}`);
    expect(twice, "define it once (shared codes in @xppg/errors' XPPG_ERROR_CODES) and refer to that definition").toEqual([]);
  });

  it("has a definition for every code in every table", () => {
    const undefinedCodes = [...everyCode].filter((code) => !defined.has(code));
    expect(undefinedCodes).toEqual([]);
  });

  it("defines a code that two packages carry in @xppg/errors or in one of them", () => {
    const carriers = new Map<string, string[]>();
    for (const [name, table] of tables) for (const code of new Set(table.values())) carriers.set(code, [...(carriers.get(code) ?? []), name]);
    const problems: string[] = [];
    for (const [code, names] of carriers) {
      if (names.length < 2) continue;
      const site = defined.get(code)?.[0] ?? "";
      const owner = /^packages\/([^/]+)\//.exec(site)?.[1];
      if (owner === undefined || (!names.includes(owner) && owner !== "errors")) problems.push(`${code}: carried by ${names.join(", ")}, defined at ${site}`);
    }
    expect(problems).toEqual([]);
  });

  it.each(packages)("the %s README's error table lists every code of its tables, and only codes that exist", (name) => {
    const own = new Set(tables.get(name)!.values());
    const listed = readmeCodes(name);
    expect([...own].filter((code) => !listed.has(code)), "missing from the README's error table").toEqual([]);
    expect([...listed].filter((code) => !everyCode.has(code)), "listed in the README but defined nowhere").toEqual([]);
  });

  // The shared XPPG_ERR_INVALID_ARGUMENT is in no table of a package that throws it only through @xppg/errors'
  // `badArgumentError` / `argumentError` (or the transport adapter's `checkInteger`, which calls it): its README lists it all the same.
  it.each(packages)("the %s README's error table lists XPPG_ERR_INVALID_ARGUMENT when the package throws it for a bad argument", (name) => {
    const throwsIt = sourceFiles(join(repo, "packages", name, "src")).some((file) => {
      const text = readFileSync(file, "utf8");
      return /\b(badArgumentError|argumentError)\(/.test(text) || (/\bcheckInteger\b[^;]*from "@xppg\/transport\/adapter"/.test(text) && /\bcheckInteger\(/.test(text));
    });
    if (name === "transport-tcp") expect(throwsIt, "the check finds a package that throws it (it can fail)").toBe(true);
    if (throwsIt) expect(readmeCodes(name).has("XPPG_ERR_INVALID_ARGUMENT"), "a bad argument of this package throws XPPG_ERR_INVALID_ARGUMENT: list it in the README's error table, with the calls that throw it").toBe(true);
  });

  // A page's production build leaves error texts out and points to ERRORS.md (see @xppg/errors' README).
  it("lists every code with its meaning in packages/errors/ERRORS.md, up to date", () => {
    const listed = errorCodes() as { code: string; meaning: string | undefined; file: string }[];
    expect(new Set(listed.map((c) => c.code))).toEqual(new Set(defined.keys()));
    expect(listed.filter((c) => c.meaning === undefined).map((c) => `${c.code} (${c.file})`), "give each code a doc comment in its table").toEqual([]);
    expect(readFileSync(ERRORS_FILE as string, "utf8"), "run node scripts/error-codes.mjs").toBe(errorCodesMarkdown() as string);
    expect(readFileSync(ERRORS_FILE as string, "utf8"), "a doc comment's link, as a name").not.toContain("{@link");
  });

  it("writes a doc comment's links as the names they point to", () => {
    const doc = (text: string): string => docText(`/**\n * ${text}\n */`) as string;
    expect(doc("The options passed to {@link tryUpnpMap} are invalid.")).toBe("The options passed to `tryUpnpMap` are invalid.");
    expect(doc("At {@link MAX_VERSION the largest version}; see {@link State.set | set}.")).toBe("At `MAX_VERSION`; see `State.set`.");
    expect(doc("Plain `code` and text stay.")).toBe("Plain `code` and text stay.");
  });
});
