import { tryUpnpMap } from "./try-upnp-map.js";
import type { NatOptions, PortMapper } from "./types.js";

/**
 * A {@link PortMapper} that uses UPnP ({@link tryUpnpMap}). `defaults` fill in
 * options the caller leaves out (for example a longer `timeoutMs`, or `onError`).
 */
export function createUpnpPortMapper(defaults: Partial<NatOptions> = {}): PortMapper {
  return { map: (options) => tryUpnpMap({ ...defaults, ...options }) };
}

/** The default {@link PortMapper}: UPnP IGDv1/IGDv2 with the default options. */
export const upnpPortMapper: PortMapper = createUpnpPortMapper();
