import { NAT_ERROR_CODES, NatError } from "./errors.js";
import { LeaseMapping, type MappingSettings } from "./lease-mapping.js";
import type { NatProtocol } from "./types.js";

/** What a gateway granted for one PCP or NAT-PMP mapping request. */
export interface PmpGrant {
  readonly externalPort: number;
  readonly lifetimeSeconds: number;
  readonly externalIp: string | null;
}

/** One PCP or NAT-PMP conversation with a gateway, as {@link PmpMapping} drives it. */
export interface PmpClient {
  readonly method: "pcp" | "natpmp";
  readonly gateway: string;
  readonly internalIp: string;
  /** Asks for (or renews, or with `lifetimeSeconds` 0 deletes) the mapping. Rejects with a {@link NatError}; `signal` stops it (`XPPG_ERR_ABORTED`). */
  request(lifetimeSeconds: number, externalPort: number, timeoutMs: number, signal?: AbortSignal): Promise<PmpGrant>;
}

/**
 * A mapping a PCP or NAT-PMP gateway holds: renewed at half its lifetime while
 * alive (timers `unref()`ed), deleted by `remove()` (a request with lifetime 0).
 */
export class PmpMapping extends LeaseMapping {
  declare readonly method: "pcp" | "natpmp";
  readonly #client: PmpClient;

  constructor(client: PmpClient, grant: PmpGrant, internalPort: number, protocol: NatProtocol, settings: MappingSettings) {
    super(
      {
        method: client.method,
        externalIp: grant.externalIp,
        externalPort: grant.externalPort,
        internalPort,
        internalIp: client.internalIp,
        protocol,
        leaseSeconds: grant.lifetimeSeconds,
      },
      settings,
    );
    this.#client = client;
    if (settings.renew) this.startRenewal();
  }

  protected async refresh(): Promise<number> {
    // The same request again refreshes the lifetime (RFC 6886 3.3, RFC 6887 11.2.1).
    const grant = await this.#client.request(this.leaseSeconds, this.externalPort, this.settings.timeoutMs);
    return grant.lifetimeSeconds;
  }

  protected async release(): Promise<void> {
    await this.#client.request(0, 0, this.settings.timeoutMs);
  }

  protected renewalFailed(err: unknown): NatError {
    return new NatError(
      NAT_ERROR_CODES.RENEWAL_FAILED,
      `Renewing the ${this.protocol} mapping of port ${this.externalPort} with ${this.method} failed: ${(err as Error).message} Retrying; the mapping ends when its lifetime runs out.`,
      { cause: err, details: { gateway: this.#client.gateway } },
    );
  }

  protected removalFailed(err: unknown): NatError {
    return new NatError(
      NAT_ERROR_CODES.REMOVE_FAILED,
      `Removing the ${this.protocol} mapping of port ${this.externalPort} with ${this.method} failed: ${(err as Error).message} It expires by itself within ${this.lease} s.`,
      { cause: err, details: { gateway: this.#client.gateway } },
    );
  }
}
