/**
 * Whether a reset on a routed channel loses anything (`routing-room.ts`;
 * INTERNALS.md, "Routed unicast"): weighed from the other end's end of
 * stream, its count of this end's records, and the sends still waiting.
 * Imported only by the routing room: a page loads it with the room's chunk.
 */

import { ERROR_TEXTS, type XppgError } from "@xppg/errors";
import { unconfirmedRecords } from "@xppg/secure";
import type { Channel } from "./routed-channels.js";
import { unreachableError } from "./routing-basics.js";

/**
 * A reset on `channel` (the other end's, a hop's): the error it is lost
 * with, or undefined when nothing was. Only after the other end's end of
 * stream, and only when that end counted every record this end sent
 * (none went after it) and no send still waits: that end had everything
 * and left (as at its stop: a hop with no way to it resets the answer).
 * So a send that crossed the other end's end of stream, or that waited
 * behind a stalled link, is reported.
 *
 * An end of stream with no count (a node from before counted ends) is
 * weighed by what this end did after it: no loss when no record of this
 * end's went after it came and no send still waits. That node's stop is
 * then no error here, as it is at a node of its own release, whose
 * channel ends cleanly at the end of stream and forgets a reset after it;
 * nor is its close (its end, then a reset), which that release takes for
 * a loss at the other end. What crossed its end of stream, or resolved
 * into a stalled link before it came, is not told.
 *
 * A send can resolve before its frame is sealed (Node's record layer
 * seals a tick's later frames at the tick's end; a page's waits for its
 * seals ahead), and an unsealed frame is in no count. The verdict needs
 * this end's end of stream sealed too (`ended`, as the room's `#peerEnded` does
 * at once): each record layer seals, and counts, what waits before its end,
 * and refuses a send after it, so every resolved send is in `recordsSent`.
 */
export function resetLoss(channel: Channel): XppgError | undefined {
  if (channel.peerEnded && channel.peerCounted === undefined) return uncountedEndLoss(channel);
  const unconfirmed = channel.peerCounted === undefined ? undefined : unconfirmedRecords(channel.secure?.recordsSent ?? 0, channel.peerCounted);
  const waiting = channel.sends.pending;
  if (unconfirmed === 0 && waiting === 0 && channel.ended) return undefined;
  if (unconfirmed === undefined) return unreachableError(channel.peer, ERROR_TEXTS ? "the channel was reset on the path or by the other end" : []);
  if (!ERROR_TEXTS) return unreachableError(channel.peer, [unconfirmed, waiting]);
  const why =
    unconfirmed > 0
      ? `which counted all but ${unconfirmed} of the records this node sent on it (a message in them may have been lost)${waiting > 0 ? `, with ${waiting} sends still waiting` : ""}`
      : waiting > 0
        ? `with ${waiting} sends of this node's still waiting`
        : "before this node's own end of stream (what it sent last may not have been sealed)";
  return unreachableError(channel.peer, `the channel was reset after its other end's end of stream, ${why}`);
}

/** `resetLoss` after an end of stream with no count: a loss only when records of this end's went after it, or sends still wait. */
function uncountedEndLoss(channel: Channel): XppgError | undefined {
  const after = (channel.secure?.recordsSent ?? 0) - channel.sentAtPeerEnd;
  const waiting = channel.sends.pending;
  if (after === 0 && waiting === 0 && channel.ended) return undefined;
  if (!ERROR_TEXTS) return unreachableError(channel.peer, [after, waiting]);
  const why = after > 0 ? `${after} record(s) of this node's sent after it` : waiting > 0 ? `${waiting} send(s) of this node's still waiting` : "this node's own end of stream not yet sealed";
  return unreachableError(channel.peer, `the channel was reset after its other end's end of stream, which carried no count (a release from before counted ends), with ${why}`);
}
