// A bundle file as a classic script with a V8 code cache (issue 15, the
// first connection in a fresh process). Node 20 has no compile cache for ES
// modules, and a fresh process compiles every function it runs on its first
// call; `vm.Script` with `cachedData` is the one code cache it offers. So, in
// a package with a warm-up (`scripts/warm-up/<folder>.mjs`), each bundle file
// its main entry loads at start (the entry and its shared chunks, of at
// least MIN_BYTES) becomes a script, carried by a facade, and the script's map:
//
// - the script `<name>.script.js`: the module's code as a function of its imports,
//   converted by esbuild from the ES module output (`import`s become
//   `require` calls on the facade's namespaces, `export`s `module.exports`,
//   each `import()` a call of the facade's import and `import.meta` the
//   facade's), with its own source map `<name>.script.js.map` (to `src/`,
//   through the bundle's); the script's own file is not written;
// - `<name>.js`: an ES module facade in its place, which carries the
//   script's source as a string literal. It imports the module's imports as
//   before (another package deduped or swapped is still one instance), names
//   each of its `import()`s (so a bundler still sees the lazy chunks and
//   packages), compiles the source with the cache `<name>.script.<tag>.cache`
//   beside it (the tag a hash of the source) when there is one, runs it with
//   them, and exports its names. A cache V8 rejects (another Node or V8, other
//   V8 flags, a damaged file) or a missing one costs only the read: the
//   script is compiled as it would be without.
//
// The script is compiled under a fixed name, `<package>/dist/bundle/<name>.script.js`,
// when its cache is made and at run time: V8 11.3 keeps the name a cache was
// made with when it accepts it, so stack traces name the script the same with
// or without the cache, never the building machine's path. An application bundled for
// Node (a bundler resolving the `node` condition) so takes the facade whole
// and usually runs it without a cache (none beside its bundle; a bundler that keeps
// the facade's own import.meta.url, as webpack may, finds the one beside the package).
//
// `scripts/code-cache.mjs` makes the caches at build time, after the warm-up.
// With `--enable-source-maps` the facade compiles the script through Node's
// CommonJS loader instead (it alone maps a script's stack traces on Node 20),
// without the cache, and the map is found beside the script's file name.
import { parse } from "acorn";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";

/** Smaller files stay ES modules: a script costs a facade and a cache read besides. */
export const MIN_BYTES = 8 * 1024;
/** The script's parameters: `import(` becomes a call of the same length (the bundle's source map still lines up), `import.meta` a name (esbuild's define). */
const IMPORT_CALL = "__load(";
const IMPORT_META = "_importMeta";
/** How a facade begins (a chunk already made a script is known by it). */
const FACADE_HEADER = "// The ES module facade of ";

/** A package's warm-up (`scripts/warm-up/<folder>.mjs`), which it has only if the file exists. */
export function warmUpScript(dir) {
  return join(import.meta.dirname, "warm-up", `${basename(dir)}.mjs`);
}

/** A file's path relative to the package folder, with `/` (esbuild's metafile keys and the scripts' fixed names). */
export function packagePath(dir, file) {
  return relative(dir, file).split(sep).join("/");
}

/** The code caches (`*.cache`) under a bundle folder, at any depth. */
export function cacheFiles(out) {
  return readdirSync(out, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".cache"))
    .map((f) => join(out, f));
}

/** Removes every code cache under a bundle folder (before they are made again, or when none may be kept). */
export function removeCaches(out) {
  for (const f of cacheFiles(out)) rmSync(f, { force: true });
}

/**
 * The code caches under a bundle folder that no facade reads: `<name>.script.<tag>.cache` is read only by the facade
 * `<name>.js` whose tag (the hash of the source it carries) is `<tag>`. A build removes the old ones, but a build
 * restored from turbo's cache is written over the folder and leaves those of the build before it.
 */
