import type { NatError } from "./errors.js";

/** The transport protocol of a mapping. */
export type NatProtocol = "TCP" | "UDP";

/**
 * How a mapping was made: UPnP through an IGDv1 gateway (WANIPConnection:1 or
 * WANPPPConnection:1) or an IGDv2 gateway (WANIPConnection:2), PCP (RFC 6887)
 * or NAT-PMP (RFC 6886).
 */
export type NatMethod = "upnp-igd1" | "upnp-igd2" | "pcp" | "natpmp";

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
   * Hard limit on one AddPortMapping call, and on the DeletePortMapping that
   * undoes a mapping confirmed after `timeoutMs`: such a call is left to
   * finish past `timeoutMs` so that a late mapping can still be seen and
   * deleted. Past this limit the call is abandoned and a best-effort
   * DeletePortMapping is sent.
   * @default 5000
   */
  mappingCallTimeoutMs?: number;
  /**
   * Gives up the attempt early. The promise then rejects with
   * `XPPG_ERR_ABORTED` (the signal's reason as `cause`), and a mapping the
   * gateway confirms afterwards is deleted again.
   */
  signal?: AbortSignal;
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

/** The fields and calls of every {@link NatResult}, mapped or not. */
export interface NatResultBase extends AsyncDisposable {
  /** The public port (as asked; UPnP AddPortMapping never picks another). */
  readonly externalPort: number;
  /** The local port the mapping points at. */
  readonly internalPort: number;
  /** The mapped protocol. */
  readonly protocol: NatProtocol;
  /**
   * Deletes the mapping on the gateway and stops renewal. Idempotent; resolves
   * (never rejects) within about `timeoutMs`; a failure goes to `onError`.
   * Does nothing on an unmapped result.
   */
  remove(): Promise<void>;
  /** The same as {@link NatResultBase.remove}, so `await using nat = await tryUpnpMap(...)` removes the mapping at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A {@link NatResult} whose mapping the gateway holds now. */
export interface NatMapped extends NatResultBase {
  readonly mapped: true;
  /** How it was mapped. */
  readonly method: NatMethod;
  /** The gateway's public address as it reported it; `null` if unknown. */
  readonly externalIp: string | null;
  /** The local address the mapping points at. */
  readonly internalIp: string;
  /**
   * The lease the gateway accepted, in seconds; `0` is a permanent mapping
   * (it stays until `remove()`).
   */
  readonly leaseSeconds: number;
  /** Absent: nothing went wrong. */
  readonly error?: undefined;
}

/** A {@link NatResult} without a mapping; `error` says why. */
export interface NatUnmapped extends NatResultBase {
  readonly mapped: false;
  readonly method: null;
  readonly externalIp: null;
  readonly internalIp: null;
  readonly leaseSeconds: 0;
  /** Why there is no mapping. */
  readonly error: NatError;
}

/**
 * The outcome of {@link tryUpnpMap}: check `mapped` and TypeScript narrows to
 * {@link NatMapped} (`method`, `internalIp` set) or {@link NatUnmapped}
 * (`error` set).
 */
export type NatResult = NatMapped | NatUnmapped;

/**
 * Anything that can open a port on the way in. `@xppg/node` accepts one, so
 * tests and other strategies (NAT-PMP, PCP, a static forward) can replace UPnP.
 */
export interface PortMapper {
  /** Tries to map a port; must settle within a bound and never reject for network trouble. */
  map(options: NatOptions): Promise<NatResult>;
}
