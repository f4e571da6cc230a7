// /proc/<pid>/smaps by part, for bench/rss-peak.mjs (the bulk receiver's resident set at its peak), read and parsed
// as bytes: sampling must not allocate on the V8 heap it measures.
import { closeSync, openSync, readSync } from "node:fs";

/** smaps is read into this one buffer, grown when too small. */
let smapsBuffer = Buffer.allocUnsafeSlow(1 << 20);
/** The paths of the C heap and of the node binary, as bytes (compared in place in the buffer above). */
const HEAP = Buffer.from("[heap]");
const NODE_TAILS = [Buffer.from("/node"), Buffer.from("/nodejs")];

/**
 * The resident bytes of an smaps file (`/proc/self/smaps` unless told) by part: `anon` (anonymous mappings), `malloc`
 * (`[heap]`), `node` (the node binary, a path ending in `/node` or `/nodejs`), `addons` (any other file); other
 * pseudo-paths (`[stack]`, `[vdso]`...) are left out. It is read and parsed as bytes in a buffer
 * kept for the run: no string or array is made, so that sampling adds nothing to the V8 heap it measures (reading
 * smaps as a string and splitting it, a few hundred KiB at each read, allocated more than the receiver did and
 * survived the scavenges it triggered, which grew the very new space being measured).
 */
export function smapsParts(path = "/proc/self/smaps") {
  let length;
  for (;;) {
    const fd = openSync(path, "r");
    try {
      length = 0;
      let n;
      while (length < smapsBuffer.length && (n = readSync(fd, smapsBuffer, length, smapsBuffer.length - length, null)) > 0) length += n;
    } finally {
      closeSync(fd);
    }
    if (length < smapsBuffer.length) break;
    smapsBuffer = Buffer.allocUnsafeSlow(smapsBuffer.length * 2);
  }
  const b = smapsBuffer;
  const parts = { node: 0, anon: 0, malloc: 0, addons: 0 };
  let part = null;
  for (let start = 0; start < length; ) {
    let end = b.indexOf(0x0a, start);
    if (end === -1 || end > length) end = length;
    if (isHex(b[start]) && b.indexOf(0x2d, start) < end && b.indexOf(0x2d, start) > start) {
      // A mapping's header: `start-end perms offset dev inode   path` (the path may be missing).
      let field = 0;
      let i = start;
      while (i < end && field < 5) {
        while (i < end && b[i] !== 0x20) i++;
        while (i < end && b[i] === 0x20) i++;
        field++;
      }
      part = mappingPart(b, i, end);
    } else if (part !== null && b[start] === 0x52 && b[start + 1] === 0x73 && b[start + 2] === 0x73 && b[start + 3] === 0x3a) {
      // `Rss:   1234 kB`
      let i = start + 4;
      while (b[i] === 0x20) i++;
      let kb = 0;
      while (b[i] >= 0x30 && b[i] <= 0x39) kb = kb * 10 + (b[i++] - 0x30);
      parts[part] += kb * 1024;
    }
    start = end + 1;
  }
  return parts;
}

function isHex(c) {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

/** Whether bytes `from` to `end` of `b` end with `tail` (compared in place). */
function endsWith(b, from, end, tail) {
  if (end - from < tail.length) return false;
  for (let k = 0; k < tail.length; k++) if (b[end - tail.length + k] !== tail[k]) return false;
  return true;
}

/** The part a mapping's path (bytes `from` to `end`) belongs to: anonymous, the C heap, the node binary, another file, or none (`[stack]`, `[vdso]`...). */
function mappingPart(b, from, end) {
  if (from >= end) return "anon";
  if (end - from === HEAP.length && endsWith(b, from, end, HEAP)) return "malloc";
  if (b[from] === 0x5b) return null;
  for (const tail of NODE_TAILS) if (endsWith(b, from, end, tail)) return "node";
  return "addons";
}
