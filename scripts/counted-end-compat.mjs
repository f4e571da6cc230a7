// A counted end of stream (`countedEnd`, @xppg/secure's README, "Half close") against the record layers of another
// checkout, built: a release from before counted ends, which knows only the empty end. Both ways, over the older
// checkout's memory transport: this checkout's Node and page record layers as the sender, the older Node and page ones
// as the reader. Expected: the older reader gets every frame, sees no error and no end, sends on (read by this side),
// and ends with its own empty end, which this side hears as one with no count; a close after a counted end is a
// truncated stream at the older reader, where an empty end is a clean close.
//
//   node scripts/counted-end-compat.mjs <built checkout>    exit 1 on any other outcome
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const older = process.argv[2];
if (older === undefined) {
  console.error("Name the built checkout to check against: node scripts/counted-end-compat.mjs <folder>.");
  process.exit(2);
}
const from = (root, file) => import(pathToFileURL(resolve(root, file)).href);
const here = resolve(import.meta.dirname, "..");
const [neu, neuPage, old, oldPage, { memoryTransport }] = await Promise.all([
  from(here, "packages/secure/dist/index.js"),
  from(here, "packages/secure/dist/browser.js"),
  from(older, "packages/secure/dist/index.js"),
  from(older, "packages/secure/dist/browser.js"),
  from(older, "packages/transport/dist/index.js"),
]);
const text = new TextEncoder();
const words = new TextDecoder();
const later = (ms) => new Promise((r) => setTimeout(r, ms));
let failed = 0;
let n = 0;

/** A connection pair: `newer` (this checkout, counted ends) as the dialler or not, `reader` the older one. */
async function pair(newer, reader, newerDials, onEnd, onOlderEnd) {
  const t = memoryTransport();
  let accept;
  const accepted = new Promise((r) => (accept = r));
  const [serve, dial] = newerDials ? [reader, newer] : [newer, reader];
  // The older reader is asked to tell of an end too: one from before half closes ignores the option.
  const opts = (counted) => ({ identity: neu.generateIdentity(), ...(counted ? { countedEnd: true, onRemoteEnd: onEnd } : { onRemoteEnd: onOlderEnd }) });
  const listener = await t.listen(`memory://counted-end-${n++}`, (conn) => void serve(conn, opts(!newerDials)).then(accept));
  const dialled = await dial(await t.dial(listener.address), opts(newerDials));
  const served = await accepted;
  return { listener, newSide: newerDials ? dialled : served, oldSide: newerDials ? served : dialled };
}

function check(label, got, want) {
  const ok = JSON.stringify(got) === JSON.stringify(want);
  if (!ok) failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${label}: ${JSON.stringify(got)}${ok ? "" : ` (expected ${JSON.stringify(want)})`}`);
}

for (const [label, newer, reader, newerDials] of [
  ["Node sender, older Node reader", neu.secureConnection, old.secureConnection, true],
  ["page sender, older Node reader", neuPage.secureConnection, old.secureConnection, true],
  ["Node sender, older page reader", neu.secureConnection, oldPage.secureConnection, false],
  ["page sender, older page reader", neuPage.secureConnection, oldPage.secureConnection, true],
]) {
  const ends = [];
  let olderEnds = 0;
  const { listener, newSide, oldSide } = await pair(newer, reader, newerDials, (c) => void ends.push(c ?? "no count"), () => void olderEnds++);
  const atOld = [];
  const atNew = [];
  let oldClosed = "open";
  oldSide.read({ frame: (f) => void atOld.push(words.decode(f)), close: (i) => void (oldClosed = i.error?.code ?? "clean") });
  newSide.read({ frame: (f) => void atNew.push(words.decode(f)), close: () => {} });
  await oldSide.send(text.encode("old 1"));
  await newSide.send(text.encode("new 1"));
  await newSide.send(text.encode("new 2"));
  newSide.closeWrite();
  await later(100);
  const oldSend = await oldSide.send(text.encode("old 2")).then(() => "resolved", (e) => e.code);
  await later(100);
  const before = { atOld: [...atOld], olderEnds, oldClosed, oldSend, atNew: [...atNew] };
  await oldSide.close();
  const [o, w] = await Promise.all([oldSide.closed, newSide.closed]);
  check(`${label}, half close`, { before, ends, closed: [o.error?.code ?? "clean", w.error?.code ?? "clean"] }, { before: { atOld: ["new 1", "new 2"], olderEnds: 0, oldClosed: "open", oldSend: "resolved", atNew: ["old 1", "old 2"] }, ends: ["no count"], closed: ["clean", "clean"] });
  await listener.close();
}

for (const countedEnd of [false, true]) {
  const t = memoryTransport();
  let accept;
  const accepted = new Promise((r) => (accept = r));
  const listener = await t.listen(`memory://counted-close-${n++}`, (conn) => void old.secureConnection(conn, { identity: neu.generateIdentity() }).then(accept));
  const newSide = await neu.secureConnection(await t.dial(listener.address), { identity: neu.generateIdentity(), countedEnd });
  const oldSide = await accepted;
  oldSide.read({ frame: () => {}, close: () => {} });
  await newSide.send(new Uint8Array(10));
  await newSide.close();
  const info = await oldSide.closed;
  check(`close, ${countedEnd ? "counted" : "empty"} end, at the older reader`, info.error?.code ?? "clean", countedEnd ? "XPPG_ERR_STREAM_TRUNCATED" : "clean");
  await listener.close();
}
process.exitCode = failed > 0 ? 1 : 0;
