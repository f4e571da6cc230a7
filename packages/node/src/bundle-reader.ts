/**
 * Reads a peer's bundles ([u32 length][envelope] repeated, filling a frame)
 * a slice at a time. A frame may carry hundreds of envelopes, each a
 * signature check or a state update; handled in one go, one peer's burst
 * held the event loop while every other peer, and the timers, waited
 * (issue 16: signed-broadcast floods stalled the loop for seconds). So at
 * most `envelopesPerTurn` envelopes of one peer are handled per turn of the
 * event loop; the rest of the frame waits for the next turn, with the
 * connection paused (its transport holds later frames, and stops reading
 * the socket past its high-water mark). In Node the slice of a peer that
 * floods alone, its envelopes cheap, runs on past them while the node's
 * turn has time for it (`LONG_SLICE_MS`).
 */

import { isSignedEnvelope } from "@xppg/framing";
import { BUNDLE_LENGTH_BYTES } from "./outbox.js";
import { LONG_SLICES, PAUSE_STOPS_READS, nextTurn } from "#next-turn";
import { ERROR_TEXTS, now as nowMs, type ErrorText } from "@xppg/errors";

/**
 * Envelopes of one peer handled per turn of the event loop: enough that
 * honest traffic pays one pause per this many small messages, few enough
 * that one peer's turn stays in the milliseconds (1,024 small messages, 32
 * signature checks, or one state update of 1,000 rows). A sender's bundle
 * of small messages is one frame of up to 64 KiB, some 500 envelopes of
 * 100 B: a slice larger than that reads a flood's frames whole, where
 * slices of 128 cut nearly every such frame (each cut a pause, a held
 * remainder and a turn of the loop).
 */
export const ENVELOPES_PER_TURN = 1024;

/**
 * Time a node's turn may spend, all its readers together, on slices run on
 * past their guaranteed `perTurn` envelopes, in ms (Node only: a page's
 * slices are exact). In a flood each slice boundary costs about 8 to 10 us
 * (a held remainder, a pause and resume, one more turn of the loop): a
 * peer that floods alone (see {@link TurnTime}), its envelopes cheap, reads
 * on while the turn has this left, and once it is spent stops at its
 * guaranteed slice. Two or more flooding peers get exact slices, equal
 * shares, after their first turn. A slice that was charged (signature
 * checks, state rows) is not run on.
 */
export const LONG_SLICE_MS = 1;

/** A slice run on past `perTurn` reads the clock every this many envelopes. */
export const ENVELOPES_PER_CLOCK = 64;

/** The most envelopes a slice run on past `perTurn` holds, whatever the clock says. */
export const LONG_SLICE_ENVELOPES = 16384;

/** A signature check (about 0.1 ms of CPU, some 300 small messages) costs this many envelopes more: 32 checks fill a turn. */
export const VERIFICATION_EXTRA_ENVELOPES = 31;

/**
 * Bytes of frames the turn ended by `BundleReader.endTurnAfter` keeps without
 * pausing the peer: past them it is paused, as for any other hold.
 */
export const END_TURN_HELD_BYTES = 64 * 1024;

/**
 * Slices `BundleReader.finish` may read in its one turn when the peer has
 * closed: the peer's last messages reach the handlers, but one closing peer
 * cannot hold the loop for long (a transport may hold its high-water mark,
 * or more, of small envelopes). Past it, envelopes are dropped unread and
 * counted (`sink.unread`); only the last is looked at, for a goodbye.
 */
export const FINISH_SLICES = 4;

// One counter for the whole process, moved on once per turn of the event loop
// by a single `setImmediate`, in the turns where someone asked for it
// (`currentTurn`); in the others it stands still.
let turn = 0;
let turnEnding = false;
const endTurn = (): void => {
  turn++;
  turnEnding = false;
};
/**
 * Envelopes a reader handles after the start of its slice before it asks for
 * the turn's end to be marked (a `setImmediate`, about a microsecond a turn:
 * a ping-pong's every message paid it). Until then it reads the counter
 * without moving it: a counter that stood still makes the reader count the
 * envelopes of several turns as one slice, never fewer than it handled, so a
 * slice still holds at most `perTurn` envelopes of one turn; at worst a busy
 * reader's first slice after a quiet spell is this many shorter.
 */
export const ENVELOPES_BEFORE_TURN_MARK = 64;

