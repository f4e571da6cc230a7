import { createRequire } from "node:module";
import { resolve } from "node:path";
import { bundleForBrowser } from "./bundle.mjs";
import { ENTRY_CODE } from "./size.mjs";
const require = createRequire(import.meta.url);
const acorn = require("/work/wt/size-core/node_modules/.pnpm/acorn@8.19.0/node_modules/acorn");
const b = await bundleForBrowser({ root: resolve("packages/node"), code: ENTRY_CODE });
const lits = [];
acorn.parse(b.code, { ecmaVersion: "latest", sourceType: "module", onToken: (t) => {
  if (t.type.label === "string") lits.push(String(t.value));
  if (t.type.label === "template") lits.push(String(t.value));
}});
const total = lits.reduce((n, s) => n + s.length, 0);
console.log("literal chars", total, "of", b.code.length, "count", lits.length);
const words = process.argv[2] ? new RegExp(process.argv[2]) : null;
for (const s of lits.filter((s) => s.length >= 25 && (!words || words.test(s))).sort((a, b) => b.length - a.length).slice(0, Number(process.argv[3] ?? 60))) console.log(s.length, JSON.stringify(s.slice(0, 150)));
