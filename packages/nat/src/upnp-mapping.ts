import { UPNP_NO_SUCH_ENTRY } from "./constants.js";
import { NAT_ERROR_CODES, NatError, UpnpCallError } from "./errors.js";
import type { IgdClient, PortMappingRequest } from "./igd-client.js";
import { LeaseMapping, type MappingSettings } from "./lease-mapping.js";

/**
 * A mapping a UPnP gateway holds: renews its lease at half-time while alive
 * (timers `unref()`ed) and deletes it on `remove()`.
 */
export class UpnpMapping extends LeaseMapping {
  readonly #client: IgdClient;
  readonly #request: PortMappingRequest;

  constructor(client: IgdClient, request: PortMappingRequest, externalIp: string | null, settings: MappingSettings) {
    super(
      {
        method: client.method,
        externalIp,
        externalPort: request.externalPort,
        internalPort: request.internalPort,
        internalIp: request.internalClient,
        protocol: request.protocol,
        leaseSeconds: request.leaseSeconds,
      },
      settings,
    );
    this.#client = client;
    this.#request = request;
    if (settings.renew && request.leaseSeconds > 0) this.startRenewal();
  }

  protected async refresh(): Promise<number> {
    // Re-adding an identical mapping refreshes its lease (IGD WANIPConnection:1 2.4.16).
    await this.#client.addPortMapping(this.#request, this.settings.timeoutMs);
    return this.leaseSeconds;
  }

  protected release(): Promise<void> {
    return this.#client.deletePortMapping(this.#request, this.settings.timeoutMs);
  }

  protected renewalFailed(err: unknown): NatError {
    return new NatError(
      NAT_ERROR_CODES.RENEWAL_FAILED,
      `Renewing the ${this.protocol} mapping of port ${this.externalPort} failed: ${(err as Error).message}. Retrying; the mapping ends when its lease runs out.`,
      { cause: err, details: errorDetails(err) },
    );
  }

  protected removalFailed(err: unknown): NatError | undefined {
    if (err instanceof UpnpCallError && err.upnpErrorCode === UPNP_NO_SUCH_ENTRY) return undefined;
    return new NatError(
      NAT_ERROR_CODES.REMOVE_FAILED,
      `Removing the ${this.protocol} mapping of port ${this.externalPort} failed: ${(err as Error).message}.` +
        (this.leaseSeconds > 0 ? ` It expires by itself within ${this.leaseSeconds} s.` : " It is permanent: delete it in the router's UPnP table."),
      { cause: err, details: errorDetails(err) },
    );
  }

  protected override settleRenewal(renewing: Promise<void>): Promise<void> {
    return withTimeout(renewing, this.settings.timeoutMs);
  }
}

/** The UPnP facts of a failed call, for `NatError.details`. */
export function errorDetails(err: unknown): Record<string, unknown> {
  if (!(err instanceof UpnpCallError)) return {};
  const out: Record<string, unknown> = {};
  if (err.upnpErrorCode !== undefined) out["upnpErrorCode"] = err.upnpErrorCode;
  if (err.httpStatus !== undefined) out["httpStatus"] = err.httpStatus;
  return out;
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms); // ref'd on purpose: the delete must still go out
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
