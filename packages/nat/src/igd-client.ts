import type { NatMethod, NatProtocol } from "./types.js";

/** One AddPortMapping request. */
export interface PortMappingRequest {
  readonly externalPort: number;
  readonly internalPort: number;
  readonly internalClient: string;
  readonly protocol: NatProtocol;
  readonly description: string;
  readonly leaseSeconds: number;
}

/** The key of a mapping on the gateway. */
export interface PortMappingKey {
  readonly externalPort: number;
  readonly protocol: NatProtocol;
}

/**
 * What `tryUpnpMap` needs from a UPnP IGD control client. Our own SOAP client
 * (`createSoapIgdClient`) implements it for IGDv1 and IGDv2; another client can
 * replace it without touching the public API. Failures are `UpnpCallError`s.
 */
export interface IgdClient {
  readonly method: NatMethod;
  /** GetExternalIPAddress; `signal` bounds it (it has no side effect). */
  getExternalIp(signal: AbortSignal): Promise<string>;
  /**
   * AddPortMapping. Deliberately not cut short by the caller's deadline: it
   * settles when the gateway answers or after `timeoutMs` (with
   * `outcomeUnknown`), so a late success can be seen and undone.
   */
  addPortMapping(request: PortMappingRequest, timeoutMs: number): Promise<void>;
  /** DeletePortMapping, settling within about `timeoutMs`. */
  deletePortMapping(key: PortMappingKey, timeoutMs: number): Promise<void>;
}

/** SOAP arguments of an IGD action, in the order the service defines them. */
export type SoapArguments = Array<[string, string | number]>;

/** The AddPortMapping arguments (WANIPConnection:1 and :2 share them), unescaped. */
export function addPortMappingArguments(req: PortMappingRequest): SoapArguments {
  return [
    ["NewRemoteHost", ""],
    ["NewExternalPort", req.externalPort],
    ["NewProtocol", req.protocol],
    ["NewInternalPort", req.internalPort],
    ["NewInternalClient", req.internalClient],
    ["NewEnabled", 1],
    ["NewPortMappingDescription", req.description],
    ["NewLeaseDuration", req.leaseSeconds],
  ];
}

/** The DeletePortMapping arguments. */
export function deletePortMappingArguments(key: PortMappingKey): SoapArguments {
  return [
    ["NewRemoteHost", ""],
    ["NewExternalPort", key.externalPort],
    ["NewProtocol", key.protocol],
  ];
}
