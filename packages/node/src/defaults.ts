/**
 * The beginner defaults, wired in one visible place: the TCP transport and
 * UPnP port mapping. This is the only module of `@xppg/node` that loads
 * `@xppg/transport-tcp` and `@xppg/nat`; the rest of the node knows only
 * their interfaces (`Transport`, `PortMapper`). Both are loaded when first
 * needed, so a node given its own transports and mapper never loads them.
 */

import type { PortMapper } from "@xppg/nat";
import type { Transport } from "@xppg/transport";

/** `tcpTransport()` of `@xppg/transport-tcp`, for a node given no `transports`. */
export async function defaultTransport(maxFrameSize: number): Promise<Transport> {
  const { tcpTransport } = await import("@xppg/transport-tcp");
  return tcpTransport({ maxFrameSize });
}

/** `@xppg/nat`'s UPnP mapper, for `start({ openPort: true })` without a `portMapper`. */
export async function defaultPortMapper(): Promise<PortMapper> {
  const { upnpPortMapper } = await import("@xppg/nat");
  return upnpPortMapper;
}
