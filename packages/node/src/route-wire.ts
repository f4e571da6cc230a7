/**
 * The routed packet (capability `route/1`): what one `xppg/route` message
 * carries, as raw bytes, from neighbour to neighbour. INTERNALS.md ("Routed
 * unicast") describes it. The header is read and checked by every node on
 * the path; the body is the end-to-end channel's own bytes (Noise), which
 * only the two ends can read.
 *
 * ```
 * 1  type: 0 open, 1 data, 2 reset; +0x80 when sent by the channel's responder
 * 1  hop limit: forwarders it may still pass
 * 4  channel id (chosen by the initiator)
 * 1+n origin peer id (ASCII, 1 to 128 bytes)
 * 1+n destination peer id (ASCII, 1 to 128 bytes)
 * .. body (at most 65,535 bytes: one Noise message)
 * ```
 */

import { ERROR_TEXTS, byteArrayLength, valuesMessage } from "@xppg/errors";
import { NOISE_MAX_MESSAGE_SIZE } from "@xppg/secure";

export { ROUTE_CAPABILITY } from "./routing-basics.js";
/** Forwarders a routed packet may pass; its origin sends it with this hop limit. */
export const ROUTE_HOP_LIMIT = 32;

export const PACKET = { OPEN: 0, DATA: 1, RESET: 2 } as const;
export type PacketType = (typeof PACKET)[keyof typeof PACKET];

/** Set on the type byte of a packet sent by the channel's responder (the side that did not open it). */
const FROM_RESPONDER = 0x80;
const MAX_ID_LENGTH = 128;
const HOP_OFFSET = 1;

/** One routed packet's header, read. */
export interface RoutedPacket {
  readonly type: PacketType;
  /** True when the channel's responder sent it. */
  readonly fromResponder: boolean;
  readonly hopLimit: number;
  readonly channel: number;
  readonly origin: string;
  readonly destination: string;
  /** The body: a view into the packet. */
  readonly body: Uint8Array;
}

const ascii = new TextDecoder("latin1");

/**
 * Reads a packet's header; returns a sentence saying what is wrong when it
 * is malformed. Nothing is copied.
 */
export function parsePacket(bytes: Uint8Array): RoutedPacket | string {
  if (bytes.length < 8) return "a routed packet shorter than its header";
  const first = bytes[0]!;
  const type = first & 0x7f;
  if (type > PACKET.RESET) return `a routed packet of the unknown type ${type}`;
  const channel = ((bytes[2]! << 24) | (bytes[3]! << 16) | (bytes[4]! << 8) | bytes[5]!) >>> 0;
  let at = 6;
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    // A packet cut right after the origin's id has no length byte here (`bytes[at]` undefined).
    if (at >= bytes.length) return "a routed packet with a malformed peer id";
    const length = bytes[at]!;
    if (length === 0 || length > MAX_ID_LENGTH || at + 1 + length > bytes.length) return "a routed packet with a malformed peer id";
    ids.push(ascii.decode(bytes.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  // The body is one Noise message of the channel: a larger one breaks the protocol, whatever the link's frame size lets through.
  if (bytes.length - at > NOISE_MAX_MESSAGE_SIZE) return ERROR_TEXTS ? `a routed packet with a body over ${NOISE_MAX_MESSAGE_SIZE} bytes (one Noise message)` : `routed body > ${NOISE_MAX_MESSAGE_SIZE}`;
  return {
    type: type as PacketType,
    fromResponder: (first & FROM_RESPONDER) !== 0,
    hopLimit: bytes[HOP_OFFSET]!,
    channel,
    origin: ids[0]!,
    destination: ids[1]!,
    body: bytes.subarray(at),
  };
}

/** The header of every packet one end of a channel sends (the type and hop limit are set per packet). */
export function packetHeader(origin: string, destination: string, channel: number, fromResponder: boolean): Uint8Array {
  const o = new TextEncoder().encode(origin);
  const d = new TextEncoder().encode(destination);
  if (o.length === 0 || o.length > MAX_ID_LENGTH || d.length === 0 || d.length > MAX_ID_LENGTH) throw new RangeError(ERROR_TEXTS ? "a peer id of 1 to 128 bytes" : valuesMessage("", []));
  const header = new Uint8Array(8 + o.length + d.length);
  header[0] = fromResponder ? FROM_RESPONDER : 0;
  header[1] = ROUTE_HOP_LIMIT;
  header[2] = channel >>> 24;
  header[3] = (channel >>> 16) & 0xff;
  header[4] = (channel >>> 8) & 0xff;
  header[5] = channel & 0xff;
  header[6] = o.length;
  header.set(o, 7);
  header[7 + o.length] = d.length;
  header.set(d, 8 + o.length);
  return header;
}

/**
 * A packet: `header` with its type, then the body (one piece, or parts of
 * `length` bytes in all); built at the start of `into` (a view of it is
 * returned) when given, else in a new buffer.
 */
export function buildPacket(header: Uint8Array, type: PacketType, body: Uint8Array | readonly Uint8Array[], length = (body as Uint8Array).length, into?: Uint8Array): Uint8Array {
  const packet = into === undefined ? new Uint8Array(header.length + length) : into.subarray(0, header.length + length);
  packet.set(header, 0);
  packet[0] = (header[0]! & FROM_RESPONDER) | type;
  if (body instanceof Uint8Array) packet.set(body, header.length);
  else {
    let at = header.length;
    for (const part of body) {
      packet.set(part, at);
      // The language's getter: what `set` copied (a caller's part may answer another `length`).
      at += byteArrayLength(part);
    }
  }
  return packet;
}

/** Lowers a packet's hop limit in place (the forwarder's one change to it). */
export function setHopLimit(packet: Uint8Array, hopLimit: number): void {
  packet[HOP_OFFSET] = hopLimit;
}
