// The cost of sealing and opening one small encrypted record, stage by
// stage, in one process: how much each layer above libsodium adds.
//
//   raw        sodium-native's binding called straight (the prebuilt addon),
//              the detached calls (encrypt_detached then decrypt_detached:
//              five arrays each), in place, on preallocated buffers, one
//              fixed nonce: the floor of the detached form. The record layer
//              now uses the combined calls (a record in one piece, four
//              arrays: see cipher), which raw does not measure
//   raw+nonce  the same with the Noise nonce written per call
//   package    the same through sodium-native's JavaScript entry (its assertions)
//   provider   the secure package's provider: sealInto then openInto, detached (a tag view),
//              the form a provider without wholeRecords is called in
//   cipher     CipherState.encryptInto then decryptInto, as the record layer calls them
//              (a record in one piece where the provider takes whole records)
//   record     a RecordLink sends one 100 B frame, the other's RecordLink
//              opens it and hands the frame up (framing included; the
//              record is copied between them as a socket would)
//   ss-push    @hyperswarm/secret-stream's record: sodium-secretstream's
//              Push.next then Pull.next (a new buffer each, as it does)
//
// Each stage runs blocks of seal+open pairs in turns with the others (a
// random order each cycle), so the machine's other work falls on all alike;
// the figure is the median over blocks of ns per seal+open pair, beside the
// 10th percentile, and its ratio to raw's median when raw ran.
// `--tree=<built checkout>` adds that tree's provider, cipher and record
// stages (suffixed "@other") to the same run; with `--only`, they run only
// if named with that suffix (`--only=cipher,cipher@other`).
//
//   node bench/seal-open.mjs [--tree=<built checkout>] [--size=100] [--cycles=200] [--block=2000] [--only=a,b]
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SIZE = Number(arg("size", 100));
const CYCLES = Number(arg("cycles", 200));
const BLOCK = Number(arg("block", 2000));
const other = arg("tree", undefined);
/** Comma-separated stage names to run (all by default); another tree's stages by their "@other" names. */
const only = arg("only", undefined)?.split(",");

const require = createRequire(join(repoRoot, "packages/secure/package.json"));
const sodiumRoot = dirname(require.resolve("sodium-native/package.json"));
const sodium = require("sodium-native");
const binding = (() => {
  const module = { exports: {} };
  process.dlopen(module, join(sodiumRoot, "prebuilds", `${process.platform}-${process.arch}`, "sodium-native.node"));
  return module.exports;
})();
const ssRequire = createRequire(require.resolve("@hyperswarm/secret-stream", { paths: [join(repoRoot, "bench")] }));
const { Push, Pull } = ssRequire("sodium-secretstream");

const key = new Uint8Array(32).fill(7);

function rawStage(withNonce) {
  const record = new Uint8Array(SIZE + 16).fill(1);
  const body = record.subarray(0, SIZE);
  const tag = record.subarray(SIZE);
  const nonce = new Uint8Array(12);
  let n = 0;
  return () => {
    if (withNonce) {
      const v = n++;
      nonce[4] = v & 0xff;
      nonce[5] = (v >>> 8) & 0xff;
      nonce[6] = (v >>> 16) & 0xff;
      nonce[7] = v >>> 24;
    }
    binding.crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, tag, body, undefined, nonce, key);
    if (binding.crypto_aead_chacha20poly1305_ietf_decrypt_detached(body, body, tag, undefined, nonce, key) !== 0) throw new Error("raw: no");
  };
}

function packageStage() {
  const record = new Uint8Array(SIZE + 16).fill(1);
  const body = record.subarray(0, SIZE);
  const tag = record.subarray(SIZE);
  const nonce = new Uint8Array(12);
  return () => {
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, tag, body, null, null, nonce, key);
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(body, null, body, tag, null, nonce, key);
  };
}

function secretStreamStage() {
  const push = new Push(Buffer.from(key));
  const pull = new Pull(Buffer.from(key));
  pull.init(push.header);
  const message = Buffer.alloc(SIZE, 1);
  return () => {
    pull.next(push.next(message));
  };
}

