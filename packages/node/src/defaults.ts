/**
 * The beginner defaults, wired in one visible place: the TCP transport,
 * UPnP port mapping, LAN discovery and the DHT. This is the only module of
 * `@xppg/node` that loads `@xppg/transport-tcp`, `@xppg/nat`,
 * `@xppg/discovery` and `@xppg/dht`; the rest of the node knows only their interfaces
 * (`Transport`, `PortMapper`, `Discovery`). Each is loaded when first needed,
 * so a node given its own transports and mapper, without discovery, never
 * loads them.
 */

import type { DhtDiscovery, DhtDiscoveryOptions } from "@xppg/dht";
import type { Discovery, LanDiscoveryOptions } from "@xppg/discovery";
import type { PortMapper } from "@xppg/nat";
import type { Transport } from "@xppg/transport";

/** `tcpTransport()` of `@xppg/transport-tcp`, for a node given no `transports`. */
export async function defaultTransport(maxFrameSize: number): Promise<Transport> {
  const { tcpTransport } = await import("@xppg/transport-tcp");
  return tcpTransport({ maxFrameSize });
}

/** `@xppg/nat`'s mapper (UPnP, then PCP, then NAT-PMP), for `start({ openPort: true })` without a `portMapper`. */
export async function defaultPortMapper(): Promise<PortMapper> {
  const nat = await import("@xppg/nat");
  return nat.defaultPortMapper;
}

/** `@xppg/discovery`'s LAN discovery, for `discovery: { lan: true }`; loaded only then. */
export async function defaultLanDiscovery(options: LanDiscoveryOptions): Promise<Discovery> {
  const { lanDiscovery } = await import("@xppg/discovery");
  return lanDiscovery(options);
}

/** `@xppg/dht`'s topic discovery, for `pg.joinTopic`; loaded at the first topic only. */
export async function defaultDhtDiscovery(options: DhtDiscoveryOptions): Promise<DhtDiscovery> {
  const { dhtDiscovery } = await import("@xppg/dht");
  return dhtDiscovery(options);
}
