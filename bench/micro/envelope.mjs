// Micro-benchmark of the envelope codec on the bench's messages, with
// prototypes of the fixes the bench report recommends (not shipped code):
//   node bench/micro/envelope.mjs
// Single process, no sockets: it isolates the per-message CPU cost of encoding
// and decoding an envelope from everything else.
import { EnvelopeCodec, ENVELOPE_VERSION, scanMsgpack } from "@xppg/framing";
import { createRequire } from "node:module";

// @msgpack/msgpack is a dependency of @xppg/framing, not of the bench: load framing's copy.
const require = createRequire(new URL("../../packages/framing/package.json", import.meta.url));
const { Decoder, Encoder } = require("@msgpack/msgpack");

const ROUNDS = 5;
const codec = new EnvelopeCodec();
const source = "a1b2c3d4e5f60718";
const destination = "0f1e2d3c4b5a6978";

function envelope(size, id) {
  return { version: ENVELOPE_VERSION, kind: "bench", source, destination, id, hopLimit: 0, payload: new Uint8Array(size).fill(0x5a) };
}

/** ns per call, best of ROUNDS, each round bounded by count. */
function time(label, count, fn) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) fn(i);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / count);
  }
  process.stdout.write(`${label.padEnd(58)} ${best.toFixed(0).padStart(7)} ns\n`);
  return best;
}

// Prototype 1: the encoder's shared buffer (no slice), copied into a pooled slab
// (what Node's Buffer pool does): no ArrayBuffer per message.
const encoder = new Encoder({ ignoreUndefined: true });
const SLAB = 64 * 1024;
let slab = new Uint8Array(SLAB);
let slabAt = 0;
function pooledCopy(src) {
  if (src.byteLength > SLAB / 8) return src.slice();
  if (slabAt + src.byteLength > SLAB) {
    slab = new Uint8Array(SLAB);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + src.byteLength);
  out.set(src);
  slabAt = (slabAt + src.byteLength + 7) & ~7;
  return out;
}
function encodeSharedPooled(e) {
  return pooledCopy(encoder.encodeSharedRef([e.version, e.kind, e.source, e.destination, e.id, e.hopLimit, e.payload]));
}

// Prototype 2: the fields before the payload are the same for every message of
// one (kind, destination): cache their bytes; write id and hop limit by hand;
// msgpack-encode only the payload.
const prefixes = new Map();
const te = new TextEncoder();
function str(s) {
  const b = te.encode(s);
  if (b.length > 31) throw new Error("prototype handles short strings only");
  return [0xa0 | b.length, ...b];
}
function prefixFor(e) {
  const key = `${e.kind}\u0000${e.destination}`;
  let p = prefixes.get(key);
  if (p === undefined) {
    p = Uint8Array.from([0x97, e.version, ...str(e.kind), ...str(e.source), ...(e.destination === null ? [0xc0] : str(e.destination))]);
    prefixes.set(key, p);
  }
  return p;
}
const payloadEncoder = new Encoder({ ignoreUndefined: true });
function encodeCachedPrefix(e) {
  const prefix = prefixFor(e);
  const body = payloadEncoder.encodeSharedRef(e.payload);
  const n = prefix.length + 10 + body.length;
  if (slabAt + n > SLAB) {
    slab = new Uint8Array(Math.max(SLAB, n));
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + n);
  slabAt = (slabAt + n + 7) & ~7;
  out.set(prefix, 0);
  let at = prefix.length;
  out[at++] = 0xcf; // uint64 id, big-endian
  const hi = Math.floor(e.id / 2 ** 32);
  const lo = e.id >>> 0;
  out[at++] = hi >>> 24; out[at++] = (hi >>> 16) & 0xff; out[at++] = (hi >>> 8) & 0xff; out[at++] = hi & 0xff;
  out[at++] = lo >>> 24; out[at++] = (lo >>> 16) & 0xff; out[at++] = (lo >>> 8) & 0xff; out[at++] = lo & 0xff;
  out[at++] = e.hopLimit; // positive fixint
  out.set(body, at);
  return out;
}

