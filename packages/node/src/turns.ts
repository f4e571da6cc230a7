/**
 * What both builds of `#next-turn` share (Node's `next-turn.ts`, a page's
 * `browser/next-turn.ts`): turns of the event loop from a `MessageChannel`
 * (a page's `setTimeout(fn, 0)` is clamped to 4 ms once nested, which would
 * slow every sliced read and state send to a crawl), and hex without `Buffer`.
 */

export type Task = () => void;

/** A `MessageChannel` message per task: the browser's own next-turn task (Node has `setImmediate`). */
export function channelTurns(): (fn: Task) => void {
  const queue: Task[] = [];
  const channel = new MessageChannel();
  // Typed as Node's MessagePort, which has no onmessage; a page's has, and setting it starts the port.
  (channel.port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => {
    // One task per message, in order: as setImmediate, a task queued while
    // running waits for a later turn.
    queue.shift()?.();
  };
  return (fn) => {
    queue.push(fn);
    channel.port2.postMessage(null);
  };
}

/** `bytes` as lowercase hex, without `Buffer` (browsers have none). */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