/** A number that changes once per turn of the event loop (while anyone asks). */
export function currentTurn(): number {
  if (!turnEnding) {
    turnEnding = true;
    nextTurn(endTurn);
  }
  return turn;
}

/**
 * Signature checks a node makes per turn of the event loop, all peers
 * together: about 1.6 ms of CPU. Each peer's slice holds up to 32; without
 * a cap across peers, six flooding identities made turns of 192 checks,
 * and an honest peer's round trip waited for them (issue 16: p99 over
 * 300 ms). Once a turn has made this many, a peer's next signed envelope
 * waits for the next turn; cheap messages go on being read.
 */
export const CHECKS_PER_TURN = 16;

/**
 * A node's signature checks in the current turn, and its readers waiting
 * for the next turn's. A reader that got no check this turn keeps its
 * place in front of one that did: the checks go round, and one flooder
 * cannot take every turn's.
 */
export class TurnChecks {
  #turn = -1;
  #count = 0;
  /**
   * The node's time this turn for slices run on past their guaranteed
   * envelopes (Node only, made by its first reader: see {@link turnTime}).
   * Declared, not initialised: a page's build carries none of it.
   */
  declare time?: TurnTime;
  #starved: BundleReader[] = [];
  #served: BundleReader[] = [];
  #scheduled = false;
  readonly #serve = (): void => {
    this.#scheduled = false;
    const queue = this.#starved.concat(this.#served);
    this.#starved = [];
    this.#served = [];
    for (const reader of queue) reader.retry();
  };

  count(now: number): void {
    if (now !== this.#turn) {
      this.#turn = now;
      this.#count = 0;
    }
    this.#count++;
  }

  spent(now: number): boolean {
    return this.#turn === now && this.#count >= CHECKS_PER_TURN;
  }

  /** `reader` waits for the next turn's checks. */
  enqueue(reader: BundleReader, served: boolean): void {
    (served ? this.#served : this.#starved).push(reader);
    if (!this.#scheduled) {
      this.#scheduled = true;
      nextTurn(this.#serve);
    }
  }
}

/**
 * A node's time in one turn for slices run on past their guaranteed
 * envelopes, all its readers together, and which of its readers used up
 * their guaranteed slice (Node only: a page's slices are exact). A slice
 * runs on only for a peer that floods alone: where, in the last turn in
 * which any reader of the node used up its slice (or was held with data
 * left, for the node's next signature checks or a deferred envelope), that
 * reader was the only one. Two or more flooding peers then get exact
 * slices, equal shares, as in a page; one flooding peer among light ones
 * gets the turn's time. A turn is `currentTurn`'s, moved in the check
 * phase: frames read in the next loop iteration's timers and poll phases
 * spend the turn before, so up to about 2 * `LONG_SLICE_MS` of run-on can
 * fall between two timers phases.
 */
export class TurnTime {
  #turn = -1;
  #ms = 0;
  readonly #budgetMs: number;
  /** The turn whose saturated readers `#saturated` counts (-1: none yet). */
  #saturatedIn = -1;
  /** Readers that used up their guaranteed slice, or were held, with data left in turn `#saturatedIn`. */
  #saturated = 0;
  /** The one of them, while there is just one. */
  #alone: object | undefined;
  /** The same, of the turn before `#saturatedIn` that had any (0 and none: no such turn). */
  #lastSaturated = 0;
  #lastAlone: object | undefined;

  /** `budgetMs`: the turn's time for slices run on ({@link LONG_SLICE_MS}; 0: exact slices). */
  constructor(budgetMs = LONG_SLICE_MS) {
    this.#budgetMs = budgetMs;
  }

  /** `ms` more of turn `now` went to a slice run on past its guaranteed envelopes. */
  spend(now: number, ms: number): void {
    if (now !== this.#turn) {
      this.#turn = now;
      this.#ms = 0;
    }
    this.#ms += ms;
  }

  /** True while turn `now` has time left for slices run on. */
  left(now: number): boolean {
    return (now === this.#turn ? this.#ms : 0) < this.#budgetMs;
  }

  /**
   * `reader` used up its guaranteed slice in turn `now`, or was held, with
   * data left (once a turn): true when it may run on, that is when in the
   * last earlier turn in which readers of the node did so it was the only
   * one (or there was no such turn).
   */
  saturated(now: number, reader: object): boolean {
    if (now !== this.#saturatedIn) {
      if (this.#saturated > 0) {
        this.#lastSaturated = this.#saturated;
        this.#lastAlone = this.#alone;
      }
      this.#saturatedIn = now;
      this.#saturated = 0;
      this.#alone = undefined;
    }
    this.#alone = this.#saturated++ === 0 ? reader : undefined;
    return this.#lastSaturated === 0 || (this.#lastSaturated === 1 && this.#lastAlone === reader);
  }
}

/** The node's {@link TurnTime}, shared by its readers (made with {@link LONG_SLICE_MS} on first use). */
export function turnTime(checks: TurnChecks): TurnTime {
  return (checks.time ??= new TurnTime());
}

/**
 * A reader's slice of this turn as the clock may run it on (Node only):
 * where it next decides, what its charges were, and its clock.
 */
class LongSlice {
  /** `used` at which the slice next decides whether to go on: `perTurn`, then every {@link ENVELOPES_PER_CLOCK} while run on. */
  limit = 0;
  /** Envelopes this turn's charges added: a charged slice is not run on past `perTurn`. */
  charged = 0;
  /** `used` when this turn's slice was first run on past `perTurn` (-1: it was not). */
  from = -1;
  /** This turn's slice used up `perTurn` with data left (told to the node's turn time once), and whether it may run on. */
  #saturated = false;
  #mayRunOn = false;
  /** `nowMs()` at the last clock read of a slice being run on (-1: no clock running). */
  #clockAt = -1;
  readonly #time: TurnTime;

  constructor(time: TurnTime) {
    this.#time = time;
  }

  /** A new turn's slice. */
  start(perTurn: number): void {
    this.limit = perTurn;
    this.charged = 0;
    this.from = -1;
    this.#saturated = false;
    // A slice that ended in a throw (a handler's, through the sink) may have left its clock running.
    this.#clockAt = -1;
  }

  /** This turn's slice was charged `envelopes` more: a slice being run on ends at `used`, before its next envelope. */
  charge(envelopes: number, used: number): void {
    this.charged += envelopes;
    if (this.from >= 0) this.limit = used;
  }

  /**
   * At the end of the guaranteed slice, then every {@link ENVELOPES_PER_CLOCK}
   * envelopes: true when the slice goes on (it was not charged, it holds
   * under {@link LONG_SLICE_ENVELOPES}, its reader was the node's only one to
   * use up its slice in the last turn that had any (see {@link TurnTime}),
   * the node's signature checks of the turn are not spent, and the node's
   * turn has time left for slices run on). The time since
   * the last clock read is the turn's.
   */
  lengthen(now: number, used: number, checksSpent: boolean): boolean {
    const time = this.#time;
    this.held(now);
    let at = -1;
    if (this.#clockAt >= 0) {
      at = nowMs();
      time.spend(now, at - this.#clockAt);
      this.#clockAt = -1;
    }
    if (!this.#mayRunOn || checksSpent || this.charged > 0 || used >= LONG_SLICE_ENVELOPES || !time.left(now)) return false;
    if (this.from < 0) this.from = used;
    this.#clockAt = at >= 0 ? at : nowMs();
    this.limit = Math.min(used + ENVELOPES_PER_CLOCK, LONG_SLICE_ENVELOPES);
    return true;
  }

  /**
   * This turn's slice stopped with data left (its slice used up, or held
   * for the node's next checks or for a deferred envelope): told to the
   * node's turn time once a turn, as a flooding peer (see {@link TurnTime}).
   */
  held(now: number): void {
    if (!this.#saturated) {
      this.#saturated = true;
      this.#mayRunOn = this.#time.saturated(now, this);
    }
  }

  /** Reading stopped (the frame ended, or a hold): the turn pays for the time the slice ran on; a later frame in the same turn starts the clock again at once. */
  stop(now: number, used: number): void {
    if (this.#clockAt >= 0) {
      this.#time.spend(now, nowMs() - this.#clockAt);
      this.#clockAt = -1;
      this.limit = used;
    }
  }

  /** What `finish` counts as read this turn: all but the envelopes the clock added (their charges count). */
  used(used: number): number {
    return this.from < 0 ? used : this.from + this.charged;
  }
}

/**
 * Rows of a state update that cost as much as one envelope (a row costs
 * about 5 us to check and apply): a 1,000-row update takes about a whole turn.
 */
export const STATE_ROWS_PER_ENVELOPE = 1;

/** What the reader hands each envelope to, and how it holds the peer back. */
export interface BundleSink {
  /** One envelope, `data[start, end)`. Returns false when reading must stop (the session closed). */
  envelope(data: Uint8Array, start: number, end: number): boolean;
  /** The bundle is malformed: the session closes. */
  violation(what: ErrorText): void;
  /**
   * Hold the peer's next frames until `resume`: one hold among the
   * connection's others (`PeerSession.holdConnection`), which the reader
   * takes at most once and releases once.
   */
  pause(): void;
  resume(): void;
  /** True once the session closed: a held slice is dropped. */
  isClosed(): boolean;
  /** A signed envelope left unread (a broadcast dropped unchecked) by `finish` once the turn's checks are spent. */
  unchecked?(): void;
  /** `count` envelopes dropped unread by `finish`: past its budget, behind a deferred envelope, or held by another hold. */
  unread?(count: number): void;
}

export class BundleReader {
  readonly #sink: BundleSink;
  readonly #perTurn: number;
  /** `ENVELOPES_BEFORE_TURN_MARK`, or `perTurn` when that is smaller. */
  readonly #markAfter: number;
  #turn = -1;
  #used = 0;
  /** This turn's slice as the clock may run it on (Node only; declared, not initialised: a page's build has none). */
  declare private long: LongSlice;
  /** Frames (and the offset into the first) waiting for the next turn. */
  #held: Uint8Array[] = [];
  #heldAt = 0;
  #waiting = false;
  /** True while this reader holds the peer back (`sink.pause` called, `sink.resume` not yet): one hold, taken once. */
  #pausing = false;
  readonly #continue = (): void => this.#next();
  readonly #checks: TurnChecks;
  /** Set while an envelope is handled: reading waits for it (see `deferUntil`). */
  #deferred: Promise<unknown> | undefined;
  /** True while reading waits for an envelope's work (`deferUntil`), not for a turn. */
  #awaiting = false;
  /** Set by `endTurnAfter` while an envelope is handled: reading stops after it, until the turn it asked for. */
  #endingTurn = false;
  /** Bytes of the frames delivered while the turn `endTurnAfter` ended is held without a pause (once a session: never reset). */
  #endTurnHeld = 0;
  /** True while `finish` reads: no turn's slice; its own budget (`#finishLeft`) instead. */
  #finishing = false;
  /** Envelopes `finish` may still read (and charges it may still take) in its turn. */
  #finishLeft = 0;
  /** The turn in which this reader's envelopes last cost a signature check. */
  #checkedIn = -1;

  /** `checks`: the node's signature checks this turn, shared by its sessions' readers (a reader of its own without). */
  constructor(sink: BundleSink, perTurn = ENVELOPES_PER_TURN, checks = new TurnChecks()) {
    this.#sink = sink;
    this.#checks = checks;
    this.#perTurn = Math.max(1, Math.floor(perTurn));
    this.#markAfter = Math.min(ENVELOPES_BEFORE_TURN_MARK, this.#perTurn);
    if (LONG_SLICES) this.long = new LongSlice(turnTime(checks));
  }

  /**
   * Counts extra work done for the envelope being handled (a state update's
   * rows, a signature check's cost), in envelopes: it comes out of this
   * turn's slice. `check`: it was a signature check, which also counts
   * against the node's {@link CHECKS_PER_TURN}.
   */
  charge(envelopes: number, check = false): void {
    if (envelopes > 0) {
      this.#used += envelopes;
      if (LONG_SLICES) this.long.charge(envelopes, this.#used);
      if (this.#finishing) this.#finishLeft -= envelopes;
    }
    if (check) {
      const now = currentTurn();
      this.#checks.count(now);
      this.#checkedIn = now;
    }
  }

  /** One frame of the peer's. */
  read(data: Uint8Array): void {
    // A frame delivered while a slice waits (a transport that cannot pause at once) keeps its place in line.
    if (this.#waiting) {
      this.#held.push(data);
      // Only the turn ended by `endTurnAfter` holds without a pause: past its bytes the peer is paused as for any other hold (Node only).
      if (PAUSE_STOPS_READS && !this.#pausing && (this.#endTurnHeld += data.length) > END_TURN_HELD_BYTES) {
        this.#pausing = true;
        this.#sink.pause();
      }
    } else {
      this.#read(data, 0);
      if (LONG_SLICES) this.long.stop(this.#turn, this.#used);
    }
  }

  /** True while part of the peer's data waits here for a later turn (the peer is not silent: this node is not reading it yet). */
  get holding(): boolean {
    return this.#waiting;
  }

  /** True while this reader holds the peer back (one of the session's read holds is its own). */
  get holdsPeer(): boolean {
    return this.#pausing;
  }

  /** Reads on after waiting for the turn's checks. */
  retry(): void {
    this.#next();
  }

  /**
   * The connection closed (the sink's `close`, after the peer's last frame):
   * reads what waits here now, in order, since the peer sent it before it
   * closed and no later turn will come for it, within a budget of
   * {@link FINISH_SLICES} turn's slices (envelopes and their charges; what
   * the clock let this turn's slice run on past `perTurn` is forgiven, its
   * charges are not). The
   * node's signature checks per turn stay capped: a signed envelope past the
   * cap is dropped unchecked (`sink.unchecked`), as a broadcast over the
   * verification budget is. What is left then (past the budget, behind an
   * envelope whose work goes on over later turns (`deferUntil`), or all of
   * it when `othersHold`: the session's reading is held by something other
   * than this reader, the disk or a congested next hop) is walked by length
   * only, not decoded: each envelope but the last is counted
   * (`sink.unread`), and the last is returned (the session looks at it for
   * a goodbye, and counts it unless it is one). A malformed envelope ends
   * the walk and nothing is returned: a goodbye past it is not taken, as
   * reading in order would have met the violation first.
   */
  finish(othersHold = false): Uint8Array | undefined {
    if (this.#waiting && !this.#awaiting && !othersHold) {
      this.#finishing = true;
      // What this reader already read in this turn counts against the budget, but
      // for the envelopes the clock let it read past its guaranteed slice (their charges count).
      this.#finishLeft = FINISH_SLICES * this.#perTurn - (this.#turn === turn ? (LONG_SLICES ? this.long.used(this.#used) : this.#used) : 0);
      try {
        this.#next();
      } finally {
        this.#finishing = false;
      }
    }
    if (this.#held.length === 0) return undefined;
    const held = this.#held;
    let pos = this.#heldAt;
    this.#held = [];
    this.#heldAt = 0;
    // Walks the lengths only: no envelope is decoded here.
    let last: Uint8Array | undefined;
    let count = 0;
    let malformed = false;
    walk: for (const data of held) {
      while (pos < data.length) {
        const length = data.length - pos < BUNDLE_LENGTH_BYTES ? 0 : envelopeLengthAt(data, pos);
        const start = pos + BUNDLE_LENGTH_BYTES;
        if (length === 0 || length > data.length - start) {
          malformed = true;
          break walk;
        }
        pos = start + length;
        last = data.subarray(start, pos);
        count++;
      }
      pos = 0;
    }
    if (malformed) {
      // Read in order, the peer broke a rule before any later goodbye: none is
      // taken from past it, and the end is the plain one of a peer gone.
      if (count > 0) this.#sink.unread?.(count);
      return undefined;
    }
    if (count > 1) this.#sink.unread?.(count - 1);
    return last;
  }

  #next(): void {
    this.#waiting = false;
    this.#awaiting = false;
    while (this.#held.length > 0) {
      if (this.#sink.isClosed()) {
        this.#held = [];
        return;
      }
      const data = this.#held.shift()!;
      const at = this.#heldAt;
      this.#heldAt = 0;
      this.#read(data, at);
      if (LONG_SLICES) this.long.stop(this.#turn, this.#used);
      if (this.#waiting) return;
    }
    if (this.#pausing && !this.#sink.isClosed()) {
      this.#pausing = false;
      this.#sink.resume();
    }
  }

  #read(data: Uint8Array, from: number): void {
    const sink = this.#sink;
    const end = data.length;
    let pos = from;
    while (pos < end) {
      // Read, not asked for: see ENVELOPES_BEFORE_TURN_MARK.
      const now = turn;
      if (now !== this.#turn) {
        this.#turn = now;
        this.#used = 0;
        if (LONG_SLICES) this.long.start(this.#perTurn);
      } else if (this.#used >= this.#markAfter) {
        // A busy reader: this turn's end must move the counter (idempotent within a turn).
        currentTurn();
        if (this.#used >= (LONG_SLICES ? this.long.limit : this.#perTurn) && !this.#finishing && !(LONG_SLICES && this.long.lengthen(now, this.#used, this.#checks.spent(now)))) {
          this.#wait(data, pos);
          return;
        }
      }
      if (end - pos < BUNDLE_LENGTH_BYTES) {
        sink.violation(ERROR_TEXTS ? "a bundle ends inside an envelope length" : []);
        return;
      }
      const length = envelopeLengthAt(data, pos);
      const start = pos + BUNDLE_LENGTH_BYTES;
      if (length === 0 || length > end - start) {
        sink.violation(ERROR_TEXTS ? `a bundle declares an envelope of ${length} bytes where ${end - start} remain` : [length, end - start]);
        return;
      }
      if (this.#finishing && this.#finishLeft <= 0) {
        // `finish`'s budget is spent: the rest is walked, not read (see `finish`).
        this.#hold(data, pos);
        return;
      }
      if (this.#checks.spent(now) && isSignedEnvelope(data, start, start + length)) {
        if (this.#finishing) {
          // No later turn comes: rather than check past the node's cap in this one, drop it unchecked, as over budget.
          pos = start + length;
          sink.unchecked?.();
          continue;
        }
        // This turn's signature checks are spent: a signed envelope waits (peeked at, not decoded).
        this.#hold(data, pos);
        this.#checks.enqueue(this, this.#checkedIn === now);
        if (LONG_SLICES) this.long.held(now);
        return;
      }
      pos = start + length;
      this.#used++;
      if (this.#finishing) this.#finishLeft--;
      // The session closed: an `endTurnAfter` of this envelope leaves its flag set, harmless, as this reader is never read again.
      if (!sink.envelope(data, start, pos)) return;
      if (this.#endingTurn) {
        this.#endingTurn = false;
        // The rest of this frame, and the frames delivered after it, wait for the turn `endTurnAfter` asked for,
        // without a pause unless those frames pass END_TURN_HELD_BYTES (see `read`).
        this.#hold(data, pos, false);
        return;
      }
      const deferred = this.#deferred;
      if (deferred !== undefined) {
        this.#deferred = undefined;
        this.#hold(data, pos);
        this.#awaiting = true;
        // Data left: the rest of this frame, or frames already waiting here (frames the transport still holds are not seen).
        if (LONG_SLICES && (pos < end || this.#held.length > 1)) this.long.held(now);
        void deferred.then(this.#continue, this.#continue);
        return;
      }
    }
  }

  /**
   * Reading stops after the envelope being handled until `until` settles:
   * work for that envelope goes on over later turns, and the peer's next
   * envelopes wait for it, in order.
   */
  deferUntil(until: Promise<unknown>): void {
    this.#deferred = until;
  }

  /**
   * Reading stops after the envelope being handled, until the next turn of
   * the event loop: the rest of its frame and the peer's next frames, even
   * those already read from the socket, wait for it, in order. The turn is
   * asked for now, so they are read before work the envelope's handler
   * queues for a later turn. What the envelope settled (a join waiting on
   * the welcome) goes on first, in the promise jobs that run before any
   * turn. Nothing changes while `finish` reads: no later turn comes then.
   * The peer is not held back for that one turn (no `pause`): early in a
   * connection the TCP receive window bounds what it brings meanwhile, but
   * nothing else does (libuv reads the socket up to 32 times a poll), so
   * once the frames delivered meanwhile pass {@link END_TURN_HELD_BYTES} the
   * peer is paused as for any other hold (in Node; a page's WebSocket
   * queues what the network brings, paused or not). Called once a session
   * (the dialler's welcome).
   */
  endTurnAfter(): void {
    if (this.#finishing) return;
    this.#endingTurn = true;
    nextTurn(this.#continue);
  }

  #wait(data: Uint8Array, pos: number): void {
    this.#hold(data, pos);
    nextTurn(this.#continue);
  }

  /** Keeps the rest of the frame from `pos` and holds the peer's next frames back (`pause`: the connection too). */
  #hold(data: Uint8Array, pos: number, pause = true): void {
    this.#waiting = true;
    this.#held.unshift(data);
    this.#heldAt = pos;
    if (pause && !this.#pausing) {
      this.#pausing = true;
      this.#sink.pause();
    }
  }
}

/** The length an envelope's 4-byte prefix at `pos` declares (big-endian); the caller checks that 4 bytes remain. */
function envelopeLengthAt(data: Uint8Array, pos: number): number {
  return ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0;
}
