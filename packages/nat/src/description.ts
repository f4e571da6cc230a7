import { MAX_DESCRIPTION_BYTES, WAN_IP_CONNECTION_1, WAN_IP_CONNECTION_2, WAN_PPP_CONNECTION_1 } from "./constants.js";
import { httpRequest } from "./http.js";
import { elementsByLocalName, firstText, stripXmlNoise } from "./xml.js";
import type { NatMethod } from "./types.js";

/** One service listed in a root device description. */
export interface GatewayService {
  readonly serviceType: string;
  /** Absolute control URL, on the same host as the description. */
  readonly controlUrl: URL;
}

/** The connection service we will drive, and with which IGD version. */
export interface ChosenService {
  readonly service: GatewayService;
  readonly method: NatMethod;
}

/** Reads a root device description and lists its services (at most 64). */
export async function fetchServices(location: URL, signal: AbortSignal): Promise<GatewayService[]> {
  const answer = await httpRequest(location, { method: "GET", maxBytes: MAX_DESCRIPTION_BYTES, signal });
  if (answer.status !== 200) throw new Error(`description ${location.href} answered HTTP ${answer.status}`);
  return parseServices(answer.body, location);
}

/**
 * Lists the services of a description. Control URLs are resolved against
 * `URLBase` or the description URL, and dropped unless they stay on the
 * description's own host and port (a hostile device cannot aim our SOAP calls
 * elsewhere).
 */
export function parseServices(xml: string, location: URL): GatewayService[] {
  const clean = stripXmlNoise(xml);
  const base = firstText(clean, "URLBase");
  let baseUrl = location;
  if (base) {
    try {
      baseUrl = new URL(base);
    } catch {
      baseUrl = location;
    }
  }
  const services: GatewayService[] = [];
  for (const block of elementsByLocalName(clean, "service", 64)) {
    const serviceType = firstText(block, "serviceType");
    const control = firstText(block, "controlURL");
    if (!serviceType || !control) continue;
    let controlUrl: URL;
    try {
      controlUrl = new URL(control, baseUrl);
    } catch {
      continue;
    }
    if (controlUrl.protocol !== "http:" || controlUrl.host !== location.host) continue;
    services.push({ serviceType, controlUrl });
  }
  return services;
}

/**
 * Picks the connection service: WANIPConnection:2 (IGDv2) first, then
 * WANIPConnection:1 or WANPPPConnection:1 (IGDv1).
 */
export function chooseService(services: readonly GatewayService[]): ChosenService | undefined {
  const v2 = services.find((s) => s.serviceType === WAN_IP_CONNECTION_2);
  if (v2) return { service: v2, method: "upnp-igd2" };
  const v1 = services.find((s) => s.serviceType === WAN_IP_CONNECTION_1) ?? services.find((s) => s.serviceType === WAN_PPP_CONNECTION_1);
  if (v1) return { service: v1, method: "upnp-igd1" };
  return undefined;
}
