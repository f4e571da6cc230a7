/**
 * TCP simultaneous open (RFC 793 3.4, RFC 5382 section 7.2): both peers
 * connect from the local port their relay connection uses (so a cone NAT keeps
 * the public port the relay saw) to the public address the relay saw of the
 * other, at the same moment the relay tells both to start. Bounded in attempts
 * and time; a few tries per address a minute at most, so nobody can turn a
 * node into a SYN reflector by naming a third party's address.
 */

import { connect, type Socket } from "node:net";
import { hostKey } from "./abuse-guard.js";

/** Options of {@link punchTcp}. */
export interface PunchOptions {
  /** The local port to connect from (the one the relay connection uses). */
  readonly localPort: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Give up after this long. @default 3000 */
  readonly timeoutMs?: number;
  /** Gap between attempts, randomised by half. @default 100 */
  readonly intervalMs?: number;
  /** Stop early. */
  readonly signal?: AbortSignal;
}

/** Most connection attempts one punch makes. */
export const MAX_PUNCH_ATTEMPTS = 40;
/** Most punches towards one address per minute. */
export const MAX_PUNCHES_PER_ADDRESS_PER_MINUTE = 6;

const recent = new Map<string, number[]>();

/** True (and counted) if one more punch towards `host` fits in the per-minute budget. */
function budget(host: string): boolean {
  const now = Date.now();
  const times = (recent.get(host) ?? []).filter((t) => now - t < 60_000);
  recent.delete(host); // re-inserted below, so the map's first entry is the longest untouched
  // Bounded memory: the longest untouched host is forgotten, never every host at once
  // (a clear would let anyone naming 1024 other hosts reset a victim's budget).
  if (recent.size >= 1024) recent.delete(recent.keys().next().value!);
  if (times.length >= MAX_PUNCHES_PER_ADDRESS_PER_MINUTE) {
    recent.set(host, times);
    return false;
  }
  times.push(now);
  recent.set(host, times);
  return true;
}

/** The outcome of a punch: the connected socket, or why there is none. */
export type PunchResult = { readonly socket: Socket; readonly attempts: number } | { readonly socket: undefined; readonly attempts: number; readonly reason: string };

/** Tries to open a TCP connection by simultaneous open; never rejects. */
export function punchTcp(options: PunchOptions): Promise<PunchResult> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const intervalMs = options.intervalMs ?? 100;
  if (!budget(hostKey(options.remoteHost))) return Promise.resolve({ socket: undefined, attempts: 0, reason: "too many punches towards that address this minute" });
  return new Promise((resolve) => {
    let attempts = 0;
    let done = false;
    const live = new Set<Socket>();
    let retry: NodeJS.Timeout | undefined;
    const finish = (result: PunchResult): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(retry);
      options.signal?.removeEventListener("abort", onAbort);
      for (const s of live) if (s !== result.socket) s.destroy();
      resolve(result);
    };
    const deadline = setTimeout(() => finish({ socket: undefined, attempts, reason: `no direct connection within ${timeoutMs} ms` }), timeoutMs);
    const onAbort = (): void => finish({ socket: undefined, attempts, reason: "aborted" });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const attempt = (): void => {
      if (done) return;
      if (attempts >= MAX_PUNCH_ATTEMPTS) return finish({ socket: undefined, attempts, reason: "attempts used up" });
      attempts++;
      const socket = connect({ host: options.remoteHost, port: options.remotePort, localPort: options.localPort, noDelay: true });
      live.add(socket);
      const giveUp = setTimeout(() => socket.destroy(), 1000);
      socket.once("connect", () => {
        clearTimeout(giveUp);
        live.delete(socket);
        if (done) socket.destroy();
        else finish({ socket, attempts });
      });
      socket.once("error", () => {
        clearTimeout(giveUp);
        live.delete(socket);
        if (!done) retry = setTimeout(attempt, intervalMs * (0.5 + Math.random()));
      });
      socket.once("close", () => {
        clearTimeout(giveUp);
        if (live.delete(socket) && !done) retry = setTimeout(attempt, intervalMs * (0.5 + Math.random()));
      });
    };
    attempt();
  });
}
