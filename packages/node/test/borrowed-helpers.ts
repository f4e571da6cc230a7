import { Playground, type PlaygroundOptions } from "../src/index.js";

// What the tests of received payloads share (handlers that borrow them, payloads kept, lying payloads): a joined pair
// over TCP, numbered messages whose bytes tell when they were written over, floods.

const nodes: Playground[] = [];
/** Stops the nodes `joinedPair` and `pair` made (each test file's `afterEach`). */
export async function stopNodes(): Promise<void> {
  await Promise.all(nodes.splice(0).map((pg) => pg.stop()));
}

/** A sender and a receiver of `app` started with `options` on 127.0.0.1 (any free port), the receiver joined to the sender. */
export async function joinedPair(app: string, options: PlaygroundOptions = {}): Promise<[Playground, Playground]> {
  const all = { ...options, host: "127.0.0.1", port: 0 };
  const sender = new Playground(app, all);
  const receiver = new Playground(app, all);
  nodes.push(sender, receiver);
  await sender.start();
  await receiver.start();
  const joined = new Promise((resolve) => sender.events.on("peer:joined", resolve));
  await receiver.join(`tcp://127.0.0.1:${sender.port}`);
  await joined;
  return [sender, receiver];
}

/**
 * A sender and a receiver joined over TCP. `maxFrameSize` bounds the bundles the sender makes: small ones lie whole
 * in the receiver's read memory (a plaintext bundle larger than it gets memory of its own) and, encrypted, in one
 * record opened where it was read; there the memory of a released frame is reused at once.
 */
export function pair(plain: boolean, maxFrameSize = 1024 * 1024, more: PlaygroundOptions = {}): Promise<[Playground, Playground]> {
  // The floods here pass the default message rate: its limits are off.
  return joinedPair("borrowed-payload", { ...more, dangerouslyDisableEncryption: plain, limits: { maxFrameSize, messagesPerSecond: Infinity, bytesPerSecond: Infinity } });
}

/** Message `n` of `length` bytes: its number in the first four (big-endian, when it has them), then bytes that depend on both. */
export function message(n: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (n * 31 + i * 7) & 0xff;
  if (length >= 4) new DataView(bytes.buffer).setUint32(0, n);
  return bytes;
}

/** True when `bytes` are a byte array still holding message `n`'s `length` bytes. */
export function isMessage(bytes: unknown, n: number, length: number): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) return false;
  if (length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) !== n) return false;
  for (let i = length >= 4 ? 4 : 0; i < length; i++) if (bytes[i] !== ((n * 31 + i * 7) & 0xff)) return false;
  return true;
}

/** Sizes that split across reads (64 KiB and odd sizes past it) and small ones that share a bundle. */
export const SIZES = [65_536, 37, 1000, 70_001, 65_536, 5, 200, 2, 40_000, 123];
export const sizeOf = (n: number): number => SIZES[n % SIZES.length]!;

/** Bundles of at most 32 KiB: an encrypted one lies whole in one record. */
export const SMALL_BUNDLES = 32 * 1024;
/** Messages sent at once: one bundle of about 50 KB, in one record when encrypted. */
export const PER_BUNDLE = 5000;

export const security = [
  ["plaintext", true],
  ["encrypted", false],
] as const;

/** Sends `count` messages of `kind` numbered from `first`, each of `size(n)` bytes; `between(n)` may send more after each. */
export async function flood(sender: Playground, to: string, kind: string, first: number, count: number, size: (n: number) => number, between?: (n: number) => Promise<void> | void): Promise<void> {
  for (let n = first; n < first + count; n++) {
    await sender.send(kind, message(n, size(n)), to);
    await between?.(n);
  }
}

/** A borrowing handler of `kind` that checks each message as it comes, in order from 0; `failures` counts wrong ones. */
export function checking(receiver: Playground, kind: string, size: (n: number) => number, work?: () => void): { seen: number; failures: number } {
  const state = { seen: 0, failures: 0 };
  receiver.on(
    kind,
    (_src, _kind, payload) => {
      const n = state.seen++;
      if (!isMessage(payload, n, size(n))) state.failures++;
      work?.();
    },
    { borrow: true },
  );
  return state;
}

