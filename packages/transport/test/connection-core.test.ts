import { describe, expect, it, vi } from "vitest";
import { ConnectionCore, lendRoomThrough, sendLentThrough, type ConnectionLink, type LinkController } from "../src/adapter/index.js";

/** A link that records what the core asks of it and reports only what a test tells it to. */
class RecordingLink implements ConnectionLink {
  readonly calls: string[] = [];
  controller!: LinkController;
  send(): Promise<void> {
    this.calls.push("send");
    return Promise.resolve();
  }
  end(): void {
    this.calls.push("end");
  }
  abort(): void {
    this.calls.push("abort");
  }
  destroy(): void {
    this.calls.push("destroy");
    this.controller.closed();
  }
}

function connection(closeTimeoutMs: number): { conn: ConnectionCore; link: RecordingLink } {
  const link = new RecordingLink();
  const conn = new ConnectionCore(
    { transport: "test", remoteAddress: "test://peer", localAddress: "test://me", remoteHost: "peer", outbound: true, maxFrameSize: 16, highWaterMark: 64, closeTimeoutMs },
    (controller) => {
      link.controller = controller;
      return link;
    },
  );
  return { conn, link };
}

describe("ConnectionCore", () => {
  it("maxFrameSize (and the other fields its options give) cannot be assigned: JavaScript that tries throws, and send still refuses what it refused", async () => {
    const { conn, link } = connection(50);
    expect(conn.maxFrameSize).toBe(16);
    // Readonly in its type only, it could be widened by plain JavaScript (or a cast), and send took the bigger frame.
    expect(() => {
      (conn as { maxFrameSize: number }).maxFrameSize = 1 << 20;
    }).toThrow(TypeError);
    expect(conn.maxFrameSize).toBe(16);
    // The other fields given by the options are as firm: remoteHost is what limits and bans are keyed by.
    for (const key of ["transport", "remoteAddress", "localAddress", "remoteHost", "outbound"] as const) {
      const before = conn[key];
      expect(() => {
        (conn as unknown as Record<string, unknown>)[key] = "changed";
      }).toThrow(TypeError);
      expect(conn[key]).toBe(before);
    }
    expect(Object.keys(conn)).toEqual(expect.arrayContaining(["transport", "remoteAddress", "localAddress", "remoteHost", "outbound", "maxFrameSize"]));
    await expect(conn.send(new Uint8Array(17))).rejects.toMatchObject({ code: "XPPG_ERR_FRAME_TOO_LARGE", details: { maxFrameSize: 16 } });
    await expect(conn.sendParts([new Uint8Array(9), new Uint8Array(8)])).rejects.toMatchObject({ code: "XPPG_ERR_FRAME_TOO_LARGE" });
    await conn.send(new Uint8Array(16));
    expect(link.calls).toEqual(["send"]);
    await conn.close();
  });

  it("bounds a close whose link never reports the socket gone, by destroying it after closeTimeoutMs", async () => {
    const { conn, link } = connection(50);
    const closing = conn.close();
    expect(link.calls).toEqual(["end"]);
    expect(link.controller.receiving).toBe(false);
    await closing;
    expect(link.calls).toEqual(["end", "destroy"]);
    expect(await conn.closed).toEqual({ initiator: "local" });
  });

  it("bounds a close after the peer ended too, when the link never reports the socket gone", async () => {
    const { conn, link } = connection(50);
    link.controller.ended();
    expect(conn.isClosed).toBe(true);
    await conn.close();
    // The peer closed first: no FIN of ours to send, but the socket is still dropped in time.
    expect(link.calls).toEqual(["destroy"]);
    expect(await conn.closed).toEqual({ initiator: "remote" });
  });

  it("gives every connection's link a controller whose getters are shared (one prototype) and follow the connection, and whose methods work taken unbound", async () => {
    const a = connection(50);
    const b = connection(50);
    const ca = a.link.controller;
    const cb = b.link.controller;
    // The getters lie on one prototype, not on each controller (V8 inlines them only so); the methods are each controller's own.
    expect(Object.getPrototypeOf(ca)).toBe(Object.getPrototypeOf(cb));
    for (const getter of ["receiving", "queuedBytes", "waiting"]) {
      expect(Object.getOwnPropertyDescriptor(ca, getter)).toBeUndefined();
      expect(typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ca), getter)?.get).toBe("function");
    }
    expect(ca.frame).not.toBe(cb.frame);
    const frames: number[] = [];
    a.conn.read({ frame: (f) => void frames.push(f.byteLength) });
    // Taken unbound, as a link may take `frame`: it still delivers to its own connection.
    const { frame } = ca;
    frame(new Uint8Array(3));
    expect(frames).toEqual([3]);
    expect(ca.queuedBytes).toBe(0);
    // A paused connection holds the frame: queuedBytes counts it.
    a.conn.pause();
    frame(new Uint8Array(5));
    expect(ca.queuedBytes).toBe(5);
    a.conn.resume();
    await expect.poll(() => frames).toEqual([3, 5]);
    expect(ca.queuedBytes).toBe(0);
    // waiting: a sender waits until the link releases it.
    expect(ca.waiting).toBe(false);
    const { wait, release } = ca;
    const waited = wait();
    expect(ca.waiting).toBe(true);
    expect(cb.waiting).toBe(false);
    release();
    await waited;
    expect(ca.waiting).toBe(false);
    // receiving follows each connection's own close.
    expect(ca.receiving).toBe(true);
    const closing = a.conn.close();
    expect(ca.receiving).toBe(false);
    expect(cb.receiving).toBe(true);
    await closing;
    await b.conn.close();
  });

  it("drops input after a local close and refuses sends, with the first error winning", async () => {
    const { conn, link } = connection(1_000);
    const frames: Uint8Array[] = [];
    conn.read({ frame: (f) => frames.push(f) });
    link.controller.frame(Uint8Array.of(1));
    await vi.waitFor(() => expect(frames.length).toBe(1));
    await expect(conn.send(new Uint8Array(17))).rejects.toMatchObject({ code: "XPPG_ERR_FRAME_TOO_LARGE" });
    const ours = Object.assign(new Error("ours"), { code: "XPPG_ERR_TEST" }) as never;
    void conn.close(ours);
    link.controller.frame(Uint8Array.of(2));
    link.controller.error(Object.assign(new Error("late reset"), { code: "XPPG_ERR_CONNECTION_RESET" }) as never);
    link.controller.closed();
    expect(await conn.closed).toEqual({ initiator: "local", error: ours });
    expect(frames.length).toBe(1);
    await expect(conn.send(Uint8Array.of(3))).rejects.toMatchObject({ code: "XPPG_ERR_CONNECTION_CLOSED" });
    expect(link.calls).toEqual(["abort"]);
  });

  it("after the peer ended, a close by this side drops the frames still held: nothing is delivered after it", async () => {
    const { conn, link } = connection(1_000);
    const frames: Uint8Array[] = [];
    const closes: unknown[] = [];
    conn.read({ frame: (f) => frames.push(f), close: (info) => closes.push(info) });
    conn.pause();
    link.controller.frame(Uint8Array.of(1));
    link.controller.frame(Uint8Array.of(2));
    // The peer's FIN is read; the socket is not yet closed, and the consumer closes.
    link.controller.ended();
    const closing = conn.close();
    link.controller.closed();
    await closing;
    expect(await conn.closed).toEqual({ initiator: "remote" });
    // The sink's close still comes, once; the held frames do not.
    await vi.waitFor(() => expect(closes.length).toBe(1));
    expect(frames).toEqual([]);
  });
  it("a close by this side from a frame callback during the close burst drops the frames left: the sink's close still comes once", async () => {
    const { conn, link } = connection(1_000);
    const frames: number[] = [];
    const closes: unknown[] = [];
    conn.read({
      frame: (f) => {
        frames.push(f[0]!);
        if (f[0] === 1) void conn.close();
      },
      close: (info) => closes.push(info),
    });
    conn.pause();
    link.controller.frame(Uint8Array.of(1));
    link.controller.frame(Uint8Array.of(2));
    link.controller.frame(Uint8Array.of(3));
    // The peer ended and the socket closed: the held frames are handed over, even paused, then the close.
    link.controller.ended();
    link.controller.closed();
    await vi.waitFor(() => expect(closes.length).toBe(1));
    expect(frames).toEqual([1]);
    expect(await conn.closed).toEqual({ initiator: "remote" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(closes.length).toBe(1);
  });
});

