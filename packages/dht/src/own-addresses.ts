/**
 * This machine's own IPv4 interface addresses, for the candidate filter: a
 * lookup may return any address, and an address of ours (on any port) would
 * turn our dials on this machine's own services, whoever announced it.
 * Read again at most every {@link OWN_ADDRESSES_TTL_MS}, so an address the
 * machine gains (a new network, a VPN) is protected soon after.
 */

import { networkInterfaces } from "node:os";

/** How long one reading of the interfaces is used. */
export const OWN_ADDRESSES_TTL_MS = 10_000;

let cached: { at: number; addresses: ReadonlySet<string> } | undefined;

/** The IPv4 addresses of this machine's interfaces, loopback ones excepted (the loopback rule covers 127/8). */
export function ownAddresses(now = Date.now()): ReadonlySet<string> {
  if (cached === undefined || now - cached.at >= OWN_ADDRESSES_TTL_MS || now < cached.at) {
    const addresses = new Set<string>();
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal && !a.address.startsWith("127.")) addresses.add(a.address);
    cached = { at: now, addresses };
  }
  return cached.addresses;
}