async function treeStages(dir, suffix) {
  const load = (path) => import(pathToFileURL(resolve(dir, "packages/secure/dist", path)).href);
  const { loadSodiumAead } = await load("crypto/sodium-loader.js");
  const { sodiumCryptoProvider } = await load("crypto/sodium-provider.js");
  const { CipherState } = await load("noise/cipher-state.js");
  const { RecordLink } = await load("record-link.js");
  const aead = loadSodiumAead();
  if (aead === null) throw new Error(`${dir}: sodium-native does not load`);
  const provider = sodiumCryptoProvider(aead);

  const providerStage = () => {
    const record = new Uint8Array(SIZE + 16).fill(1);
    const body = record.subarray(0, SIZE);
    const tag = record.subarray(SIZE);
    let n = 0;
    return () => {
      provider.sealInto("ChaChaPoly", key, n, body, body, tag);
      if (!provider.openInto("ChaChaPoly", key, n++, body, tag, body)) throw new Error("provider: no");
    };
  };

  const cipherStage = () => {
    const tx = new CipherState(provider, key, "ChaChaPoly");
    const rx = new CipherState(provider, key, "ChaChaPoly");
    const buffer = new Uint8Array(SIZE + 16).fill(1);
    if (provider.wholeRecords === true) {
      // As the record layer does with such a provider: a record in one piece (an empty tag), its views kept.
      const body = buffer.subarray(0, SIZE);
      const empty = new Uint8Array(0);
      return () => {
        tx.encryptInto(body, buffer, empty);
        if (!rx.decryptInto(buffer, empty, body)) throw new Error("cipher: no");
      };
    }
    return () => {
      // As the record layer does: a view of the record, then the body and tag views.
      const plain = buffer.subarray(0, SIZE);
      const record = new Uint8Array(plain.buffer, plain.byteOffset, SIZE + 16);
      tx.encryptInto(plain, plain, record.subarray(SIZE));
      const body = record.subarray(0, SIZE);
      if (!rx.decryptInto(body, record.subarray(SIZE), body)) throw new Error("cipher: no");
    };
  };

  const recordStage = () => {
    const tx = new CipherState(provider, key, "ChaChaPoly");
    const rx = new CipherState(provider, key, "ChaChaPoly");
    const inbound = new Uint8Array(70_000);
    let deliver = null;
    let tickEnd = null;
    let got = 0;
    const conn = (onSend) => ({
      remoteAddress: "bench",
      isClosed: false,
      read(sink) {
        deliver = sink.frame;
      },
      send: onSend,
      atTickEnd(fn) {
        tickEnd = fn;
        return true;
      },
      pause() {},
      resume() {},
      close: async () => {},
    });
    const controller = (frame) => ({ receiving: true, queuedBytes: 0, waiting: false, frame, wait: async () => {}, release() {}, ended() {}, error(e) { throw e; }, fail(e) { throw e; }, closed() {} });
    const options = { maxFrameSize: 1 << 20, highWaterMark: 1 << 20, remotePeerId: "x", remotePublicKey: key };
    const taken = Promise.resolve();
    let receiveFrame;
    const sender = new RecordLink(provider, conn((record) => {
      inbound.set(record);
      receiveFrame(inbound.subarray(0, record.byteLength));
      return taken;
    }), { send: tx, receive: new CipherState(provider, key, "ChaChaPoly") }, controller(() => {}), options);
    new RecordLink(provider, conn(() => taken), { send: new CipherState(provider, key, "ChaChaPoly"), receive: rx }, controller(() => { got++; }), options);
    // The sender's read() came first, then the receiver's: the last deliver is the receiver's.
    receiveFrame = deliver;
    const frame = new Uint8Array(SIZE - 4).fill(3);
    let sent = 0;
    return () => {
      void sender.send(frame);
      const end = tickEnd;
      tickEnd = null;
      end?.();
      if (++sent !== got) throw new Error(`record: ${sent} sent, ${got} received`);
    };
  };

  return [
    [`provider${suffix}`, providerStage()],
    [`cipher${suffix}`, cipherStage()],
    [`record${suffix}`, recordStage()],
  ];
}

const stages = [
  ["raw", rawStage(false)],
  ["raw+nonce", rawStage(true)],
  ["package", packageStage()],
  ...(await treeStages(repoRoot, "")),
  ...(other === undefined ? [] : await treeStages(resolve(other), "@other")),
  ["ss-push", secretStreamStage()],
];

if (only !== undefined) stages.splice(0, stages.length, ...stages.filter(([name]) => only.includes(name)));
const samples = new Map(stages.map(([name]) => [name, []]));
for (let cycle = 0; cycle < CYCLES; cycle++) {
  const order = stages.slice().sort(() => Math.random() - 0.5);
  for (const [name, run] of order) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BLOCK; i++) run();
    const ns = Number(process.hrtime.bigint() - t0) / BLOCK;
    if (cycle >= CYCLES / 10) samples.get(name).push(ns);
  }
}
const pick = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const rawMedian = samples.has("raw") ? pick(samples.get("raw").sort((a, b) => a - b), 0.5) : NaN;
process.stdout.write(`seal+open of one ${SIZE} B record, ns per pair (median over ${samples.get(stages[0][0]).length} blocks of ${BLOCK}; p10), node ${process.version}\n`);
for (const [name] of stages) {
  const sorted = samples.get(name).sort((a, b) => a - b);
  const median = pick(sorted, 0.5);
  const ratio = Number.isNaN(rawMedian) ? "" : `  x raw ${(median / rawMedian).toFixed(2)}`;
  process.stdout.write(`${name.padEnd(18)} ${median.toFixed(0).padStart(6)}  p10 ${pick(sorted, 0.1).toFixed(0).padStart(6)}${ratio}\n`);
}
