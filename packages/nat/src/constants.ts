/** How long {@link tryUpnpMap} may take before it gives up, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 2500;

/** The lease asked of the gateway, in seconds (renewed at half-time while alive). */
export const DEFAULT_LEASE_SECONDS = 3600;

/** The mapping description shown in the router's UPnP table. */
export const DEFAULT_DESCRIPTION = "xppg";

/**
 * Default hard limit on one port-mapping SOAP call that is left to finish
 * after {@link tryUpnpMap} gave up, so a late answer can still be undone
 * (`NatOptions.mappingCallTimeoutMs`). Past it the call is abandoned and a
 * best-effort DeletePortMapping is sent.
 */
export const DEFAULT_MAPPING_CALL_TIMEOUT_MS = 5000;

/** Upper bound on a device description we are willing to read. */
export const MAX_DESCRIPTION_BYTES = 256 * 1024;

/** Upper bound on a SOAP response we are willing to read. */
export const MAX_SOAP_RESPONSE_BYTES = 64 * 1024;

/** Upper bound, in characters, on gateway-provided text quoted in an error message. */
export const MAX_GATEWAY_TEXT_CHARS = 200;

/** SSDP multicast group and port (UPnP Device Architecture 1.1, section 1.3). */
export const SSDP_ADDRESS = "239.255.255.250";
/** @see SSDP_ADDRESS */
export const SSDP_PORT = 1900;

/** Delays at which the M-SEARCH is (re)sent; UDP may drop any one of them. */
export const SSDP_SEND_SCHEDULE_MS: readonly number[] = [0, 600, 1400];

/** Search targets sent in every M-SEARCH round. */
export const SSDP_SEARCH_TARGETS: readonly string[] = [
  "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
  "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
];

/** Service types we can drive, best first. */
export const WAN_IP_CONNECTION_2 = "urn:schemas-upnp-org:service:WANIPConnection:2";
/** @see WAN_IP_CONNECTION_2 */
export const WAN_IP_CONNECTION_1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
/** @see WAN_IP_CONNECTION_2 */
export const WAN_PPP_CONNECTION_1 = "urn:schemas-upnp-org:service:WANPPPConnection:1";

/** UPnP error: the gateway only accepts permanent leases (IGD WANIPConnection:1, 725). */
export const UPNP_ONLY_PERMANENT_LEASES = 725;
/** UPnP error: no such mapping (DeletePortMapping of something already gone). */
export const UPNP_NO_SUCH_ENTRY = 714;