/** A {@link RecordingLink} that lends (`lendRoom`, `sendLent`, `endLoan`), and throws a plain error from either when told. */
class LendingLink extends RecordingLink {
  throwFrom: "lendRoom" | "sendLent" | null = null;
  lendRoom(min: number, max: number): Uint8Array {
    this.calls.push("lendRoom");
    if (this.throwFrom === "lendRoom") throw new Error("injected lendRoom failure");
    return new Uint8Array(Math.max(min, max));
  }
  sendLent(): Promise<void> | null {
    this.calls.push("sendLent");
    if (this.throwFrom === "sendLent") throw new Error("injected sendLent failure");
    return Promise.resolve();
  }
  endLoan(): void {
    this.calls.push("endLoan");
  }
}

describe("lendRoomThrough, sendLentThrough over a link that throws (a broken contract)", () => {
  function lendingConnection(): { conn: ConnectionCore; link: LendingLink } {
    const link = new LendingLink();
    const conn = new ConnectionCore(
      { transport: "test", remoteAddress: "test://peer", localAddress: "test://me", remoteHost: "peer", outbound: true, maxFrameSize: 16, highWaterMark: 64, closeTimeoutMs: 50 },
      (controller) => {
        link.controller = controller;
        return link;
      },
    );
    return { conn, link };
  }

  it("lendRoom that throws: no throw to the caller, no room (undefined), the connection closes with a typed error carrying the cause", async () => {
    const { conn, link } = lendingConnection();
    expect(lendRoomThrough(conn, link, 1, 8)).toHaveLength(8);
    link.throwFrom = "lendRoom";
    expect(lendRoomThrough(conn, link, 1, 8)).toBeUndefined();
    expect(conn.isClosed).toBe(true);
    if (!link.calls.includes("destroy")) link.controller.closed();
    const closed = await conn.closed;
    expect(closed.error).toMatchObject({ code: "XPPG_ERR_CONNECTION_RESET" });
    expect((closed.error!.cause as Error).message).toBe("injected lendRoom failure");
    // Closed: no more loans, and the link is not asked again.
    const asked = link.calls.filter((c) => c === "lendRoom").length;
    expect(lendRoomThrough(conn, link, 1, 8)).toBeUndefined();
    expect(link.calls.filter((c) => c === "lendRoom").length).toBe(asked);
  });

  it("sendLent that throws: the promise rejects with a typed error (not a throw), and the connection closes with it", async () => {
    const { conn, link } = lendingConnection();
    lendRoomThrough(conn, link, 4, 4)!.fill(1);
    link.throwFrom = "sendLent";
    let sent: Promise<void> | undefined;
    expect(() => (sent = sendLentThrough(conn, link, 4))).not.toThrow();
    const error = await sent!.then(
      () => undefined,
      (e: unknown) => e as { code?: string; cause?: unknown },
    );
    expect(error).toMatchObject({ code: "XPPG_ERR_CONNECTION_RESET" });
    expect((error!.cause as Error).message).toBe("injected sendLent failure");
    expect(conn.isClosed).toBe(true);
    if (!link.calls.includes("destroy")) link.controller.closed();
    expect((await conn.closed).error).toBe(error);
  });
});

