/**
 * The relay's raw TCP side (INTERNALS.md, "Relay and hole punching"): it
 * reads a new socket's first frame itself, so that a circuit's data
 * connection never becomes a framed `Connection` and can be spliced byte for
 * byte once the circuit is ready. Reservations and dial-backs are handed on
 * as ordinary `Connection`s.
 */

import type { Socket } from "node:net";
import { FRAME_HEADER_SIZE, encodeFrame } from "@xppg/framing";
import { MAX_CONTROL_BYTES, encodeControl, type RelayMessage } from "./relay-wire.js";

/** How long a closed socket may take to flush its last bytes before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** What {@link readFirstFrame} got: the frame, and the bytes that came after it. */
export interface FirstFrame {
  readonly frame: Uint8Array;
  readonly rest: Buffer;
}

/**
 * Reads one frame of at most {@link MAX_CONTROL_BYTES} from `socket`, then
 * pauses it. Resolves `"too-large"` for a frame declared larger (checked
 * before its bytes are read), `"silent"` past `timeoutMs` or on a close.
 */
export function readFirstFrame(socket: Socket, timeoutMs: number): Promise<FirstFrame | "too-large" | "silent"> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    const done = (result: FirstFrame | "too-large" | "silent"): void => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.byteLength === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.byteLength < FRAME_HEADER_SIZE) return;
      const length = buffered.readUInt32BE(0);
      if (length > MAX_CONTROL_BYTES) return done("too-large");
      const end = FRAME_HEADER_SIZE + length;
      if (buffered.byteLength < end) return;
      done({ frame: buffered.subarray(FRAME_HEADER_SIZE, end), rest: buffered.subarray(end) });
    };
    const onClose = (): void => done("silent");
    const timer = setTimeout(() => done("silent"), timeoutMs);
    timer.unref();
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}

/** Sends one control message on a raw socket. */
export function sendOnSocket(socket: Socket, message: RelayMessage): void {
  if (!socket.destroyed) socket.write(encodeFrame(encodeControl(message)));
}

/**
 * Closes a raw socket cleanly: what was written goes first, what arrives is
 * read and dropped (so the close is a FIN, not a reset), and a peer that never
 * closes its side is cut after a grace period.
 */
export function closeSocket(socket: Socket): void {
  if (socket.destroyed) return;
  socket.removeAllListeners("data");
  socket.on("data", () => {});
  socket.resume();
  socket.end();
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}
