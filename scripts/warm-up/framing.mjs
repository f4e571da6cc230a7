// @xppg/framing's warm-up for its code cache (scripts/code-cache.mjs): what a
// node's first connection does with it. Envelopes (a record payload, bytes,
// a signed one) encoded, framed, unframed and read back.
export async function warmUp(load) {
  const { ENVELOPE_VERSION, EnvelopeCodec, FrameDecoder, encodeFrame, encodeFrames, isSignedEnvelope } = await load("@xppg/framing");
  const codec = new EnvelopeCodec();
  const base = { version: ENVELOPE_VERSION, kind: "xppg/hello", source: "a", destination: "b", id: 1, hopLimit: 0 };
  const encoded = [
    codec.encode({ ...base, payload: { app: "warm-up", listen: ["tcp://127.0.0.1:1"], caps: ["mesh/1"], time: Date.now() } }),
    codec.encode({ ...base, kind: "bench", payload: new Uint8Array(100) }),
    codec.encodeSigned({ ...base, destination: null, payload: { text: "hi" } }, () => new Uint8Array(64)),
  ];
  const decoder = new FrameDecoder();
  const frames = [];
  decoder.push(encodeFrames(encoded), (f) => frames.push(f.slice()));
  for (const e of encoded) decoder.push(encodeFrame(e), (f) => frames.push(f.slice()));
  for (const f of frames) {
    isSignedEnvelope(f);
    codec.envelopeOf(codec.read(f));
    codec.decode(f);
  }
}
