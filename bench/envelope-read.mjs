// CPU per envelope read (EnvelopeCodec.read) of MessagePack payloads of a
// few shapes: a chat text, a small object, a state update of 20 rows. Reads
// the built @xppg/framing of this checkout, or of the checkout given, so two
// builds can be compared in alternated runs on a busy machine:
//
//   node bench/envelope-read.mjs [path/to/other/checkout]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, ".."));
const { EnvelopeCodec } = await import(pathToFileURL(resolve(root, "packages/framing/dist/index.js")).href);
const codec = new EnvelopeCodec();
const payloads = {
  text: { text: "hello there, how are you today?" },
  small: { a: 1, b: [true, null, 3.5] },
  state: { update: { format: 3, seq: 42, entries: Array.from({ length: 20 }, (_, i) => [`key-${i}`, 1_700_000_000 + i, "xp1abcdefghijklmnopqrstuvwxyz234567abcdefghijkl", { n: i, s: `value ${i}`, a: [1, 2, 3] }]) }, upto: 42 },
};
const out = {};
for (const [name, payload] of Object.entries(payloads)) {
  const bytes = codec.encode({ version: 1, kind: "chat", source: "xp1source", destination: "xp1destination", id: 7, hopLimit: 0, payload });
  const n = name === "state" ? 20_000 : 300_000;
  for (let i = 0; i < n / 4; i++) codec.read(bytes); // warm-up
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) codec.read(bytes);
  const used = process.cpuUsage(start);
  out[name] = `${(((used.user + used.system) * 1000) / n).toFixed(0)} ns`;
}
console.log(`CPU per envelope read (${root}): ${Object.entries(out).map(([k, v]) => `${k} ${v}`).join(", ")}`);