export function staleCaches(out) {
  return cacheFiles(out).filter((f) => {
    const m = /^(.*)\.script\.([0-9a-f]{16})\.cache$/.exec(f);
    if (m === null) return true;
    let facade = "";
    try {
      facade = readFileSync(`${m[1]}.js`, "utf8");
    } catch {
      // No facade: nothing reads it.
    }
    return !(facade.startsWith(FACADE_HEADER) && facade.includes(`tag:"${m[2]}"`));
  });
}

/**
 * The files to convert: the main entry's output and the chunks it imports statically, of at least MIN_BYTES.
 * @param {string} dir the package folder
 * @param {{ outputs: Record<string, { entryPoint?: string, imports: { path: string, kind: string }[], bytes: number }> }} metafile
 * @param {string} entrySource the main entry's source file, relative to `dir`
 */
export function startFiles(dir, metafile, entrySource) {
  const outputs = metafile.outputs;
  const main = Object.keys(outputs).find((f) => f.endsWith(".js") && outputs[f].entryPoint === entrySource.replace(/^\.\//, ""));
  if (main === undefined) throw new Error(`no bundle output for ${entrySource}`);
  const seen = new Set();
  const walk = (f) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const i of outputs[f].imports) if (i.kind === "import-statement" && outputs[i.path] !== undefined) walk(i.path);
  };
  walk(main);
  const files = [...seen].filter((f) => outputs[f].bytes >= MIN_BYTES);
  // A facade exports a snapshot of the script's exports once it has run: a file in a static import cycle could be
  // read by the other side of the cycle before then. Refuse it rather than ship names that read undefined.
  for (const f of files) {
    const reached = new Set();
    const reach = (g) => {
      for (const i of outputs[g].imports) {
        if (i.kind !== "import-statement" || outputs[i.path] === undefined || reached.has(i.path)) continue;
        reached.add(i.path);
        reach(i.path);
      }
    };
    reach(f);
    if (reached.has(f)) throw new Error(`${f}: in a static import cycle between bundle files, which a script's facade cannot export (its exports are a snapshot)`);
  }
  return files.map((f) => join(dir, f));
}

/**
 * Converts one written ES module bundle file (with its `.map`) into a script and a facade in its place.
 * @returns {Promise<string[]>} the files written
 */
