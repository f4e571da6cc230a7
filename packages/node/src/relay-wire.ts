/**
 * The relay's control messages: one JSON object per frame, at most
 * {@link MAX_CONTROL_BYTES}, checked field by field. After a circuit is set up
 * the frames on it are no longer control: each carries a one-byte tag
 * ({@link TAG_DATA} then the frame, or {@link TAG_SWITCH}).
 */

import { XppgError, type ErrorText } from "@xppg/errors";
import { safeText } from "./safe-text.js";

/** Stable codes of the relay's errors. */
export const RELAY_ERROR_CODES = {
  /** The relay refused: no reservation for that peer, a limit reached, a bad request. */
  REFUSED: "XPPG_ERR_RELAY_REFUSED",
  /** A relay or a circuit's other end broke the relay protocol. */
  PROTOCOL: "XPPG_ERR_RELAY_PROTOCOL",
  /** The relay did not answer in time. */
  TIMEOUT: "XPPG_ERR_RELAY_TIMEOUT",
  /** A circuit reached its byte or time limit on the relay. */
  LIMIT: "XPPG_ERR_RELAY_LIMIT",
  /** `relayTransport` was asked to listen without a `peerId` to reserve under. */
  NO_PEER_ID: "XPPG_ERR_RELAY_NO_PEER_ID",
} as const;

/** One of the {@link RELAY_ERROR_CODES}. */
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[keyof typeof RELAY_ERROR_CODES];

/** An error of the relay or of a relayed circuit. */
export class RelayError extends XppgError {
  declare readonly code: RelayErrorCode;
  constructor(code: RelayErrorCode, message: ErrorText, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details }, new.target === RelayError ? "RelayError" : undefined);
  }
}

/** Largest control message, in bytes. */
export const MAX_CONTROL_BYTES = 1024;
/** Tag of a relayed data frame. */
export const TAG_DATA = 0;
/** Tag that ends one direction of the relayed path: what follows comes on the direct one. */
export const TAG_SWITCH = 1;

const PEER_ID = /^[A-Za-z0-9_-]{1,100}$/;
const CIRCUIT = /^[0-9a-f]{32}$/;
const HOST_PORT = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/;

/** What a client asks of a relay. */
export type ClientMessage =
  | { readonly t: "reserve"; readonly id: string }
  | { readonly t: "connect"; readonly to: string }
  | { readonly t: "accept"; readonly circuit: string }
  | { readonly t: "dialback"; readonly port: number };

/** What a relay answers. */
export type RelayMessage =
  | { readonly t: "reserved"; readonly observed: string; readonly ttlMs: number }
  | { readonly t: "incoming"; readonly circuit: string }
  | { readonly t: "ready"; readonly circuit: string; readonly observed: string; readonly peerObserved: string }
  | { readonly t: "refused"; readonly reason: string }
  | { readonly t: "dialback"; readonly ok: boolean; readonly observed: string };

/** Encodes a control message. */
export function encodeControl(message: ClientMessage | RelayMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

function parse(frame: Uint8Array): Record<string, unknown> | undefined {
  if (frame.byteLength > MAX_CONTROL_BYTES) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(frame));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown, re: RegExp): v is string => typeof v === "string" && re.test(v);

/** Decodes what a client sent; `undefined` for anything malformed. */
export function decodeClientMessage(frame: Uint8Array): ClientMessage | undefined {
  const m = parse(frame);
  if (m === undefined) return undefined;
  if (m["t"] === "reserve" && str(m["id"], PEER_ID)) return { t: "reserve", id: m["id"] };
  if (m["t"] === "connect" && str(m["to"], PEER_ID)) return { t: "connect", to: m["to"] };
  if (m["t"] === "accept" && str(m["circuit"], CIRCUIT)) return { t: "accept", circuit: m["circuit"] };
  const port = m["port"];
  if (m["t"] === "dialback" && Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535) return { t: "dialback", port: port as number };
  return undefined;
}

/** Decodes what a relay sent; `undefined` for anything malformed. */
export function decodeRelayMessage(frame: Uint8Array): RelayMessage | undefined {
  const m = parse(frame);
  if (m === undefined) return undefined;
  const ttl = m["ttlMs"];
  if (m["t"] === "reserved" && str(m["observed"], HOST_PORT) && Number.isInteger(ttl) && (ttl as number) >= 1000 && (ttl as number) <= 86_400_000) {
    return { t: "reserved", observed: m["observed"], ttlMs: ttl as number };
  }
  if (m["t"] === "incoming" && str(m["circuit"], CIRCUIT)) return { t: "incoming", circuit: m["circuit"] };
  if (m["t"] === "ready" && str(m["circuit"], CIRCUIT) && str(m["observed"], HOST_PORT) && str(m["peerObserved"], HOST_PORT)) {
    return { t: "ready", circuit: m["circuit"], observed: m["observed"], peerObserved: m["peerObserved"] };
  }
  if (m["t"] === "refused" && typeof m["reason"] === "string") return { t: "refused", reason: safeText(m["reason"].slice(0, 200), { singleLine: true, removeInvisible: true }) };
  if (m["t"] === "dialback" && typeof m["ok"] === "boolean" && str(m["observed"], HOST_PORT)) return { t: "dialback", ok: m["ok"], observed: m["observed"] };
  return undefined;
}

/** Splits `"198.18.0.11:4000"` (no brackets, IPv4 only). */
export function splitHostPort(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(":");
  return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
}
