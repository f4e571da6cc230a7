import type { NatProtocol } from "./types.js";

/**
 * NAT-PMP messages (RFC 6886). Pure functions over bytes: no sockets.
 * Every decoder takes untrusted bytes and returns `undefined` for anything that
 * is not exactly the answer it expects; it never throws.
 */

/** NAT-PMP and PCP servers listen on UDP port 5351 of the default gateway (RFC 6886 3.1, RFC 6887 19.1). */
export const PCP_SERVER_PORT = 5351;

/** NAT-PMP version number (RFC 6886 3.2). */
export const NATPMP_VERSION = 0;

/** Opcodes of NAT-PMP requests; a response carries `128 + opcode` (RFC 6886 3.2, 3.3). */
export const NATPMP_OP = { EXTERNAL_ADDRESS: 0, MAP_UDP: 1, MAP_TCP: 2 } as const;

/** Result codes of NAT-PMP responses (RFC 6886 3.5). */
export const NATPMP_RESULT = {
  SUCCESS: 0,
  UNSUPPORTED_VERSION: 1,
  NOT_AUTHORIZED: 2,
  NETWORK_FAILURE: 3,
  OUT_OF_RESOURCES: 4,
  UNSUPPORTED_OPCODE: 5,
} as const;

/** Size of a NAT-PMP external address response (RFC 6886 3.2). */
export const NATPMP_ADDRESS_RESPONSE_BYTES = 12;
/** Size of a NAT-PMP mapping response (RFC 6886 3.3). */
export const NATPMP_MAP_RESPONSE_BYTES = 16;
/** Every NAT-PMP response starts with version, opcode, result code and epoch. */
export const NATPMP_ERROR_RESPONSE_BYTES = 8;

/** A decoded NAT-PMP external address response. */
export interface NatPmpAddressResponse {
  readonly resultCode: number;
  readonly epoch: number;
  /** Dotted quad; `undefined` when the result code is not success. */
  readonly externalIp: string | undefined;
}

/** A decoded NAT-PMP mapping response. */
export interface NatPmpMapResponse {
  readonly resultCode: number;
  readonly epoch: number;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly lifetimeSeconds: number;
}

/** The request for the gateway's external address: two bytes. */
export function encodeNatPmpAddressRequest(): Buffer {
  return Buffer.from([NATPMP_VERSION, NATPMP_OP.EXTERNAL_ADDRESS]);
}

/**
 * A mapping request (RFC 6886 3.3). `lifetimeSeconds` 0 with `externalPort` 0
 * deletes the mapping of `internalPort` (RFC 6886 3.4).
 */
export function encodeNatPmpMapRequest(protocol: NatProtocol, internalPort: number, externalPort: number, lifetimeSeconds: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt8(NATPMP_VERSION, 0);
  out.writeUInt8(protocol === "UDP" ? NATPMP_OP.MAP_UDP : NATPMP_OP.MAP_TCP, 1);
  out.writeUInt16BE(0, 2); // reserved
  out.writeUInt16BE(internalPort, 4);
  out.writeUInt16BE(externalPort, 6);
  out.writeUInt32BE(lifetimeSeconds, 8);
  return out;
}

/**
 * Reads the header every NAT-PMP answer shares, if `bytes` is an answer to
 * `opcode` at all: `undefined` otherwise (not version 0, another opcode, too short).
 */
export function decodeNatPmpHeader(bytes: Uint8Array, opcode: number): { resultCode: number; epoch: number } | undefined {
  if (bytes.length < NATPMP_ERROR_RESPONSE_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.readUInt8(0) !== NATPMP_VERSION || view.readUInt8(1) !== 128 + opcode) return undefined;
  return { resultCode: view.readUInt16BE(2), epoch: view.readUInt32BE(4) };
}

/** Decodes an external address response; `undefined` for anything else. */
export function decodeNatPmpAddressResponse(bytes: Uint8Array): NatPmpAddressResponse | undefined {
  const header = decodeNatPmpHeader(bytes, NATPMP_OP.EXTERNAL_ADDRESS);
  if (header === undefined) return undefined;
  if (header.resultCode !== NATPMP_RESULT.SUCCESS) return { ...header, externalIp: undefined };
  if (bytes.length !== NATPMP_ADDRESS_RESPONSE_BYTES) return undefined;
  return { ...header, externalIp: `${bytes[8]}.${bytes[9]}.${bytes[10]}.${bytes[11]}` };
}

/**
 * Decodes a mapping response to a request for `protocol`; `undefined` for
 * anything else. A success must name a port (1-65535) and a lifetime above 0.
 */
export function decodeNatPmpMapResponse(bytes: Uint8Array, protocol: NatProtocol): NatPmpMapResponse | undefined {
  const opcode = protocol === "UDP" ? NATPMP_OP.MAP_UDP : NATPMP_OP.MAP_TCP;
  const header = decodeNatPmpHeader(bytes, opcode);
  if (header === undefined) return undefined;
  if (header.resultCode !== NATPMP_RESULT.SUCCESS && bytes.length === NATPMP_ERROR_RESPONSE_BYTES) {
    return { ...header, internalPort: 0, externalPort: 0, lifetimeSeconds: 0 };
  }
  if (bytes.length !== NATPMP_MAP_RESPONSE_BYTES) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    ...header,
    internalPort: view.readUInt16BE(8),
    externalPort: view.readUInt16BE(10),
    lifetimeSeconds: view.readUInt32BE(12),
  };
}