/** A {@link RecordingLink} that can be paused, and reports from within `open` what `atOpen` does with its controller. */
class PausableLink extends RecordingLink {
  pauseReading(): void {
    this.calls.push("pause");
  }
  resumeReading(): void {
    this.calls.push("resume");
  }
}

function openWith(atOpen: (controller: LinkController) => void, limits: { maxHeldBytes?: number } = {}): { conn: ConnectionCore; link: PausableLink } {
  const link = new PausableLink();
  const conn = new ConnectionCore(
    { transport: "test", remoteAddress: "test://peer", localAddress: "test://me", remoteHost: "peer", outbound: false, maxFrameSize: 256, highWaterMark: 200, closeTimeoutMs: 50, ...limits },
    (controller) => {
      link.controller = controller;
      atOpen(controller);
      return link;
    },
  );
  return { conn, link };
}

describe("ConnectionCore: what the link reports from within open", () => {
  // Two frames of 100 bytes (and 64 of overhead each) pass the high-water mark (200), and 300 held bytes.
  const twoFrames = (controller: LinkController): void => {
    controller.frame(new Uint8Array(100));
    controller.frame(new Uint8Array(100));
  };

  it("a receive limit passed: the link is aborted as by a peer's fault once it exists, then destroyed by the close timer when it never reports the socket gone", async () => {
    const { conn, link } = openWith(twoFrames, { maxHeldBytes: 300 });
    // The fault wins over the stop of reading it came with: no pause for a link being torn down.
    expect(link.calls).toEqual(["abort"]);
    expect(conn.isClosed).toBe(true);
    const info = await conn.closed;
    expect(link.calls).toEqual(["abort", "destroy"]);
    expect(info).toMatchObject({ initiator: "remote", error: { code: "XPPG_ERR_RECEIVE_BUFFER_FULL" } });
  });

  it("a fault and then the socket gone, both within open: nothing is asked of the link, and the connection is closed with the fault", async () => {
    const { conn, link } = openWith(
      (controller) => {
        twoFrames(controller);
        controller.closed();
      },
      { maxHeldBytes: 300 },
    );
    expect(await conn.closed).toMatchObject({ initiator: "remote", error: { code: "XPPG_ERR_RECEIVE_BUFFER_FULL" } });
    expect(link.calls).toEqual([]);
  });

  it("the high-water mark passed and then the socket gone, both within open: the finished link is not asked to pause, and the frames still reach the sink", async () => {
    const { conn, link } = openWith((controller) => {
      twoFrames(controller);
      controller.closed();
    });
    expect(link.calls).toEqual([]);
    const frames: number[] = [];
    conn.read({ frame: (f) => void frames.push(f.length) });
    expect(await conn.closed).toEqual({ initiator: "remote" });
    expect(frames).toEqual([100, 100]);
    expect(link.calls).toEqual([]);
  });
});
