import { describe, expect, it } from "vitest";
import { FrameInbox, HELD_FRAME_OVERHEAD } from "../src/adapter/index.js";
import { FRAME_RELEASED } from "../src/index.js";

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

describe("FrameInbox", () => {
  it("holds frames until a sink is set, then delivers them in order before new ones", async () => {
    const inbox = new FrameInbox({ highWaterMark: 100 });
    inbox.push(new Uint8Array([1]));
    inbox.push(new Uint8Array([2]));
    const got: number[] = [];
    inbox.read({ frame: (f) => got.push(f[0]!) });
    inbox.push(new Uint8Array([3]));
    expect(got).toEqual([]);
    await tick();
    inbox.push(new Uint8Array([4]));
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it("asks its source to stop at the high-water mark and to go on once drained", async () => {
    const flow: boolean[] = [];
    const inbox = new FrameInbox({ highWaterMark: 10, onFlowChange: (stop) => flow.push(stop) });
    inbox.pause();
    for (let i = 0; i < 5; i++) inbox.push(new Uint8Array(4));
    expect(flow).toEqual([true]);
    expect(inbox.queuedBytes).toBe(20);
    const got: Uint8Array[] = [];
    inbox.read({ frame: (f) => got.push(f) });
    inbox.resume();
    await tick();
    expect(got.length).toBe(5);
    expect(flow).toEqual([true, false]);
  });

  it("once the peer ended, delivers the frames held for a paused sink, in order, then calls close once", async () => {
    const inbox = new FrameInbox({ highWaterMark: 10 });
    const events: string[] = [];
    inbox.read({
      frame: (f) => {
        events.push(`f${f[0]}`);
        // A sink that pauses again while the last frames come is not waited for either.
        inbox.pause();
      },
      close: (i) => events.push(`close:${i.initiator}`),
    });
    inbox.pause();
    for (let i = 1; i <= 3; i++) inbox.push(new Uint8Array([i]));
    await tick();
    expect(events).toEqual([]);
    inbox.end({ initiator: "remote" });
    inbox.end({ initiator: "local" });
    await tick();
    expect(events).toEqual(["f1", "f2", "f3", "close:remote"]);
    inbox.resume();
    inbox.push(new Uint8Array([4]));
    await tick();
    expect(events).toEqual(["f1", "f2", "f3", "close:remote"]);
  });

  it("drops held frames when ended with discard", async () => {
    const inbox = new FrameInbox({ highWaterMark: 10 });
    inbox.push(new Uint8Array([1]));
    inbox.end({ initiator: "local" }, true);
    const events: string[] = [];
    inbox.read({ frame: () => events.push("frame"), close: () => events.push("close") });
    await tick();
    expect(events).toEqual(["close"]);
  });

  it("moves on to a sink set from inside a frame callback", async () => {
    const inbox = new FrameInbox({ highWaterMark: 10 });
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 1; i <= 3; i++) inbox.push(new Uint8Array([i]));
    inbox.read({
      frame: (f) => {
        a.push(f[0]!);
        inbox.read({ frame: (g) => b.push(g[0]!) });
      },
    });
    await tick();
    expect(a).toEqual([1]);
    expect(b).toEqual([2, 3]);
  });

  it("says a frame is released only when its sink took it at once and returned FRAME_RELEASED", async () => {
    const inbox = new FrameInbox({ highWaterMark: 100 });
    let answer: unknown = FRAME_RELEASED;
    // Held until there is a sink: never released.
    expect(inbox.push(new Uint8Array(1))).toBe(false);
    inbox.read({ frame: () => answer as undefined });
    await tick();
    expect(inbox.push(new Uint8Array(1))).toBe(true);
    answer = true;
    expect(inbox.push(new Uint8Array(1))).toBe(false);
    answer = FRAME_RELEASED;
    inbox.pause();
    expect(inbox.push(new Uint8Array(1))).toBe(false);
  });

  it("past maxHeldBytes drops what it holds, calls onOverflow once with the bytes held, takes nothing more, and still closes the sink", async () => {
    const overflows: number[] = [];
    // Three 3-byte frames fit (each counts HELD_FRAME_OVERHEAD more), a fourth does not.
    const each = 3 + HELD_FRAME_OVERHEAD;
    const inbox = new FrameInbox({ highWaterMark: 4, maxHeldBytes: 3 * each, onOverflow: (held) => overflows.push(held) });
    const got: Uint8Array[] = [];
    const closes: unknown[] = [];
    inbox.read({ frame: (f) => got.push(f), close: (info) => closes.push(info) });
    inbox.pause();
    // A source that cannot stop reading: it pushes on past the high-water mark.
    for (let i = 0; i < 3; i++) expect(inbox.push(new Uint8Array(3))).toBe(false);
    expect([inbox.queuedBytes, overflows]).toEqual([9, []]);
    inbox.push(new Uint8Array(3));
    expect(overflows).toEqual([4 * each]);
    expect([inbox.queuedBytes, inbox.queuedFrames]).toEqual([0, 0]);
    inbox.push(new Uint8Array(3));
    expect([inbox.queuedBytes, overflows]).toEqual([0, [4 * each]]);
    inbox.resume();
    inbox.end({ initiator: "remote" });
    await tick();
    expect(got).toEqual([]);
    expect(closes).toEqual([{ initiator: "remote" }]);
  });

  it("counts every frame it holds, empty ones too, toward the high-water mark and maxHeldBytes", async () => {
    const flow: boolean[] = [];
    const overflows: number[] = [];
    const inbox = new FrameInbox({
      highWaterMark: 4 * HELD_FRAME_OVERHEAD,
      maxHeldBytes: 8 * HELD_FRAME_OVERHEAD,
      onFlowChange: (stop) => flow.push(stop),
      onOverflow: (held) => overflows.push(held),
    });
    let got = 0;
    inbox.read({ frame: () => void got++ });
    inbox.pause();
    for (let i = 0; i < 3; i++) inbox.push(new Uint8Array(0));
    expect(flow).toEqual([]);
    inbox.push(new Uint8Array(0));
    expect(flow).toEqual([true]);
    inbox.resume();
    await tick();
    expect([got, flow]).toEqual([4, [true, false]]);
    inbox.pause();
    for (let i = 0; i < 8; i++) inbox.push(new Uint8Array(0));
    expect([inbox.queuedFrames, overflows]).toEqual([8, []]);
    inbox.push(new Uint8Array(0));
    expect([inbox.queuedFrames, overflows]).toEqual([0, [9 * HELD_FRAME_OVERHEAD]]);
  });

  it("delivers at once to a ready sink whatever maxHeldBytes is: only what it holds counts", async () => {
    const overflows: number[] = [];
    const inbox = new FrameInbox({ highWaterMark: 4, maxHeldBytes: 2, onOverflow: (held) => overflows.push(held) });
    let got = 0;
    inbox.read({ frame: (f) => (got += f.byteLength) });
    await tick();
    for (let i = 0; i < 10; i++) inbox.push(new Uint8Array(100));
    expect([got, overflows]).toEqual([1000, []]);
  });
});
