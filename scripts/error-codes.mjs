// The list of every xppg error code with its meaning, `packages/errors/ERRORS.md`, written from the packages' code
// tables (`*_ERROR_CODES`): each code is defined once, as a string literal under a doc comment that says what it
// means. A page's production build leaves error texts out and points there, so it must list every code; the error
// code registry test fails when the file is out of date or a code has no comment.
//
//   node scripts/error-codes.mjs           writes packages/errors/ERRORS.md
//   node scripts/error-codes.mjs --check   exit 1 if it is out of date or a code lacks its comment
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const root = resolve(import.meta.dirname, "..");
export const ERRORS_FILE = join(root, "packages", "errors", "ERRORS.md");

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** A doc comment's text, on one line, without its `/**` and `*` marks; `{@link X}` and `{@link X text}` as `X`. */
export function docText(raw) {
  return raw
    .replace(/^\/\*\*|\*\/$/g, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, "").trim())
    .filter(Boolean)
    .join(" ")
    .replace(/\{@link(?:code|plain)?\s+([^\s|}]+)(?:[\s|][^}]*)?\}/g, "`$1`");
}

/**
 * Every code defined in a package's code table: `{ pkg, code, meaning, file }`, the packages in name order
 * (`errors`, the shared codes, first) and each table's codes in its order. `meaning` is undefined for a code
 * whose definition has no doc comment.
 */
export function errorCodes() {
  const names = readdirSync(join(root, "packages"))
    .filter((n) => existsSync(join(root, "packages", n, "src")))
    .sort((a, b) => (a === "errors" ? -1 : b === "errors" ? 1 : a.localeCompare(b)));
  const codes = [];
  for (const pkg of names) {
    for (const file of sourceFiles(join(root, "packages", pkg, "src"))) {
      const text = readFileSync(file, "utf8");
      if (!text.includes("_ERROR_CODES")) continue;
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      const visit = (node) => {
        if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && /_ERROR_CODES$/.test(node.name.text) && node.initializer) {
          let init = node.initializer;
          while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init)) init = init.expression;
          if (ts.isObjectLiteralExpression(init)) {
            for (const prop of init.properties) {
              if (!ts.isPropertyAssignment(prop) || !ts.isStringLiteral(prop.initializer)) continue;
              const comments = ts.getLeadingCommentRanges(text, prop.pos) ?? [];
              const doc = comments.filter((c) => text.startsWith("/**", c.pos)).at(-1);
              codes.push({ pkg, code: prop.initializer.text, meaning: doc && docText(text.slice(doc.pos, doc.end)), file: relative(root, file) });
            }
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
  }
  return codes;
}

/** The text of ERRORS.md for `codes`. */
export function errorCodesMarkdown(codes = errorCodes()) {
  const lines = [
    "# xppg error codes",
    "",
    "<!-- Written by scripts/error-codes.mjs from the packages' code tables; edit the doc comments there. -->",
    "",
    "Every xppg error has a stable `code`; this list says what each one means. A page's production build",
    "leaves error texts out: its errors carry their code, the values the text would have shown, and a",
    "sentence pointing here. A development build (and Node) shows the full text, which says what happened",
    "and what to do next. Each code is listed under the package that defines it; other packages may",
    "report it too.",
  ];
  let pkg;
  for (const c of codes) {
    if (c.pkg !== pkg) {
      pkg = c.pkg;
      lines.push("", `## @xppg/${pkg}`, "", "| Code | Meaning |", "| --- | --- |");
    }
    lines.push(`| \`${c.code}\` | ${(c.meaning ?? "").replaceAll("|", "\\|")} |`);
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] === import.meta.filename) {
  const codes = errorCodes();
  const missing = codes.filter((c) => c.meaning === undefined);
  for (const c of missing) console.error(`${c.code} (${c.file}) has no doc comment saying what it means.`);
  const text = errorCodesMarkdown(codes);
  if (process.argv.includes("--check")) {
    const current = existsSync(ERRORS_FILE) ? readFileSync(ERRORS_FILE, "utf8") : "";
    if (current !== text) console.error(`${relative(root, ERRORS_FILE)} is out of date: run node scripts/error-codes.mjs.`);
    if (current !== text || missing.length > 0) process.exitCode = 1;
  } else {
    writeFileSync(ERRORS_FILE, text);
    console.log(`wrote ${relative(root, ERRORS_FILE)}: ${codes.length} codes`);
    if (missing.length > 0) process.exitCode = 1;
  }
}
