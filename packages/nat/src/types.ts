import type { NatError } from "./errors.js";

/** The transport protocol of a mapping. */
export type NatProtocol = "TCP" | "UDP";

/**
 * How a mapping was made: UPnP through an IGDv1 gateway (WANIPConnection:1 or
 * WANPPPConnection:1) or an IGDv2 gateway (WANIPConnection:2).
 */
export type NatMethod = "upnp-igd1" | "upnp-igd2";

/** What {@link NatOptions.onRenewed} receives after each successful renewal. */
export interface NatRenewal {
  /** The lease the gateway accepted, in seconds. */
  readonly leaseSeconds: number;
}

/** Options of {@link tryUpnpMap} (and of {@link PortMapper.map}). */
export interface NatOptions {
  /** The local port to reach from outside (1-65535). */
  internalPort: number;
  /**
   * The port to open on the gateway's public address.
   * @default internalPort
   */
  externalPort?: number;
  /** @default "TCP" */
  protocol?: NatProtocol;
  /**
   * The label the router shows for the mapping.
   * @default "xppg"
   */
  description?: string;
  /**
   * The lease to ask for, in seconds; `0` asks for a permanent mapping.
   * A gateway that only accepts permanent leases gets one instead (see the README).
   * @default 3600
   */
  leaseSeconds?: number;
  /**
   * How long the whole attempt (discovery, description, external address,
   * mapping) may take. The promise settles within about this bound, never rejects
   * for gateway trouble, and undoes a mapping that lands after it.
   * @default 2500
   */
  timeoutMs?: number;
  /**
   * Renew a timed lease at half-time while the mapping is alive. Timers are
   * `unref()`ed: they never keep the process alive.
   * @default true
   */
  renew?: boolean;
  /**
   * Skip SSDP discovery and use this root device description, for example
   * `http://192.168.1.1:5000/rootDesc.xml`. Only `http:` URLs are accepted.
   */
  gatewayUrl?: string;
  /**
   * Called for failures after `tryUpnpMap` returned: a failed renewal
   * (`XPPG_ERR_NAT_RENEWAL_FAILED`, retried while alive) or a failed removal
   * (`XPPG_ERR_NAT_REMOVE_FAILED`). Library code never prints.
   */
  onError?: (error: NatError) => void;
  /** Called after each successful lease renewal. */
  onRenewed?: (renewal: NatRenewal) => void;
}

/** The outcome of {@link tryUpnpMap}. `mapped` tells which half applies. */
export interface NatResult {
  /** True when the gateway holds the mapping now. */
  readonly mapped: boolean;
  /** How it was mapped; `null` when `mapped` is false. */
  readonly method: NatMethod | null;
  /** The gateway's public address as it reported it; `null` if unknown. */
  readonly externalIp: string | null;
  /** The public port (as asked; UPnP AddPortMapping never picks another). */
  readonly externalPort: number;
  /** The local port the mapping points at. */
  readonly internalPort: number;
  /** The local address the mapping points at; `null` when not mapped. */
  readonly internalIp: string | null;
  /** The mapped protocol. */
  readonly protocol: NatProtocol;
  /**
   * The lease the gateway accepted, in seconds; `0` is a permanent mapping
   * (it stays until `remove()`). `0` as well when `mapped` is false.
   */
  readonly leaseSeconds: number;
  /** Why `mapped` is false. Absent when mapped. */
  readonly error?: NatError;
  /**
   * Deletes the mapping on the gateway and stops renewal. Idempotent; resolves
   * (never rejects) within about `timeoutMs`; a failure goes to `onError`.
   */
  remove(): Promise<void>;
}

/**
 * Anything that can open a port on the way in. `@xppg/node` accepts one, so
 * tests and other strategies (NAT-PMP, PCP, a static forward) can replace UPnP.
 */
export interface PortMapper {
  /** Tries to map a port; must settle within a bound and never reject for network trouble. */
  map(options: NatOptions): Promise<NatResult>;
}