// Prototype 3: decode the six header fields by hand, interning the strings
// (kind, source, destination repeat on a link), scan and msgpack-decode only the payload.
const payloadDecoder = new Decoder();
const td = new TextDecoder();
const interned = new Map();
function readStr(b, at) {
  const t = b[at];
  if (t === 0xc0) return [null, at + 1];
  if ((t & 0xe0) !== 0xa0) throw new Error("prototype handles fixstr only");
  const n = t & 0x1f;
  let key = "";
  for (let i = 0; i < n; i++) key += String.fromCharCode(b[at + 1 + i]); // latin1 key: exact bytes
  let s = interned.get(key);
  if (s === undefined) {
    s = td.decode(b.subarray(at + 1, at + 1 + n));
    if (interned.size < 1024) interned.set(key, s);
  }
  return [s, at + 1 + n];
}
function decodeFast(b) {
  if (b[0] !== 0x97 || b[1] !== 1) throw new Error("prototype: plain 7-field envelopes only");
  let at = 2;
  let kind, src, dst;
  [kind, at] = readStr(b, at);
  [src, at] = readStr(b, at);
  [dst, at] = readStr(b, at);
  if (b[at] !== 0xcf) throw new Error("prototype: uint64 id only");
  const hi = ((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0;
  const lo = ((b[at + 5] << 24) | (b[at + 6] << 16) | (b[at + 7] << 8) | b[at + 8]) >>> 0;
  const id = hi * 2 ** 32 + lo;
  at += 9;
  const hopLimit = b[at++];
  const rest = b.subarray(at);
  let payload;
  const t = rest[0];
  // A bare binary payload needs neither the scan nor the msgpack decoder: hand out a view.
  const binLength = t === 0xc4 ? rest[1] : t === 0xc5 ? (rest[1] << 8) | rest[2] : t === 0xc6 ? ((rest[1] << 24) | (rest[2] << 16) | (rest[3] << 8) | rest[4]) >>> 0 : -1;
  const binHeader = t === 0xc4 ? 2 : t === 0xc5 ? 3 : 5;
  if (binLength >= 0 && binHeader + binLength === rest.length) payload = rest.subarray(binHeader);
  else {
    scanMsgpack(rest, 32);
    payload = payloadDecoder.decode(rest);
  }
  return { version: 1, kind, source: src, destination: dst, id, hopLimit, payload };
}

for (const size of [100, 64 * 1024]) {
  const count = size === 100 ? 300_000 : 5_000;
  const e = envelope(size, 123_456_789);
  process.stdout.write(`\n-- payload ${size} B (${count} per round, best of ${ROUNDS}) --\n`);
  const cur = time("encode: EnvelopeCodec.encode (today)", count, (i) => codec.encode({ ...e, id: e.id + i }));
  time("encode: msgpack encodeSharedRef only (lower bound)", count, (i) => encoder.encodeSharedRef([1, e.kind, e.source, e.destination, e.id + i, 0, e.payload]));
  const p1 = time("encode: prototype 1 (shared ref + pooled copy)", count, (i) => encodeSharedPooled({ ...e, id: e.id + i }));
  const p2 = time("encode: prototype 2 (cached prefix, pooled, payload only)", count, (i) => encodeCachedPrefix({ ...e, id: e.id + i }));
  process.stdout.write(`   => prototype 1 saves ${(100 - (p1 / cur) * 100).toFixed(0)}%, prototype 2 saves ${(100 - (p2 / cur) * 100).toFixed(0)}%\n`);
  const bytes = codec.encode(e);
  const check = decodeFast(encodeCachedPrefix(e));
  if (check.kind !== e.kind || check.id !== e.id || check.payload.byteLength !== size) throw new Error("prototype decode mismatch");
  const fastBytes = encodeCachedPrefix(e).slice();
  time("decode: prototype 3 without the bin shortcut (scan + msgpack)", count, () => {
    scanMsgpack(bytes, 33);
    payloadDecoder.decode(bytes);
  });
  const dcur = time("decode: EnvelopeCodec.decode (today)", count, () => codec.decode(bytes));
  time("decode: scanMsgpack alone", count, () => scanMsgpack(bytes, 33));
  const d3 = time("decode: prototype 3 (hand header, interned strings, bin view)", count, () => decodeFast(fastBytes));
  process.stdout.write(`   => prototype 3 saves ${(100 - (d3 / dcur) * 100).toFixed(0)}%\n`);
}
