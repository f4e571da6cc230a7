// The page's request room (the `#request-room` import under the browser
// condition): Node's room loaded on first use. A malformed message is refused
// at once; a request with no handler ever registered is answered without the
// room; handlers and messages from before the room loaded are handed over.
// (Requests themselves, through this room in a real page: real-browser.integration.test.ts.)
import { type Envelope, EnvelopeCodec, MAX_FRAME_SIZE_LIMIT } from "@xppg/framing";
import { describe, expect, it } from "vitest";
import { RequestRoom } from "../src/browser/request-room.js";
import type { RequestRoomOptions } from "../src/request-room.js";

const PEER = "xp1peer";
const ME = "xp1me";

const envelope = (src: string, kind: string, payload: unknown): Envelope => ({ version: 1, kind, source: src, destination: ME, id: 0, hopLimit: 0, payload });

/**
 * The page's room as the node feeds it: each message encoded, read by the node's codec (the room's too), and the
 * payload read handed to the room at once, as the node's router does.
 */
class WireRoom extends RequestRoom {
  readonly #codec: EnvelopeCodec;

  constructor(options: RequestRoomOptions, codec: EnvelopeCodec) {
    super({ ...options, codec });
    this.#codec = codec;
  }

  override receive(src: string, kind: string, payload: unknown): void {
    super.receive(src, kind, this.#codec.read(this.#codec.encode(envelope(src, kind, payload))).payload);
  }

  /** A message whose payload is `bytes`: MessagePack as a peer may write it, which no value of ours encodes to. */
  receiveBytes(src: string, kind: string, bytes: Uint8Array): void {
    // A payload of 0 is the envelope's last byte: swapped for the bytes.
    const frame = this.#codec.encode(envelope(src, kind, 0));
    const whole = new Uint8Array(frame.length - 1 + bytes.length);
    whole.set(frame.subarray(0, -1));
    whole.set(bytes, frame.length - 1);
    super.receive(src, kind, this.#codec.read(whole).payload);
  }
}

/** A room whose sends are recorded; `answer` makes the asked peer reply to each request it is sent. */
function room(answer?: (r: RequestRoom, to: string, request: { r: number; k: string; p: unknown }) => void, maxPayloadDepth = 32): { r: WireRoom; sent: [string, string, unknown][]; reported: unknown[] } {
  const sent: [string, string, unknown][] = [];
  const reported: unknown[] = [];
  const r: WireRoom = new WireRoom(
    {
      send: async (to, kind, payload) => {
        sent.push([to, kind, payload]);
        if (kind === "xppg/request") queueMicrotask(() => answer?.(r, to, payload as { r: number; k: string; p: unknown }));
      },
      report: (error) => void reported.push(error),
    },
    new EnvelopeCodec({ maxSize: MAX_FRAME_SIZE_LIMIT, maxPayloadDepth }),
  );
  return { r, sent, reported };
}

describe("requests in a browser page", () => {
  it("refuses a malformed request at once, and answers no-handler when nothing was ever registered", () => {
    const { r, sent } = room();
    expect(() => r.receive(PEER, "xppg/request", { r: 1, k: "xppg/x" })).toThrow(expect.objectContaining({ code: "XPPG_ERR_PROTOCOL_VIOLATION", message: expect.stringContaining("a request of a malformed kind") as unknown }));
    expect(() => r.receive(PEER, "xppg/response", { r: 1, e: "nope" })).toThrow(expect.objectContaining({ code: "XPPG_ERR_PROTOCOL_VIOLATION" }));
    r.receive(PEER, "xppg/request", { r: 7, k: "price", p: 1 });
    // A response nobody asked for is ignored.
    r.receive(PEER, "xppg/response", { r: 9, p: 1 });
    expect(sent).toEqual([[PEER, "xppg/response", { r: 7, e: "no-handler" }]]);
    r.close();
  });

  it("keeps at most 1024 messages while the room loads: a request past that is answered busy at once", async () => {
    const { r, sent } = room();
    r.handle("price", (_src, p) => p, undefined);
    for (let i = 0; i < 1030; i++) r.receive(`${PEER}${i}`, "xppg/request", { r: i, k: "price", p: i });
    expect(sent).toEqual([1024, 1025, 1026, 1027, 1028, 1029].map((i) => [`${PEER}${i}`, "xppg/response", { r: i, e: "busy" }]));
    // The 1024 kept are served once the room is there.
    await expect.poll(() => sent.filter(([, , p]) => (p as { e?: string }).e === undefined).length).toBe(1024);
    r.close();
  });

  it("keeps at most 64 messages of one peer while the room loads: past that its requests are busy, another peer's still kept", async () => {
    const { r, sent } = room();
    r.handle("price", (_src, p) => p, undefined);
    const [one, two] = [`${PEER}one`, `${PEER}two`];
    for (let i = 0; i < 100; i++) r.receive(one, "xppg/request", { r: i, k: "price", p: i });
    for (let i = 0; i < 10; i++) r.receive(two, "xppg/request", { r: i, k: "price", p: i });
    // Answered at once, before the room is there: the 36 past the peer's 64, and none of the other peer's.
    expect(sent).toEqual(Array.from({ length: 36 }, (_, i) => [one, "xppg/response", { r: 64 + i, e: "busy" }]));
    await expect.poll(() => sent.length).toBe(36 + 64 + 10);
    const served = (to: string): unknown[] => sent.filter(([src, , p]) => src === to && (p as { e?: string }).e === undefined).map(([, , p]) => (p as { p: unknown }).p);
    expect(served(one)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(served(two)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    r.close();
  });

  it("keeps at most 8 MiB of payload bytes while the room loads, counting views into one buffer as copies", async () => {
    const { r, sent } = room();
    r.handle("size", (_src, p) => (p as Uint8Array).byteLength, undefined);
    const MiB = 1 << 20;
    // A little under 1 MiB each: a message is counted as its bytes, header included.
    const size = MiB - 64;
    const frame = new Uint8Array(2 * MiB);
    // Nine peers, each a view into the same frame: the ninth does not fit.
    for (let i = 0; i < 9; i++) r.receive(`${PEER}${i}`, "xppg/request", { r: i, k: "size", p: frame.subarray((i % 2) * MiB, (i % 2) * MiB + size) });
    expect(sent).toEqual([[`${PEER}8`, "xppg/response", { r: 8, e: "busy" }]]);
    await expect.poll(() => sent.length).toBe(9);
    expect(sent.slice(1).map(([, , p]) => (p as { p: unknown }).p)).toEqual(Array(8).fill(size));
    r.close();
  });

  it("counts every payload's size against the 8 MiB while the room loads, bytes inside an object too, and hands it over whole", async () => {
    const { r, sent } = room();
    const served: unknown[] = [];
    r.handle("blob", (_src, p) => void served.push(p), undefined);
    const MiB = 1 << 20;
    // A little under 1 MiB each (a message counts its header and keys too): the ninth is past 8 MiB.
    const frame = new Uint8Array(MiB - 256).fill(7);
    const payload = (i: number): unknown => ({ i, at: new Date(1_700_000_000_000 + i), parts: [frame.subarray(0, 1000), { rest: frame.subarray(1000), name: "é".repeat(10) }] });
    for (let i = 0; i < 9; i++) r.receive(`${PEER}${i}`, "xppg/request", { r: i, k: "blob", p: payload(i) });
    expect(sent).toEqual([[`${PEER}8`, "xppg/response", { r: 8, e: "busy" }]]);
    await expect.poll(() => served.length).toBe(8);
    // Compared by a digest of the bytes (an element-wise comparison of 8 MiB is slow).
    const digest = (p: unknown): string => JSON.stringify(p, (_k, v: unknown) => (v instanceof Uint8Array ? `${v.length}:${v.reduce((a, b) => (a * 31 + b) % 1e9, 0)}` : v));
    expect(served.map(digest)).toEqual(Array.from({ length: 8 }, (_, i) => digest(payload(i))));
    expect((served[0] as { at: unknown }).at).toEqual(new Date(1_700_000_000_000));
    r.close();
  });

  it("hands over what came while the room loads as the very value the node read: -0, a timestamp past what a Date holds, malformed UTF-8", async () => {
    const { r } = room();
    const got: unknown[] = [];
    r.handle("echo", (_src, p) => void got.push(p), undefined);
    const request = (id: number, p: number[]): Uint8Array => Uint8Array.from([0x83, 0xa1, 0x72, id, 0xa1, 0x6b, 0xa4, ...Buffer.from("echo"), 0xa1, 0x70, ...p]);
    // 200 bytes (read by the short-string decoder), which TextDecoder, and so the value encoded again, would read otherwise.
    const utf8 = [...Array<number[]>(50).fill([0xed, 0xa0, 0x80]).flat(), ...Array<number>(50).fill(0x80)];
    const payloads = [
      [0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0],
      [0xc7, 12, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0],
      [0xd9, utf8.length, ...utf8],
    ];
    // While the room loads: held.
    payloads.forEach((p, i) => r.receiveBytes(PEER, "xppg/request", request(i, p)));
    await expect.poll(() => got.length).toBe(3);
    // The same bytes once the room is there: straight to it.
    payloads.forEach((p, i) => r.receiveBytes(PEER, "xppg/request", request(10 + i, p)));
    await expect.poll(() => got.length).toBe(6);
    const [held, direct] = [got.slice(0, 3), got.slice(3)];
    expect(Object.is(direct[0], -0)).toBe(true);
    expect(Object.is(held[0], -0)).toBe(true);
    expect(direct[1]).toBeInstanceOf(Date);
    expect(Number.isNaN((direct[1] as Date).getTime())).toBe(true);
    expect(held[1]).toBeInstanceOf(Date);
    expect(Number.isNaN((held[1] as Date).getTime())).toBe(true);
    expect(held[2]).toBe(direct[2]);
    r.close();
  });

  it("hands over a request as deep as the node's maxPayloadDepth (100) that came while the room loads, not busy", async () => {
    const { r, sent } = room(undefined, 100);
    r.handle("deep", () => "served", undefined);
    // The request's map and 99 arrays around a 1: 100 levels, the most the node reads (as bytes: this codec's encoder
    // stops short of that).
    r.receiveBytes(PEER, "xppg/request", Uint8Array.from([0x83, 0xa1, 0x72, 1, 0xa1, 0x6b, 0xa4, ...Buffer.from("deep"), 0xa1, 0x70, ...Array<number>(99).fill(0x91), 1]));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent).toEqual([[PEER, "xppg/response", { r: 1, p: "served" }]]);
    r.close();
  });

  it("a request that comes after stop runs no handler, even while the room loads", async () => {
    const { r, sent } = room();
    const served: unknown[] = [];
    r.handle("price", (_src, p) => void served.push(p), undefined);
    r.close();
    r.receive(PEER, "xppg/request", { r: 1, k: "price", p: 1 });
    // A request of this node waits for the room (and for what came before it to be handed over): then nothing was served.
    await expect(r.request(PEER, "price", 2, 50, undefined)).rejects.toBeInstanceOf(Error);
    expect(served).toEqual([]);
    expect(sent.filter(([, kind]) => kind === "xppg/response")).toEqual([]);
  });

  it("a handler registered while the room loads serves what came meanwhile; a second one for its kind is refused", async () => {
    const { r, sent } = room();
    const off = r.handle("price", (_src, p) => ({ euros: (p as number) * 2 }), undefined);
    expect(() => r.handle("price", () => 0, undefined)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT", message: expect.stringContaining('the kind "price" already has a handler') as unknown }));
    r.receive(PEER, "xppg/request", { r: 1, k: "price", p: 3 });
    r.receive(PEER, "xppg/request", { r: 2, k: "other", p: 0 });
    await expect.poll(() => sent).toHaveLength(2);
    // (A handler's reply waits for its promise, so "no-handler" may go first, as in Node.)
    expect(sent).toEqual(
      expect.arrayContaining([
        [PEER, "xppg/response", { r: 1, p: { euros: 6 } }],
        [PEER, "xppg/response", { r: 2, e: "no-handler" }],
      ]),
    );
    // Loaded: the handler lives in Node's room, and its off() removes it there.
    expect(() => r.handle("price", () => 0, undefined)).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    off();
    r.receive(PEER, "xppg/request", { r: 3, k: "price", p: 3 });
    await expect.poll(() => sent).toHaveLength(3);
    expect(sent[2]).toEqual([PEER, "xppg/response", { r: 3, e: "no-handler" }]);
    r.close();
  });

  it("a handler removed (or aborted) before the room loaded is never registered", async () => {
    const { r, sent } = room();
    r.handle("price", () => 1, undefined)();
    const abort = new AbortController();
    r.handle("stock", () => 2, abort.signal);
    abort.abort();
    expect(() => r.handle("price", () => 3, undefined)).not.toThrow();
    r.receive(PEER, "xppg/request", { r: 1, k: "stock" });
    r.receive(PEER, "xppg/request", { r: 2, k: "price" });
    await expect.poll(() => sent).toHaveLength(2);
    expect(sent).toEqual([
      [PEER, "xppg/response", { r: 1, e: "no-handler" }],
      [PEER, "xppg/response", { r: 2, p: 3 }],
    ]);
    r.close();
  });

  it("requests sent while the room loads go out in order and get their replies; a stopped node gives up on them", async () => {
    const { r, sent } = room((room, to, q) => room.receive(to, "xppg/response", { r: q.r, p: `${q.k}:${String(q.p)}` }));
    const replies = Promise.all([r.request(PEER, "a", 1, 5000, undefined), r.request(PEER, "b", 2, 5000, undefined)]);
    expect(r.pendingCount).toBe(2);
    await expect(replies).resolves.toEqual(["a:1", "b:2"]);
    expect(sent.map(([, , p]) => (p as { k: string }).k)).toEqual(["a", "b"]);
    const silent = room();
    const asked = silent.r.request(PEER, "c", 3, 5000, undefined);
    await expect.poll(() => silent.sent).toHaveLength(1);
    silent.r.close();
    await expect(asked).rejects.toMatchObject({ code: "XPPG_ERR_STOPPED" });
    r.close();
  });
});
