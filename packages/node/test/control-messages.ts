// The control messages a peer can send a node, as fast-check arbitraries: each control kind with arbitrary
// payloads and with valid ones mutated one field at a time. The control-message fuzz of a Node node and the
// one of a page's node (over WebSocket, in Chromium) draw from here.
import fc from "fast-check";
import { UPDATE_FORMAT } from "@xppg/state";
import { generateIdentity } from "@xppg/secure";
import { buildPacket, PACKET, packetHeader } from "../src/route-wire.js";
import { signRecord, toWire } from "../src/peer-record.js";

/** What MessagePack carries: every payload a peer can put in an envelope. */
export const { value: wireValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom(0, -1, 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, -(2 ** 60), 1e300, Number.NaN, Number.POSITIVE_INFINITY),
    fc.double(),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 80 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("t", "o", "i", "r", "k", "p", "e", "m", "update", "entries", "epoch", "have", "seq")), tie("value"), { maxKeys: 5 }),
  ),
}));

/** A valid payload with one field replaced by anything, or removed. */
export function mutated(valid: Record<string, unknown> | unknown[]): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  const changed = fc.tuple(fc.constantFrom(...keys), wireValue, fc.boolean()).map(([key, value, remove]) => {
    const copy: Record<string, unknown> | unknown[] = Array.isArray(valid) ? [...valid] : { ...valid };
    if (remove && !Array.isArray(copy)) delete copy[key];
    else (copy as Record<string, unknown>)[key] = value;
    return copy;
  });
  // The valid one too, now and then, so that later messages of a run are read.
  return fc.oneof({ arbitrary: changed, weight: 3 }, { arbitrary: fc.constant(valid), weight: 1 });
}

function bytesLike(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, v]) => {
      const copy = valid.slice();
      copy[at] = v;
      return copy;
    }),
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
  );
}

const other = generateIdentity();
const routeHeader = packetHeader(other.peerId, generateIdentity().peerId, 1, false);
const row = (writer: string): unknown[] => ["k", 1, writer, "v"];

/** The prefix of a kind sent as a broadcast signed by the sending peer itself. */
export const SIGNED = "signed:";

/** Each control kind with payloads built around a valid one. */
export function messages(raw: { peerId: string }): fc.Arbitrary<[string, unknown]> {
  const kinds: [string, fc.Arbitrary<unknown>][] = [
    ["xppg/state", fc.oneof(wireValue, mutated({ update: { format: UPDATE_FORMAT, seq: 1, entries: [row(raw.peerId)] } }), mutated({ format: UPDATE_FORMAT, seq: 1, entries: [row(raw.peerId)] }).map((update) => ({ update })), fc.array(mutated(row(raw.peerId)), { maxLength: 3 }).map((entries) => ({ update: { format: UPDATE_FORMAT, seq: 1, entries } })))],
    ["xppg/state-request", fc.oneof(wireValue, mutated({ rid: 1 }))],
    ["xppg/state-hello", fc.oneof(wireValue, mutated({ epoch: "e", have: { epoch: "e", seq: 1 } }))],
    ["xppg/file-offer", fc.oneof(wireValue, mutated({ t: "t1", name: "a.txt", size: 3 }))],
    ["xppg/file-chunk", fc.oneof(wireValue, mutated({ t: "t1", seq: 0, data: new Uint8Array(3) }))],
    ["xppg/file-end", fc.oneof(wireValue, mutated({ t: "t1", sha256: "0".repeat(64), size: 3 }))],
    ["xppg/file-abort", fc.oneof(wireValue, mutated({ t: "t1", reason: "r" }))],
    ["xppg/mesh-ihave", fc.oneof(wireValue, fc.array(mutated([other.peerId, 1, 0]), { maxLength: 3 }))],
    ["xppg/mesh-graft", fc.oneof(wireValue, mutated({ o: other.peerId, i: 1 }))],
    ["xppg/mesh-prune", wireValue],
    ["xppg/files", fc.oneof(wireValue, fc.tuple(fc.integer({ min: 0, max: 12 }), fc.uint8Array({ minLength: 32, maxLength: 80 })).map(([t, rest]) => new Uint8Array([t, ...rest])))],
    ["xppg/pex", fc.oneof(wireValue, fc.array(mutated(toWire(signRecord(other, ["tcp://127.0.0.1:1"], Date.now()), true)), { maxLength: 3 }))],
    ["xppg/route", fc.oneof(wireValue, bytesLike(buildPacket(routeHeader, PACKET.OPEN, new Uint8Array(40))))],
    ["xppg/request", fc.oneof(wireValue, mutated({ r: 1, k: "x-kind", p: null }))],
    ["xppg/response", fc.oneof(wireValue, mutated({ r: 1, p: 1 }), mutated({ r: 1, e: "XPPG_ERR_X", m: "m" }))],
    ["xppg/reach-observed", fc.oneof(wireValue, mutated({ addr: "127.0.0.1:4000" }))],
    ["xppg/reach-dialback", fc.oneof(wireValue, mutated({ port: 1 }))],
    ["xppg/reach-dialback-result", fc.oneof(wireValue, mutated({ ok: true, via: "127.0.0.1" }))],
    ["xppg/reach-dial", fc.oneof(wireValue, mutated({ host: "127.0.0.1", port: 1, token: "0123456789abcdef" }))],
    ["xppg/reach-dialed", fc.oneof(wireValue, mutated({ token: "0123456789abcdef", ok: true }))],
    ["xppg/reach-relay", fc.oneof(wireValue, mutated({ port: 1 }))],
    ["xppg/ping", wireValue],
    ["xppg/bye", fc.oneof(wireValue, mutated({ code: "XPPG_ERR_X", reason: "r" }))],
    ["xppg/unknown", wireValue],
    ["text", fc.oneof(wireValue, mutated({ text: "t" }))],
    // Signed broadcasts by the peer itself (the mesh reads presences; others go to the application).
    [`${SIGNED}xppg/mesh-presence`, fc.oneof(wireValue, mutated({ listen: ["tcp://127.0.0.1:1"] }))],
    [`${SIGNED}text`, fc.oneof(wireValue, mutated({ text: "t" }))],
  ];
  return fc.oneof(...kinds.map(([kind, payload]) => payload.map((p): [string, unknown] => [kind, p])));
}