export async function toScript(file, build, scriptName, dynamicImports) {
  const name = basename(file, ".js");
  const out = dirname(file);
  const esm = readFileSync(file, "utf8");
  let result;
  {
    // From stdin under the file's own name: nothing of this build (a pid, a temporary name) ends up in the script.
    result = await build({
      stdin: { contents: esm.replace(/(?<![\w$.])import\(/g, IMPORT_CALL), sourcefile: `${name}.js`, resolveDir: out, loader: "js" },
      outfile: join(out, `${name}.script.js`),
      bundle: true,
      format: "cjs",
      platform: "node",
      target: "node20",
      // Every import stays a `require` of the facade's namespaces.
      plugins: [{ name: "external", setup: (b) => b.onResolve({ filter: /.*/ }, (a) => ({ path: a.path, external: true })) }],
      banner: { js: `(function(require,module,exports,${IMPORT_CALL.slice(0, -1)},${IMPORT_META}){"use strict";` },
      footer: { js: "})" },
      define: { "import.meta": IMPORT_META },
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: "linked",
      sourcesContent: false,
      metafile: true,
      logLevel: "warning",
      write: false,
    });
  }
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const calls = js.text.split(IMPORT_CALL).length - 1;
  // The text replacement above cannot tell an import() from a string or comment holding one, or from a method named
  // import (its definition, `import(){...}`, or a call not after a dot): the count of esbuild's own dynamic-import
  // records of the file is the check.
  if (calls !== dynamicImports) {
    throw new Error(`${file}: the bundle has ${dynamicImports} import() calls, the script ${calls} (a string or comment that reads "import(", or a method named import, as in \`{import(){}}\`, in the code?)`);
  }
  if (/(?<![\w$.])(?:import\s*[({*]|import\.meta\b|export\s*[{*])/.test(js.text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""'))) {
    throw new Error(`${file}: the script still holds an import or export`);
  }
  const specifiers = [...new Set(result.metafile.outputs[Object.keys(result.metafile.outputs).find((k) => k.endsWith(".js"))].imports.map((i) => i.path))];
  const names = exportedNames(esm, file);
  // Script first, then its facade, each by a rename (bundle-node.mjs: a process loading meanwhile finds a whole file).
  // The script's own file is not written: the facade carries its source and names it (a fixed name, not a file), and
  // Node finds its map (`--enable-source-maps`) from the file name beside it, without reading the file.
  // The bundle's map carries the source of a module of the build (bundle-node.mjs' re-exports, no file): the script's keeps it.
  const carried = existsSync(`${file}.map`) ? sourcesCarried(readFileSync(`${file}.map`, "utf8")) : new Map();
  for (const f of result.outputFiles) if (f !== js) replace(f.path, f.path.endsWith(".map") ? withSources(f.text, (s) => carried.get(s)) : f.contents);
  rmSync(js.path, { force: true });
  replace(file, facade(name, scriptName, specifiers, names, cacheTag(js.text), js.text, lazyImports(js.text, file)));
  // The facade has no map of its own: the script's names the sources.
  rmSync(`${file}.map`, { force: true });
  return [file, ...result.outputFiles.map((f) => f.path)];
}

/**
 * The specifiers of the script's `import()` calls, each a string literal (esbuild writes them so): the facade
 * imports each by name, so that an application's bundler sees (and bundles) the lazy chunks and packages.
 */
function lazyImports(script, file) {
  const literal = [...script.matchAll(new RegExp(`${IMPORT_CALL.replace("(", "\\(")}("(?:[^"\\\\]|\\\\.)*")\\)`, "g"))];
  const calls = script.split(IMPORT_CALL).length - 1;
  if (literal.length !== calls) throw new Error(`${file}: an import() of a computed specifier, which a bundler could not see`);
  return [...new Set(literal.map((m) => JSON.parse(m[1])))];
}

/**
 * A source map with the text of the sources `contentOf` gives (the others `null`): the maps have no sources' text,
 * since they point to `src/`, which is published, but a module the build makes up (no file) carries its own.
 * @param {string} map
 * @param {(source: string) => string | null | undefined} contentOf
 */
export function withSources(map, contentOf) {
  const parsed = JSON.parse(map);
  const contents = parsed.sources.map((s) => contentOf(s) ?? null);
  if (contents.every((c) => c === null)) return map;
  return JSON.stringify({ ...parsed, sourcesContent: contents });
}

/** The sources a map carries the text of, by name. */
function sourcesCarried(map) {
  const parsed = JSON.parse(map);
  return new Map(parsed.sources.flatMap((s, i) => (typeof parsed.sourcesContent?.[i] === "string" ? [[s, parsed.sourcesContent[i]]] : [])));
}

/** Writes `path` by a rename, never leaving it half written. */
export function replace(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/**
 * exportedNames' answers by file, with the text it read: importedConstant follows a name into the file it comes from
 * and checks all of that file's exports, so a chain of re-exports (a chunk re-exporting another package's names, whose
 * bundle takes them from a chunk re-exporting a third's) read each file again for every name at every step, some
 * thousands of parses for @xppg/node. A file that passed once passes again: a cycle through it would have failed then.
 */
const checkedExports = new Map();

/** The names an esbuild ES module output exports: its one `export{...}` (esbuild writes one). */
function exportedNames(esm, file, seen = new Set([file])) {
  const checked = checkedExports.get(file);
  if (checked !== undefined && checked.esm === esm) return checked.names;
  const lists = [...esm.matchAll(/(?<![\w$."'`])export\{([^}]*)\}/g)];
  if (lists.length > 1) throw new Error(`${file}: more than one export list`);
  if (/(?<![\w$."'`])export\s*(default|const|let|var|function|class|\*)/.test(esm)) throw new Error(`${file}: an export other than export{...}`);
  if (lists.length === 0) return [];
  const pairs = lists[0][1].split(",").map((s) => s.trim().split(/\s+as\s+/));
  const names = pairs.map((p) => p.at(-1));
  // The facade writes `export const{...}=module.exports`: no `default`, and a snapshot, so only bindings that never
  // change. esbuild writes a bundle's top-level `const` as `var`, so the test is on the whole program: each exported
  // name declared once, at the top level, by a declaration with a value (`const`, `let` or `var` with an initializer,
  // `function`, `class`), and never the target of an assignment anywhere (any binding of that name counts, a
  // shadowing one too: a refusal at worst, never a stale export).
  if (names.includes("default")) throw new Error(`${file}: a default export, which a script's facade cannot export (export names only)`);
  const program = parse(esm, { ecmaVersion: "latest", sourceType: "module" });
  const { declared, assigned } = bindings(program);
  for (const local of pairs.map((p) => p[0])) {
    if (importedConstant(program, local, file, seen)) continue;
    const top = program.body.filter((n) => declares(n, local));
    if (top.length !== 1 || declared.get(local) !== 1 || assigned.has(local)) {
      throw new Error(`${file}: the exported binding ${local} is not provably constant (declared once at the top level with a value, never assigned), which a script's facade cannot follow (its exports are a snapshot)`);
    }
  }
  checkedExports.set(file, { esm, names });
  return names;
}

/**
 * Whether `name` is imported from another bundle file (a chunk, another package's) whose own exports are constant: a facade's (checked
 * when it was made) or an ES module's that passes the same test. A namespace object is constant too.
 */
function importedConstant(program, name, file, seen) {
  for (const s of program.body) {
    if (s.type !== "ImportDeclaration") continue;
    const sp = s.specifiers.find((x) => x.local.name === name);
    if (sp === undefined) continue;
    if (sp.type === "ImportNamespaceSpecifier") return true;
    if (sp.type !== "ImportSpecifier") return false;
    let path;
    try {
      // A package's file as Node finds it (its `node` condition, before `import`).
      path = createRequire(file).resolve(s.source.value);
    } catch {
      return false;
    }
    // A cycle back to a file being checked: not provably constant.
    if (!isAbsolute(path) || seen.has(path)) return false;
    const text = readFileSync(path, "utf8");
    if (text.startsWith(FACADE_HEADER)) return true;
    const exported = exportedNames(text, path, new Set([...seen, path]));
    return exported.includes(sp.imported.type === "Identifier" ? sp.imported.name : sp.imported.value);
  }
  return false;
}

/** Whether a top-level statement declares `name` with a value. */
function declares(node, name) {
  const s = node.type === "ExportNamedDeclaration" && node.declaration ? node.declaration : node;
  if (s.type === "FunctionDeclaration" || s.type === "ClassDeclaration") return s.id.name === name;
  if (s.type !== "VariableDeclaration") return false;
  return s.declarations.some((d) => d.init !== null && patternNames(d.id).includes(name));
}

/** The names a binding or assignment pattern writes (a member expression writes none). */
function patternNames(pattern) {
  if (pattern === null) return [];
  if (pattern.type === "Identifier") return [pattern.name];
  if (pattern.type === "ObjectPattern") return pattern.properties.flatMap((p) => patternNames(p.type === "RestElement" ? p.argument : p.value));
  if (pattern.type === "ArrayPattern") return pattern.elements.flatMap(patternNames);
  if (pattern.type === "AssignmentPattern") return patternNames(pattern.left);
  if (pattern.type === "RestElement") return patternNames(pattern.argument);
  return [];
}

/** Over the whole program: how many times each name is declared (any scope), and each name any expression writes. */
function bindings(program) {
  const declared = new Map();
  const assigned = new Set();
  const declare = (names) => names.forEach((n) => declared.set(n, (declared.get(n) ?? 0) + 1));
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== "object" || typeof node.type !== "string") return;
    if (node.type === "VariableDeclarator") declare(patternNames(node.id));
    else if ((node.type === "FunctionDeclaration" || node.type === "ClassDeclaration") && node.id) declare([node.id.name]);
    else if (node.type === "AssignmentExpression") patternNames(node.left).forEach((n) => assigned.add(n));
    else if (node.type === "UpdateExpression") patternNames(node.argument).forEach((n) => assigned.add(n));
    else if ((node.type === "ForInStatement" || node.type === "ForOfStatement") && node.left.type !== "VariableDeclaration") {
      patternNames(node.left).forEach((n) => assigned.add(n));
    }
    for (const key of Object.keys(node)) if (key !== "type") walk(node[key]);
  };
  walk(program);
  return { declared, assigned };
}

/**
 * The tag in a script's cache file name: V8 checks a cache's V8 version and flags, but of the source only its
 * length, so a cache of another build of the script (one of the same length) must never be found by this one.
 * @param {Uint8Array | string} script
 */
export function cacheTag(script) {
  // The hash of the exact string the facade compiles (its UTF-8 bytes).
  return createHash("sha256").update(script).digest("hex").slice(0, 16);
}

/**
 * The script's source as a string literal for its facade: JSON, with each `//#` (its `sourceMappingURL`) written
 * `\/\/#`, so that Node never takes the script's map comment for the facade's own.
 *
 * The literal is not free: V8 scans it at every load (about 8 M instructions for the six scripts a first connection
 * loads). Reading the source from a file instead saves those and costs a scavenge in the connection (the young
 * generation no longer grows during the load), and measured no faster in the bench; a literal kept only as a fallback
 * is scanned all the same. packages/node/INTERNALS.md ("Measured again ...") has the figures, and what serving Node
 * and bundlers different facades would still have to solve.
 */
function sourceLiteral(source) {
  return JSON.stringify(source).replace(/\/\/([#@])/g, "\\/\\/$1");
}

// The script's file name is found from the facade's URL, not given as `new URL("./x", import.meta.url)`: webpack
// would take that for an asset and copy the script into the application's build. In a bundle without the facade's
// URL (CommonJS output) it stays the bare name.
function facade(name, scriptName, specifiers, names, tag, source, lazy) {
  const ns = specifiers.map((s, i) => [s, `m${i}`]);
  const lazies = lazy.map((s) => `${JSON.stringify(s)}:()=>import(${JSON.stringify(s)})`).join(",");
  return `${FACADE_HEADER}${name}.script.js, whose source it carries (scripts/node-script.mjs says why: a code cache).
${ns.map(([s, m]) => `import*as ${m} from${JSON.stringify(s)};`).join("\n")}
const modules={${ns.map(([s, m]) => `${JSON.stringify(s)}:${m}`).join(",")}};
const lazy={__proto__:null,${lazies}};
const source=${sourceLiteral(source)};
const here=import.meta.url;let file="${name}.script.js";
try{file=process.getBuiltinModule("node:url").fileURLToPath(new URL(file,here))}catch{}
let define;
if(process.sourceMapsEnabled){const{Module}=process.getBuiltinModule("node:module"),m=new Module(file);m.filename=file;m._compile("module.exports="+source,file);define=m.exports}
else{let cachedData;try{cachedData=process.getBuiltinModule("node:fs").readFileSync(file.slice(0,-2)+"${tag}.cache")}catch{}const{Script}=process.getBuiltinModule("node:vm"),script=new Script(source,{filename:${JSON.stringify(scriptName)},cachedData});globalThis[Symbol.for("xppg.scripts")]?.push({file,tag:"${tag}",script,cache:cachedData===void 0?"none":script.cachedDataRejected?"rejected":"accepted"});define=script.runInThisContext()}
const module={exports:{}};
define((s)=>modules[s],module,module.exports,(s)=>lazy[s](),import.meta);
export const{${names.join(",")}}=module.exports;
`;
}
