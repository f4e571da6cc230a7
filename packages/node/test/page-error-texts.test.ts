// A page's production build leaves the xppg error texts out (@xppg/errors' README: each text is written at its
// site as `ERROR_TEXTS ? \`text\` : [values]`, and the bundler folds it to the values). This guard builds the
// browser entry from the sources as a page's production build does (every chunk in one file, minified) and
// looks for string literals over 40 characters that come from an xppg source file: each one left is on the
// list below with the reason it stays. A new text written without the switch fails here; so does an entry
// of the list that no longer matches anything.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { bundleForBrowser } from "../../../bench/browser/bundle.mjs";
import { ENTRY_CODE } from "../../../bench/browser/size.mjs";

const pkgRoot = resolve(import.meta.dirname, "..");
const LONGEST = 40;

/** The texts a page's production build keeps, matched on their start (`${}` where a value goes), and why. */
const KEPT: { text: RegExp; why: string }[] = [
  { text: /^a page's production build left this error's text out/, why: "the one sentence every message whose text is left out ends with" },
  { text: /^(Unrecognized data size for timestamp|The type of key must be string or number)/, why: "framing's page codec throws the texts of @msgpack/msgpack, which Node's codec throws: one behaviour for both" },
  { text: /^its key part is not lowercase base32/, why: "a peer id's reason is also its error's details.why, a value kept as it is" },
  {
    text: /^(the hello's |the hello lists |protocol mismatch: |app mismatch: |the hello claims the id |already connected to |the node \$\{\} (connected to itself|has reached its limit))/,
    why: "a refusal of a peer's hello, sent to that peer in the goodbye (often a Node peer, whose user reads it there)",
  },
  { text: /^the peer is a browser page and takes no files$/, why: "the reason a page sends a peer that offers it a file" },
  {
    text: /^(\$\{\} bytes are waiting for it|\$\{\} bytes have waited for it|together the peers have \$\{\} bytes waiting)/,
    why: "a slow peer's reason, handed through the outbox and the queue budget to its close; not yet wrapped there",
  },
  { text: /^The value of key "\$\{\}" in received state update entry/, why: "names the value in a state error; not yet wrapped (it is also its subject, not advice)" },
  { text: /^a routed message that names other ends than its channel's$/, why: "a routing violation's reason, passed through a helper that is not yet wrapped" },
  { text: /^(pg\.request\(kind, payload|pg\.on\("chat", \(src, kind, payload\)|\(writer, key\) => !key\.startsWith|ws:\/\/host:port\/path \()/, why: "the call or form a value is checked against: a value of the message, also in the values form" },
];

/** String literals and templates (their literal parts, `${}` between) over {@link LONGEST} characters that come from an xppg source file. */
function ownLongTexts(code: string, sources: string): string[] {
  const file = ts.createSourceFile("page.js", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let pieces: string[] | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) pieces = [node.text];
    else if (ts.isTemplateExpression(node)) pieces = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)];
    if (pieces !== undefined) {
      const text = pieces.join("${}");
      const longest = pieces.reduce((a, b) => (b.length > a.length ? b : a));
      if (text.length > LONGEST && (sources.includes(longest) || sources.includes(JSON.stringify(longest).slice(1, -1)))) found.push(text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe("a page's production build", () => {
  it("holds no xppg text over 40 characters but those on the list, each with its reason", async () => {
    const bundle = await bundleForBrowser({ root: pkgRoot, code: ENTRY_CODE, source: true, split: false });
    const own = bundle.modules.filter((m) => /\/packages\/[^/]+\/src\//.test(m) && !m.includes("node_modules"));
    expect(own.length).toBeGreaterThan(100);
    const texts = ownLongTexts(bundle.code, own.map((m) => readFileSync(m.split("?")[0]!, "utf8")).join("\n"));
    expect(texts.length, "the check finds the texts it keeps (it can fail)").toBeGreaterThan(5);
    expect(texts.filter((t) => !KEPT.some((k) => k.text.test(t))), "wrap each as ERROR_TEXTS ? `text` : [values] (see @xppg/errors' README), or list it with its reason").toEqual([]);
    expect(KEPT.filter((k) => !texts.some((t) => k.text.test(t))).map((k) => k.text.source), "entries that match nothing any more").toEqual([]);
    // The switch is folded at every site: the scan above finds every wrapped text a site left unfolded (a text
    // over 40 characters), and a short one of the wrapped kind is looked for here. No check of the name
    // ERROR_TEXTS: the bundler inlines the constant whether or not it folds the tests, minified or not, so the
    // name is gone from every build and its absence proves nothing.
    expect(bundle.code).not.toContain("exceeds maxFrameSize");
  });

  it("keeps the texts in a development build", async () => {
    const bundle = await bundleForBrowser({ root: pkgRoot, code: ENTRY_CODE, source: true, split: false, mode: "development" });
    expect(bundle.code).toContain("exceeds maxFrameSize");
    expect(bundle.code).toContain("must be a non-empty string of at most");
  });
});
