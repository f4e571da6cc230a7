/**
 * A relayed circuit as a {@link Connection}, which can move to a direct path
 * (a punched TCP connection) without a frame lost or reordered: each side
 * sends a switch mark on the relayed path and then only uses the direct one;
 * each side reads the relayed path up to the other's mark, then the direct
 * one. The secure channel above runs end to end over either path.
 */

import type { XppgError } from "@xppg/errors";
import type { CloseInfo, Connection } from "@xppg/transport";
import { ConnectionCore, closeGuarded, protocolError, type ConnectionLink, type LinkController } from "@xppg/transport/adapter";
import type { FrameTap } from "./frame-tap.js";
import { TAG_DATA, TAG_SWITCH } from "./relay-wire.js";

/** Which path a circuit's frames take now. */
export type CircuitPath = "relayed" | "punched";

/** Bytes the direct path may deliver before the peer's switch mark arrives on the relayed one. */
export const MAX_EARLY_DIRECT_BYTES = 4 * 1024 * 1024;

/** What a circuit needs besides its relayed connection. */
export interface CircuitOptions {
  readonly outbound: boolean;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly remoteHost: string;
  readonly maxFrameSize: number;
  readonly highWaterMark: number;
  /** A secret both ends and the relay share: the first frame on the direct path must be it. */
  readonly token: Uint8Array;
  /**
   * Called at most once, after {@link CircuitConnection.upgrade}: `"punched"` when both
   * directions moved (this end sent its switch mark and read the other's), so the relay
   * carries nothing more of this circuit; or `"relayed"`, with the reason, when the circuit
   * closed before that (it needed the relay to the end). The relay transport's own
   * "relayed" reports (its punch failed) go through the circuit too: one event in all.
   */
  readonly onPath?: (path: CircuitPath, reason?: string) => void;
  /**
   * Where a throw from `onPath` goes, and the broken close (`XPPG_ERR_TRANSPORT_CONTRACT`:
   * its `close` threw or rejected) of a connection the circuit drops while it stays open
   * (a second `upgrade`'s, the relayed path once punched). The circuit carries on. @default ignored
   */
  readonly onListenerError?: (error: unknown) => void;
}

const SWITCH_MARK = new Uint8Array([TAG_SWITCH]);
const DATA_TAG = new Uint8Array([TAG_DATA]);
/** Below this size a frame goes out as parts, copied by the TCP link (its by-reference threshold is 16 KiB). */
const SEND_PARTS_BELOW = 16 * 1024;

class CircuitLink implements ConnectionLink {
  readonly #relay: FrameTap;
  readonly #c: LinkController;
  readonly #token: Uint8Array;
  readonly #onPath: ((path: CircuitPath, reason?: string) => void) | undefined;
  readonly #onListenerError: ((error: unknown) => void) | undefined;
  /** An onPath event went out (or is queued): there is only one. */
  #reported = false;
  /** upgrade() was called (even on a closing circuit, which refuses the direct path): report on close. */
  #upgradeCalled = false;
  /** What ended the circuit first, for the "relayed" reason. */
  #closeCause: string | undefined;
  #direct: Connection | undefined;
  #directAuthed = false;
  #sendDirect = false;
  #recvSwitched = false;
  #early: Uint8Array[] = [];
  #earlyBytes = 0;
  #closing = false;

  constructor(relay: FrameTap, controller: LinkController, token: Uint8Array, onPath: CircuitOptions["onPath"], onListenerError: CircuitOptions["onListenerError"]) {
    this.#relay = relay;
    this.#c = controller;
    this.#token = token;
    this.#onPath = onPath;
    this.#onListenerError = onListenerError;
    relay.take(
      (frame) => this.#fromRelay(frame),
      (info) => this.#relayClosed(info),
    );
  }

  get path(): CircuitPath {
    return this.#sendDirect && this.#recvSwitched ? "punched" : "relayed";
  }

