/**
 * What both builds of `#next-turn` share (Node's `next-turn.ts`, a page's
 * `browser/next-turn.ts`): turns of the event loop from a `MessageChannel`
 * (a page's `setTimeout(fn, 0)` is clamped to 4 ms once nested, which would
 * slow every sliced read and state send to a crawl), and hex without `Buffer`.
 */

export type Task = () => void;

/**
 * A `MessageChannel` message per task: the browser's own next-turn task
 * (Node has `setImmediate`). The channel is made on the first task, not at
 * import: a module that only loads it opens no port (an open port keeps a
 * server-side process alive, and some runtimes have no `MessageChannel`).
 */
function channelTurns(): (fn: Task) => void {
  const queue: Task[] = [];
  let channel: { port1: Port; port2: Port } | undefined;
  return (fn) => {
    if (channel === undefined) {
      const ports = (channel = new MessageChannel() as unknown as { port1: Port; port2: Port });
      // Setting onmessage starts the port.
      ports.port1.onmessage = () => {
        // One task per message, in order: as setImmediate, a task queued while
        // running waits for a later turn.
        const task = queue.shift();
        if (queue.length === 0) ports.port1.unref?.();
        task?.();
      };
    }
    if (queue.push(fn) === 1) channel.port1.ref?.();
    channel.port2.postMessage(null);
  };
}

/**
 * A port as both kinds of runtime have it: Node's typings give its
 * MessagePort no onmessage (a page's has); ref/unref are a server-side
 * runtime's (a page's port has neither): the port holds the process only
 * while a task waits.
 */
interface Port {
  onmessage: (() => void) | null;
  postMessage(message: null): void;
  ref?(): void;
  unref?(): void;
}

/**
 * Runs `fn` on a later turn of the event loop: `setImmediate` where the
 * runtime has it (Node, also when it loads a page's build, as for
 * server-side rendering or a DOM-like test setup), a `MessageChannel` task
 * otherwise (a page). Node's own `setImmediate`, unwrapped: the bundle reader
 * calls it per turn.
 */
export const nextTurn: (fn: Task) => void = typeof setImmediate === "function" ? setImmediate : channelTurns();

/** `bytes` as lowercase hex, without `Buffer` (browsers have none). */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

