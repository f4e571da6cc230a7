// Which names a package's Node bundle takes from each other `@xppg/*` package (scripts/bundle-node.mjs routes them
// through one module per package), read from esbuild's ES module output as a parsed program: a string or comment
// that reads like an import (a help text, an error's advice) is no import.
import { parse } from "acorn";

/**
 * The names each `@xppg/*` specifier's static imports and re-exports take (`import{a,b as c}from"x"`,
 * `export{a}from"x"`), sorted; a specifier imported any other way anywhere (`import * as`, `export * from`, a
 * default) is left out, and its imports stay as they are. A bare `import "x"` takes no name and counts for neither.
 * @param {{ text: string }[]} outputFiles
 * @returns {Map<string, string[]>}
 */
export function importedNames(outputFiles) {
  const names = new Map();
  const whole = new Set();
  for (const { text } of outputFiles) {
    for (const node of parse(text, { ecmaVersion: "latest", sourceType: "module" }).body) {
      if (node.type !== "ImportDeclaration" && node.type !== "ExportNamedDeclaration" && node.type !== "ExportAllDeclaration") continue;
      const specifier = node.source?.value;
      if (typeof specifier !== "string" || !specifier.startsWith("@xppg/")) continue;
      if (node.type === "ExportAllDeclaration" || node.specifiers.some((s) => s.type !== "ImportSpecifier" && s.type !== "ExportSpecifier")) {
        whole.add(specifier);
        continue;
      }
      if (node.specifiers.length === 0) continue;
      const list = names.get(specifier) ?? new Set();
      for (const s of node.specifiers) {
        const name = s.type === "ImportSpecifier" ? s.imported : s.local;
        list.add(name.type === "Identifier" ? name.name : name.value);
      }
      names.set(specifier, list);
    }
  }
  return new Map([...names].filter(([specifier]) => !whole.has(specifier)).map(([specifier, list]) => [specifier, [...list].sort()]));
}

/** A re-export of `names` from `specifier`, each name as an identifier where it is one, else as a string. */
export function reExport(specifier, names) {
  const quoted = names.map((n) => (/^[A-Za-z_$][\w$]*$/.test(n) ? n : JSON.stringify(n)));
  return `export { ${quoted.join(", ")} } from ${JSON.stringify(specifier)};\n`;
}
