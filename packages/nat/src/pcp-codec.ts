import { isIPv4 } from "node:net";
import type { NatProtocol } from "./types.js";

/**
 * PCP MAP messages (RFC 6887), IPv4 only. Pure functions over bytes: no sockets.
 * Decoders take untrusted bytes, return `undefined` for anything that is not
 * the answer they expect, and never throw.
 */

/** PCP version number (RFC 6887 7.1). */
export const PCP_VERSION = 2;
/** The MAP opcode (RFC 6887 11). */
export const PCP_OPCODE_MAP = 1;
/** The largest PCP message (RFC 6887 7): a larger datagram is not PCP. */
export const PCP_MAX_MESSAGE_BYTES = 1100;
/** Common header, request or response (RFC 6887 7.1, 7.2). */
export const PCP_HEADER_BYTES = 24;
/** MAP opcode payload (RFC 6887 11.1). */
export const PCP_MAP_PAYLOAD_BYTES = 36;
/** Length of the mapping nonce (RFC 6887 11.1). */
export const PCP_NONCE_BYTES = 12;

/** Result codes (RFC 6887 7.4). */
export const PCP_RESULT = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  UNSUPP_OPTION: 5,
  MALFORMED_OPTION: 6,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  USER_EX_QUOTA: 10,
  CANNOT_PROVIDE_EXTERNAL: 11,
  ADDRESS_MISMATCH: 12,
  EXCESSIVE_REMOTE_PEERS: 13,
} as const;

/** What a MAP request asks for. */
export interface PcpMapRequest {
  /** The address this host sends from, as the gateway will see it (IPv4). */
  readonly clientIp: string;
  readonly nonce: Uint8Array;
  readonly protocol: NatProtocol;
  readonly internalPort: number;
  /** Suggested external port; 0 for no preference. */
  readonly externalPort: number;
  /** 0 deletes the mapping (RFC 6887 15). */
  readonly lifetimeSeconds: number;
}

/** A decoded MAP response. Fields past `resultCode` are set only on success. */
export interface PcpMapResponse {
  readonly resultCode: number;
  readonly lifetimeSeconds: number;
  readonly epoch: number;
  readonly internalPort: number;
  readonly externalPort: number;
  /** Dotted quad, or `undefined` when the answer does not carry an IPv4 address. */
  readonly externalIp: string | undefined;
}

const IANA_TCP = 6;
const IANA_UDP = 17;

/** Encodes a MAP request (header + MAP payload, 60 bytes, no options). */
export function encodePcpMapRequest(request: PcpMapRequest): Buffer {
  if (request.nonce.length !== PCP_NONCE_BYTES) throw new RangeError("a PCP nonce is 12 bytes");
  const out = Buffer.alloc(PCP_HEADER_BYTES + PCP_MAP_PAYLOAD_BYTES);
  out.writeUInt8(PCP_VERSION, 0);
  out.writeUInt8(PCP_OPCODE_MAP, 1); // R bit 0: a request
  out.writeUInt32BE(request.lifetimeSeconds, 4);
  writeMappedIpv4(out, 8, request.clientIp);
  const p = PCP_HEADER_BYTES;
  out.set(request.nonce, p);
  out.writeUInt8(request.protocol === "UDP" ? IANA_UDP : IANA_TCP, p + 12);
  out.writeUInt16BE(request.internalPort, p + 16);
  out.writeUInt16BE(request.externalPort, p + 18);
  // Suggested external address: ::ffff:0.0.0.0, "any IPv4 address" (RFC 6887 11.1).
  writeMappedIpv4(out, p + 20, "0.0.0.0");
  return out;
}

/**
 * Tells whether `bytes` is a NAT-PMP "unsupported version" answer: how a
 * NAT-PMP-only gateway answers a PCP request (RFC 6887 9).
 */
export function isNatPmpVersionAnswer(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 128 + PCP_OPCODE_MAP && bytes[2] === 0 && bytes[3] === 1;
}

/**
 * Decodes the answer to `request`; `undefined` for anything else: too short or
 * too long, not a version 2 MAP response, another nonce, protocol or port, or
 * options that do not add up. A success must carry an IPv4 external address,
 * a port (1-65535) and a lifetime above 0.
 */
export function decodePcpMapResponse(bytes: Uint8Array, request: PcpMapRequest): PcpMapResponse | undefined {
  if (bytes.length < PCP_HEADER_BYTES || bytes.length > PCP_MAX_MESSAGE_BYTES || bytes.length % 4 !== 0) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.readUInt8(0) !== PCP_VERSION || view.readUInt8(1) !== (0x80 | PCP_OPCODE_MAP)) return undefined;
  const resultCode = view.readUInt8(3);
  const lifetimeSeconds = view.readUInt32BE(4);
  const epoch = view.readUInt32BE(8);
  if (bytes.length < PCP_HEADER_BYTES + PCP_MAP_PAYLOAD_BYTES) {
    // An error answer may be cut short; it cannot be matched to our nonce, so only trust it as an error.
    return resultCode === PCP_RESULT.SUCCESS ? undefined : { resultCode, lifetimeSeconds, epoch, internalPort: 0, externalPort: 0, externalIp: undefined };
  }
  const p = PCP_HEADER_BYTES;
  if (!view.subarray(p, p + PCP_NONCE_BYTES).equals(request.nonce)) return undefined;
  const protocol = view.readUInt8(p + 12);
  if (protocol !== (request.protocol === "UDP" ? IANA_UDP : IANA_TCP)) return undefined;
  const internalPort = view.readUInt16BE(p + 16);
  if (internalPort !== request.internalPort) return undefined;
  if (!optionsWellFormed(view.subarray(p + PCP_MAP_PAYLOAD_BYTES))) return undefined;
  const externalPort = view.readUInt16BE(p + 18);
  const externalIp = readMappedIpv4(view, p + 20);
  if (resultCode === PCP_RESULT.SUCCESS && request.lifetimeSeconds > 0) {
    if (externalIp === undefined || externalIp === "0.0.0.0" || externalPort === 0 || lifetimeSeconds === 0) return undefined;
  }
  return { resultCode, lifetimeSeconds, epoch, internalPort, externalPort, externalIp };
}

/** Options are (code, reserved, length, data padded to 4) records that fill the rest exactly (RFC 6887 7.3). */
function optionsWellFormed(rest: Buffer): boolean {
  let at = 0;
  while (at < rest.length) {
    if (rest.length - at < 4) return false;
    const length = rest.readUInt16BE(at + 2);
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return at === rest.length;
}

function writeMappedIpv4(out: Buffer, at: number, ip: string): void {
  if (!isIPv4(ip)) throw new RangeError(`not an IPv4 address: ${ip}`);
  out.fill(0, at, at + 10);
  out.writeUInt16BE(0xffff, at + 10);
  ip.split(".").forEach((part, i) => out.writeUInt8(Number(part), at + 12 + i));
}

function readMappedIpv4(view: Buffer, at: number): string | undefined {
  for (let i = 0; i < 10; i++) if (view[at + i] !== 0) return undefined;
  if (view.readUInt16BE(at + 10) !== 0xffff) return undefined;
  return `${view[at + 12]}.${view[at + 13]}.${view[at + 14]}.${view[at + 15]}`;
}