  send(frame: Uint8Array, length: number): Promise<void> {
    if (this.#sendDirect) return this.#direct!.send(frame);
    // Small frames: the TCP link copies parts into its batch. Large ones it may keep by
    // reference, and the caller may reuse its buffer once send returns: copy those here.
    // `length`: the core's reading by the language's getter (the frame's own `byteLength` may lie).
    if (length < SEND_PARTS_BELOW) return this.#relay.connection.sendParts([DATA_TAG, frame]);
    const tagged = new Uint8Array(length + 1);
    tagged[0] = TAG_DATA;
    tagged.set(frame, 1);
    return this.#relay.connection.send(tagged);
  }

  pauseReading(): void {
    this.#relay.connection.pause();
    this.#direct?.pause();
  }

  resumeReading(): void {
    this.#relay.connection.resume();
    this.#direct?.resume();
  }

  end(): void {
    this.#shutdown(undefined, "local", "the circuit was closed on this end");
  }

  abort(error: XppgError, byPeer: boolean): void {
    this.#shutdown(error, "local", byPeer ? "the other end broke the circuit's protocol" : "the circuit was closed on this end");
  }

  destroy(): void {
    this.#closeCause ??= "the circuit was destroyed on this end";
    this.#c.closed(undefined, "local");
  }

  /** The circuit closed: a circuit that was upgraded and never reported "punched" is reported "relayed". */
  closedWith(info: CloseInfo): void {
    if (!this.#upgradeCalled) return;
    // Every close goes through end, abort, destroy or a path's close, which set the cause.
    const cause = this.#closeCause ?? "the circuit closed";
    this.report("relayed", `${cause}${info.error === undefined ? "" : ` (${info.error.code})`} before both directions moved to the direct path`);
  }

  /** The circuit's one onPath event: later ones (a transport's punch settling after a manual upgrade, or the reverse) are dropped. */
  report(path: CircuitPath, reason?: string): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#call(path, reason);
  }

  /** Calls onPath; a throw goes to onListenerError (the circuit carries on). */
  #call(path: CircuitPath, reason?: string): void {
    const onPath = this.#onPath;
    if (onPath === undefined) return;
    try {
      onPath(path, reason);
    } catch (error) {
      this.#onListenerError?.(error);
    }
  }

