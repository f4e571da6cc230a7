import { MAX_SOAP_RESPONSE_BYTES } from "./constants.js";
import { UpnpCallError, gatewayText } from "./errors.js";
import { httpRequest } from "./http.js";
import { addPortMappingArguments, deletePortMappingArguments, type IgdClient, type PortMappingKey, type PortMappingRequest, type SoapArguments } from "./igd-client.js";
import type { NatMethod } from "./types.js";
import { elementsByLocalName, escapeXml, firstText, flatChildren, stripXmlNoise } from "./xml.js";

/**
 * The UPnP IGD control client on `node:http`, for IGDv1 (WANIPConnection:1,
 * WANPPPConnection:1) and IGDv2 (WANIPConnection:2): builds the SOAP envelope,
 * bounds time and size, and reads the UPnP `errorCode` from faults. It talks
 * only to `controlUrl`, which `parseServices` already held to the description's
 * host and port.
 */
export function createSoapIgdClient(serviceType: string, controlUrl: URL, method: NatMethod): IgdClient {
  const call = (action: string, args: SoapArguments, signal: AbortSignal) =>
    soapCall(controlUrl, serviceType, action, args, signal);
  return {
    method,
    async getExternalIp(signal) {
      const out = await call("GetExternalIPAddress", [], signal);
      return out["NewExternalIPAddress"] ?? "";
    },
    async addPortMapping(req: PortMappingRequest, timeoutMs: number) {
      await call("AddPortMapping", addPortMappingArguments(req), AbortSignal.timeout(timeoutMs));
    },
    async deletePortMapping(key: PortMappingKey, timeoutMs: number) {
      await call(
        "DeletePortMapping",
        deletePortMappingArguments(key),
        AbortSignal.timeout(timeoutMs),
      );
    },
  };
}

/** Builds a SOAP 1.1 request body for one UPnP action. */
function soapEnvelope(serviceType: string, action: string, args: SoapArguments): string {
  const body = args.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join("");
  return (
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${escapeXml(serviceType)}">${body}</u:${action}></s:Body></s:Envelope>\r\n`
  );
}

/**
 * Performs one action and returns the response arguments by name. Throws
 * `UpnpCallError` carrying the HTTP status and UPnP error code of a fault, or
 * `outcomeUnknown` when no usable answer arrived.
 */
async function soapCall(
  controlUrl: URL,
  serviceType: string,
  action: string,
  args: SoapArguments,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  let answer;
  try {
    answer = await httpRequest(controlUrl, {
      method: "POST",
      headers: {
        "content-type": 'text/xml; charset="utf-8"',
        soapaction: `"${serviceType}#${action}"`,
      },
      body: soapEnvelope(serviceType, action, args),
      maxBytes: MAX_SOAP_RESPONSE_BYTES,
      signal,
    });
  } catch (err) {
    throw new UpnpCallError(`${action}: no usable answer from ${controlUrl.host} (${(err as Error).message})`, {
      outcomeUnknown: true,
      cause: err,
    });
  }
  const xml = stripXmlNoise(answer.body);
  if (answer.status !== 200) {
    const code = Number.parseInt(firstText(xml, "errorCode") ?? "", 10);
    const description = gatewayText(firstText(xml, "errorDescription") ?? "");
    throw new UpnpCallError(
      `${action} failed: HTTP ${answer.status}` + (Number.isInteger(code) ? `, UPnP error ${code}${description ? ` (${description})` : ""}` : ""),
      { httpStatus: answer.status, ...(Number.isInteger(code) ? { upnpErrorCode: code } : {}) },
    );
  }
  // A success answer carries an `<u:{action}Response>` element (UPnP DA 1.1,
  // 3.2.2). Without one the answer is not SOAP: we cannot tell whether the
  // action took effect, so AddPortMapping is undone like an unanswered call.
  const [inner] = elementsByLocalName(xml, `${action}Response`, 1);
  if (inner === undefined) {
    throw new UpnpCallError(`${action}: the answer from ${controlUrl.host} is HTTP 200 without a ${action}Response element`, {
      httpStatus: answer.status,
      outcomeUnknown: true,
    });
  }
  return flatChildren(inner);
}
