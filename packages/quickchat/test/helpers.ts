import { PassThrough } from "node:stream";
import { QuickChat, type QuickChatOptions } from "../src/index.js";

/** A chat's typing end and reading end, as PassThrough streams. */
export interface Terminal {
  input: PassThrough;
  output: PassThrough;
  /** Everything written to the output so far. */
  text(): string;
  /** Types one line. */
  type(line: string): void;
  /** Resolves once the output contains `needle`; fails after `timeoutMs`. */
  waitFor(needle: string | RegExp, timeoutMs?: number): Promise<void>;
}

export function terminal(): Terminal {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = "";
  const waiters = new Set<() => void>();
  output.setEncoding("utf8");
  output.on("data", (chunk: string) => {
    text += chunk;
    for (const w of [...waiters]) w();
  });
  const has = (needle: string | RegExp): boolean => (typeof needle === "string" ? text.includes(needle) : needle.test(text));
  return {
    input,
    output,
    text: () => text,
    type: (line) => input.write(`${line}\n`),
    waitFor: (needle, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (has(needle)) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`output never showed ${String(needle)} within ${timeoutMs} ms; it was:\n${text}`));
        }, timeoutMs);
        const check = (): void => {
          if (!has(needle)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
  };
}

/** Chats made by a test, stopped after it. */
export const made: QuickChat[] = [];

/** A chat on loopback, any free port, no router, no LAN discovery (tests that want it turn it on, on loopback). */
export function loopbackChat(room: string, options: QuickChatOptions = {}): QuickChat {
  const chat = new QuickChat(room, { host: "127.0.0.1", port: 0, openPort: false, keyFile: false, lan: false, ...options });
  made.push(chat);
  return chat;
}

export { until } from "../../../tools/test/until.js";

/** Rejects when `promise` takes longer than `timeoutMs`, so a hang fails the test instead. */
export function bounded<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
