// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
/** Bidi overrides, embeddings, isolates and marks: `invoice\u202Efdp.exe` must not show as `invoiceexe.pdf`. */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
/** Zero-width and invisible characters that make two names look equal. */
const INVISIBLE = /[\u200b-\u200d\u2060-\u2064\ufeff]/g;

/**
 * A name from a peer made into a safe base name: no folders, no `..`, no
 * control, bidi or invisible characters, no reserved characters, no leading
 * dot (no hidden files), at most 200 bytes of UTF-8 (file systems limit
 * names in bytes, 255 on most). The one helper for received file names:
 * `@xppg/node` exports it as `sanitizeFileName`, from this module alone
 * (`@xppg/files/safe-name`), which loads nothing else of the package.
 */
export function safeFileName(name: string): string {
  let clean = name.replace(/\s+/g, " ").replace(CONTROLS, "").replace(BIDI, "").replace(INVISIBLE, "").replace(/[/\\:*?"<>|]/g, "_").trim();
  clean = clean.replace(/^\.+/, "");
  if (Buffer.byteLength(clean) > 200) {
    // node:path only here: an ES module import of it would make a module of it in every node that loads this one (issue 15).
    const ext = process.getBuiltinModule("node:path").extname(clean).slice(0, 20);
    let stem = clean.slice(0, clean.length - ext.length);
    while (stem.length > 0 && Buffer.byteLength(stem + ext) > 200) stem = stem.slice(0, -1);
    // Never half of a surrogate pair.
    if (/[\ud800-\udbff]$/.test(stem)) stem = stem.slice(0, -1);
    clean = stem + ext;
  }
  return clean.length === 0 ? "file" : clean;
}