  /** Moves to `direct`, a connection to the same peer (both ends call it with their side of one TCP connection). */
  upgrade(direct: Connection): void {
    this.#upgradeCalled = true;
    if (this.#direct !== undefined || this.#closing) {
      void this.#dropConnection(direct);
      return;
    }
    this.#direct = direct;
    direct.read({ frame: (f) => this.#fromDirect(f), close: (info) => this.#directClosed(info) });
    direct.send(this.#token).catch(() => {});
    this.#relay.connection.send(SWITCH_MARK).catch(() => {});
    this.#sendDirect = true;
    this.#dropRelayWhenDone();
  }

  /** Both directions on the direct path: the relayed one carries nothing more, free the relay's slot. */
  #dropRelayWhenDone(): void {
    if (!this.#sendDirect || !this.#recvSwitched) return;
    void this.#dropConnection(this.#relay.connection);
    // On a microtask of its own: the caller's code never runs inside this link's frame handler.
    // A circuit its app closed meanwhile (on a frame handed over just now) is reported on close.
    if (this.#closing || this.#reported) return;
    this.#reported = true;
    queueMicrotask(() => this.#call("punched"));
  }

  #fromRelay(frame: Uint8Array): void {
    const tag = frame[0];
    if (tag === TAG_DATA && !this.#recvSwitched) {
      this.#c.frame(frame.subarray(1));
    } else if (tag === TAG_SWITCH && !this.#recvSwitched && frame.byteLength === 1) {
      this.#recvSwitched = true;
      const early = this.#early;
      this.#early = [];
      this.#earlyBytes = 0;
      for (const f of early) this.#c.frame(f);
      this.#dropRelayWhenDone();
    } else {
      this.#c.fail(protocolError(this.#relay.connection.remoteAddress, "a relayed frame with a bad tag, or data after the switch mark"));
    }
  }

  #fromDirect(frame: Uint8Array): void {
    if (!this.#directAuthed) {
      if (!sameBytes(frame, this.#token)) {
        this.#c.fail(protocolError(this.#direct!.remoteAddress, "the direct path did not open with the circuit's token"));
        return;
      }
      this.#directAuthed = true;
      return;
    }
    if (this.#recvSwitched) {
      this.#c.frame(frame);
      return;
    }
    this.#earlyBytes += frame.byteLength;
    if (this.#earlyBytes > MAX_EARLY_DIRECT_BYTES) {
      this.#c.fail(protocolError(this.#direct!.remoteAddress, "too much data on the direct path before the switch mark"));
      return;
    }
    this.#early.push(frame.slice());
  }

  #relayClosed(info: CloseInfo): void {
    // Once both directions use the direct path, the relay may go (a relay restart, a limit).
    if (this.#sendDirect && this.#recvSwitched) return;
    this.#shutdown(info.error, info.initiator === "local" ? "local" : "remote", "the relay connection closed");
  }

  #directClosed(info: CloseInfo): void {
    this.#shutdown(info.error, info.initiator === "local" ? "local" : "remote", "the direct connection closed");
  }

  #shutdown(error: XppgError | undefined, initiator: "local" | "remote", cause: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeCause ??= cause;
    if (initiator === "remote") {
      if (error !== undefined) this.#c.error(error);
      this.#c.ended();
    }
    const paths = [this.#relay.connection, ...(this.#direct === undefined ? [] : [this.#direct])];
    // The circuit is closed once its paths' closes settled, a broken one's too (else it would never close).
    void Promise.all(paths.map((p) => this.#closePath(p, initiator === "local" ? error : undefined))).then(() => this.#c.closed(error, initiator));
  }

  /**
   * Closes a path of a closing circuit. A direct one is the caller's
   * connection (`upgrade`), whose `close` may throw or reject (a broken
   * contract): that is the circuit's error (`XPPG_ERR_TRANSPORT_CONTRACT`,
   * which its `closed` reports unless an earlier error does), never thrown
   * into the caller nor left an unhandled rejection. Resolves once the close
   * settled.
   */
  #closePath(path: Connection, error?: XppgError): Promise<void> {
    return closeGuarded(path, error, (broken) => this.#c.error(broken));
  }

  /**
   * Closes a connection the circuit gives up while it goes on or after it
   * closed (a second `upgrade`'s, the relayed path once punched): it is no
   * path of the circuit, so its broken close goes to `onListenerError`, never
   * to the circuit's own error (which would end it as the peer's doing, or
   * be dropped by a closed one).
   */
  #dropConnection(connection: Connection): Promise<void> {
    return closeGuarded(connection, undefined, (broken) => this.#onListenerError?.(broken));
  }
}

/** A relayed circuit: a {@link Connection} with a {@link CircuitConnection.path} and an upgrade to a direct path. */
export class CircuitConnection extends ConnectionCore {
  readonly #link: CircuitLink;

  constructor(relay: FrameTap, options: CircuitOptions) {
    let link: CircuitLink | undefined;
    super({ ...options, transport: "relay" }, (controller) => (link = new CircuitLink(relay, controller, options.token, options.onPath, options.onListenerError)));
    this.#link = link!;
    void this.closed.then((info) => link!.closedWith(info));
  }

  /** `"relayed"` until both directions moved to a punched direct connection. */
  get path(): CircuitPath {
    return this.#link.path;
  }

  /**
   * Moves the circuit to `direct` (a connection to the same peer); see the file comment.
   * Then `onPath` (of the options) says `"punched"` once both directions moved, or
   * `"relayed"` with the reason if the circuit closes first.
   */
  upgrade(direct: Connection): void {
    this.#link.upgrade(direct);
  }

  /** @internal The relay transport's own report ("relayed": its punch failed, or the circuit closed first); dropped if the circuit already reported. */
  reportRelayed(reason: string): void {
    this.#link.report("relayed", reason);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
