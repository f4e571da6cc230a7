import type { XppgError } from "@xppg/errors";
import type { Connection, Transport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import type { Identity } from "@xppg/secure";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { RawPeer, track } from "./helpers.js";

/** A started node on real TCP on 127.0.0.1 (any free port), stopped after the test (with `stopNodesAfterEach`). */
export async function tcpNode(options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground("test-app", { host: "127.0.0.1", port: 0, ...options }));
  await pg.start();
  return pg;
}

/** A hand-driven peer over real TCP that completed the secure handshake and the hello (unless told not to). */
export async function tcpRawPeer(target: Playground, options: { hello?: boolean; identity?: Identity } = {}): Promise<RawPeer> {
  const raw = await RawPeer.dial(tcpTransport(), `tcp://127.0.0.1:${target.port}`, options.identity);
  if (options.hello !== false) await raw.hello();
  return raw;
}

/** Every `error` event of a node, in order. */
export function errorsOf(pg: Playground): XppgError[] {
  const errors: XppgError[] = [];
  pg.events.on("error", (e) => void errors.push(e));
  return errors;
}

/** Every `peer:left` event of a node: who left and why. */
export function leftOf(pg: Playground): { peerId: string; code: string | undefined }[] {
  const left: { peerId: string; code: string | undefined }[] = [];
  pg.events.on("peer:left", (peer, reason) => void left.push({ peerId: peer.peerId, code: reason?.code }));
  return left;
}

/**
 * Real TCP, but `fail()` makes the dialled connection's next write (`send`,
 * `sendParts` or `sendLent`) throw a plain error (a transport breaking its
 * contract, or a failure below the secure channel, met while sealing and
 * writing a record), `failLend()` its next `lendRoom`, and `failClose()` its
 * `close` throw or reject one after closing: what the node does with the
 * failure is under test, not the transport. With `lending: false` the
 * connection lends no room (as a WebSocket): a plaintext node sends it copies.
 */
export function throwingTransport(options: Parameters<typeof tcpTransport>[0] = {}, { lending = true }: { lending?: boolean } = {}) {
  const inner = tcpTransport(options);
  let armed = false;
  let lendArmed = false;
  let conn: Connection | undefined;
  let closeFails: "throw" | "reject" | undefined;
  const trap = (c: Connection): Connection => {
    const send = c.send.bind(c);
    const sendParts = c.sendParts.bind(c);
    const close = c.close.bind(c);
    const trip = (): void => {
      if (!armed) return;
      armed = false;
      throw new Error("injected write failure");
    };
    c.send = (frame) => (trip(), send(frame));
    c.sendParts = (parts) => (trip(), sendParts(parts));
    if (!lending) {
      c.lendRoom = undefined;
      c.sendLent = undefined;
    } else if (c.lendRoom !== undefined && c.sendLent !== undefined) {
      const lendRoom = c.lendRoom.bind(c);
      const sendLent = c.sendLent.bind(c);
      c.lendRoom = (min, max) => {
        if (lendArmed) {
          lendArmed = false;
          throw new Error("injected lendRoom failure");
        }
        return lendRoom(min, max);
      };
      c.sendLent = (length) => (trip(), sendLent(length));
    }
    // The connection still closes (so the test ends cleanly); the caller is told it failed.
    c.close = (error) => {
      const closing = close(error);
      if (closeFails === "throw") throw new Error("injected close failure");
      return closeFails === "reject" ? closing.then(() => Promise.reject(new Error("injected close failure"))) : closing;
    };
    return (conn = c);
  };
  const transport = Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => trap(await inner.dial(address, o)),
  });
  return {
    transport,
    fail: () => void (armed = true),
    /** The connection's next `lendRoom` throws a plain error. */
    failLend: () => void (lendArmed = true),
    /** From now on, `close` closes the connection but then throws (or returns a rejected promise). */
    failClose: (how: "throw" | "reject") => void (closeFails = how),
    connection: () => conn!,
  };
}

/**
 * Real TCP whose connections (dialled and accepted) can be made to stop
 * writing: after `stall()` each frame is kept, in order, its send pending,
 * as on a link whose other end reads nothing; `release()` writes them and
 * settles their sends; a connection that closes meanwhile rejects them as
 * its transport does. `heldBytes` is what waits: the link's state, read
 * instead of guessed from how long a send takes. No loans (a lent frame
 * could not be kept).
 */
export function stallingTransport() {
  const inner = tcpTransport();
  let stalled = false;
  let heldBytes = 0;
  const held: { write: () => Promise<void>; bytes: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  const flush = (): void => {
    for (const h of held.splice(0)) {
      heldBytes -= h.bytes;
      h.write().then(h.resolve, h.reject);
    }
  };
  const trap = (c: Connection): Connection => {
    const send = c.send.bind(c);
    const sendParts = c.sendParts.bind(c);
    c.lendRoom = undefined;
    c.sendLent = undefined;
    const hold = (write: () => Promise<void>, bytes: number): Promise<void> => {
      if (!stalled || c.isClosed) return write();
      heldBytes += bytes;
      return new Promise<void>((resolve, reject) => held.push({ write, bytes, resolve, reject }));
    };
    c.send = (frame) => {
      const copy = frame.slice();
      return hold(() => send(copy), copy.byteLength);
    };
    c.sendParts = (parts) => hold(() => sendParts(parts), parts.reduce((n, p) => n + p.byteLength, 0));
    void c.closed.then(flush);
    return c;
  };
  const transport = Object.assign(Object.create(inner) as Transport, {
    dial: async (address: string, o?: Parameters<Transport["dial"]>[1]) => trap(await inner.dial(address, o)),
    listen: (address: string, onConnection: (c: Connection) => void, o?: Parameters<Transport["listen"]>[2]) => inner.listen(address, (c) => onConnection(trap(c)), o),
  });
  return {
    transport,
    stall: () => void (stalled = true),
    release: () => {
      stalled = false;
      flush();
    },
    get heldBytes() {
      return heldBytes;
    },
  };
}
