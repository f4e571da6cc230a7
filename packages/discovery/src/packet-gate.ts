/**
 * A gate in front of the DNS decoder of `multicast-dns` (`dns-packet`): a
 * packet's header declares how many questions and records follow, and the
 * decoder reads that many even past the packet's end. A 201-byte packet
 * declaring 52,224 additional records decoded into as many records and took
 * about 0.2 s of CPU (four sections of 65,535: about a second), so anyone on
 * the LAN could stall a node with a few packets a second. A packet is passed
 * on only when its declared counts fit its bytes: a question takes at least
 * 5 bytes (a root name, type and class), a record at least 11 (name, type,
 * class, TTL, data length). RFC 1035 section 4.1.
 */

import type { RemoteInfo, Socket } from "node:dgram";

const HEADER_BYTES = 12;
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 11;

/** True when the packet's declared question and record counts fit in its bytes. */
export function plausiblePacket(packet: Uint8Array): boolean {
  if (packet.length < HEADER_BYTES) return false;
  const u16 = (at: number): number => (packet[at]! << 8) | packet[at + 1]!;
  const questions = u16(4);
  const records = u16(6) + u16(8) + u16(10);
  return questions * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= packet.length - HEADER_BYTES;
}

type MessageListener = (message: Buffer, rinfo: RemoteInfo) => void;

/**
 * Puts the gate in front of the `message` listeners already on `socket`
 * (the decoder's): an implausible packet reaches none of them, and
 * `onRefused` counts it.
 */
export function gateMessages(socket: Socket, onRefused: () => void): void {
  for (const listener of socket.listeners("message") as MessageListener[]) {
    socket.off("message", listener);
    socket.on("message", (message: Buffer, rinfo: RemoteInfo) => {
      if (plausiblePacket(message)) listener(message, rinfo);
      else onRefused();
    });
  }
}
