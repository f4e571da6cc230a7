export { tryUpnpMap } from "./try-upnp-map.js";
export { createUpnpPortMapper, upnpPortMapper } from "./port-mapper.js";
export { NAT_ERROR_CODES, NatError } from "./errors.js";
export type { NatErrorCode } from "./errors.js";
export { DEFAULT_DESCRIPTION, DEFAULT_LEASE_SECONDS, DEFAULT_MAPPING_CALL_TIMEOUT_MS, DEFAULT_TIMEOUT_MS } from "./constants.js";
export type { NatMapped, NatMethod, NatOptions, NatProtocol, NatRenewal, NatResult, NatResultBase, NatUnmapped, PortMapper } from "./types.js";
