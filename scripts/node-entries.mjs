// A package's Node entry points, read from its `exports` map and checked:
// every entry with an `import` target `./dist/<name>.js` and a `source` file
// has a `node` target `./dist/bundle/<name>.js`, placed before `import` (the
// bundle `scripts/bundle-node.mjs` writes), except a browser build (the
// target of a `browser` condition, such as the `./browser` subpath), which
// has none: Node would read the page's modules either way. Shared by that script, the
// package generator and the repository's checks.

/**
 * @param {{ name: string, exports?: Record<string, unknown> }} pkg a package.json
 * @returns {{ subpath: string, name: string, source: string, node: string }[]}
 */
export function nodeEntries(pkg) {
  const entries = [];
  const targets = Object.entries(pkg.exports ?? {}).filter(([, t]) => typeof t === "object" && t !== null);
  const browserBuilds = new Set(targets.map(([, t]) => t.browser?.import ?? t.browser?.default).filter((b) => typeof b === "string"));
  for (const [subpath, target] of targets) {
    const { source, import: imported, node } = /** @type {Record<string, unknown>} */ (target);
    if (typeof imported !== "string" || typeof source !== "string") continue;
    if (browserBuilds.has(imported)) {
      if (node !== undefined) throw new Error(`${pkg.name}: exports["${subpath}"] is a browser build (${imported}); it takes no "node" target`);
      continue;
    }
    const m = /^\.\/dist\/(.+)\.js$/.exec(imported);
    if (m === null) throw new Error(`${pkg.name}: exports["${subpath}"].import is ${imported}; expected ./dist/<name>.js`);
    if (source !== `./src/${m[1]}.ts`) throw new Error(`${pkg.name}: exports["${subpath}"].source is ${source}; expected ./src/${m[1]}.ts, beside its build ${imported}`);
    const want = bundlePath(m[1]);
    const keys = Object.keys(target);
    if (node !== want || keys.indexOf("node") > keys.indexOf("import")) {
      throw new Error(`${pkg.name}: exports["${subpath}"] needs "node": "${want}" before "import" (the bundled Node build); it has ${JSON.stringify(target)}`);
    }
    entries.push({ subpath, name: m[1], source, node: want });
  }
  return entries;
}

/** Where the bundle of the entry `./dist/<name>.js` goes. */
export function bundlePath(name) {
  return `./dist/bundle/${name}.js`;
}
