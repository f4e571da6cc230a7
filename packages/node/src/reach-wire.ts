/**
 * The messages of the `reach/1` capability (INTERNALS.md, "Reachability,
 * automatic relays and punching"): what a peer observes of this node, dial-backs
 * by a third node, and relay offers. Every payload is hostile until a
 * validator here accepts it.
 */

import { isIPv4 } from "node:net";
import { isRecord } from "./protocol.js";

/** The capability: a peer with it takes part in observations, dial-backs and relay offers. */
export const REACH_CAPABILITY = "reach/1";

/** Kinds of `reach/1`. */
export const REACH_KIND = {
  /** `{ addr: "ip:port" }`: where the sender sees this link come from. Once per link. */
  OBSERVED: "xppg/reach-observed",
  /** `{ port }`: have a node that is not connected to me dial my IP (as you see it) at `port`. */
  DIALBACK: "xppg/reach-dialback",
  /** `{ ok, via }`: the answer; `via` is the host that dialled (`""` when nobody could). */
  DIALBACK_RESULT: "xppg/reach-dialback-result",
  /** `{ host, port, token }`: dial `host:port` (a TCP connect, closed at once) for the asking peer. */
  DIAL: "xppg/reach-dial",
  /** `{ token, ok }`: the helper's answer to `DIAL`. */
  DIALED: "xppg/reach-dialed",
  /** `{ port }`: the sender serves a relay on its own host (the one this link reaches) at `port`. */
  RELAY: "xppg/reach-relay",
} as const;

const TOKEN = /^[0-9a-f]{16}$/;

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/** `"ip:port"` with an IPv4 address, or undefined. */
export function parseObserved(payload: unknown): string | undefined {
  if (!isRecord(payload) || typeof payload["addr"] !== "string" || payload["addr"].length > 21) return undefined;
  const addr = payload["addr"];
  const at = addr.lastIndexOf(":");
  return at > 0 && isIPv4(addr.slice(0, at)) && isPort(Number(addr.slice(at + 1))) && /^\d+$/.test(addr.slice(at + 1)) ? addr : undefined;
}

/** The port of a `DIALBACK` or `RELAY`. */
export function parsePort(payload: unknown): number | undefined {
  return isRecord(payload) && isPort(payload["port"]) ? payload["port"] : undefined;
}

/** A `DIALBACK_RESULT`. */
export function parseDialbackResult(payload: unknown): { ok: boolean; via: string } | undefined {
  if (!isRecord(payload) || typeof payload["ok"] !== "boolean" || typeof payload["via"] !== "string") return undefined;
  const via = payload["via"];
  if (via !== "" && !isIPv4(via)) return undefined;
  return { ok: payload["ok"], via };
}

/** A `DIAL`. */
export function parseDial(payload: unknown): { host: string; port: number; token: string } | undefined {
  if (!isRecord(payload) || typeof payload["host"] !== "string" || !isIPv4(payload["host"]) || !isPort(payload["port"])) return undefined;
  const token = payload["token"];
  return typeof token === "string" && TOKEN.test(token) ? { host: payload["host"], port: payload["port"], token } : undefined;
}

/** A `DIALED`. */
export function parseDialed(payload: unknown): { token: string; ok: boolean } | undefined {
  if (!isRecord(payload) || typeof payload["ok"] !== "boolean") return undefined;
  const token = payload["token"];
  return typeof token === "string" && TOKEN.test(token) ? { token, ok: payload["ok"] } : undefined;
}
