import { NAT_ERROR_CODES, NatError } from "./errors.js";
import { renewDelayMs, retryDelayMs, type MappingSettings } from "./upnp-mapping.js";
import type { NatMapped, NatProtocol } from "./types.js";

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
export class PmpMapping implements NatMapped {
  readonly mapped = true as const;
  readonly method: "pcp" | "natpmp";
  readonly externalIp: string | null;
  readonly externalPort: number;
  readonly internalPort: number;
  readonly internalIp: string;
  readonly protocol: NatProtocol;
  readonly leaseSeconds: number;

  readonly #client: PmpClient;
  readonly #settings: MappingSettings;
  #lease: number;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #removing: Promise<void> | undefined;

  constructor(client: PmpClient, grant: PmpGrant, internalPort: number, protocol: NatProtocol, settings: MappingSettings) {
    this.#client = client;
    this.#settings = settings;
    this.method = client.method;
    this.externalIp = grant.externalIp;
    this.externalPort = grant.externalPort;
    this.internalPort = internalPort;
    this.internalIp = client.internalIp;
    this.protocol = protocol;
    this.leaseSeconds = grant.lifetimeSeconds;
    this.#lease = grant.lifetimeSeconds;
    if (settings.renew) this.#schedule(renewDelayMs(this.#lease));
  }

  /** Deletes the mapping and stops renewal; idempotent, never rejects. */
  remove(): Promise<void> {
    this.#removing ??= this.#remove();
    return this.#removing;
  }

  /** The same as {@link PmpMapping.remove}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.remove();
  }

  /** A plain object for logs. */
  toJSON(): Record<string, unknown> {
    return {
      mapped: true,
      method: this.method,
      externalIp: this.externalIp,
      externalPort: this.externalPort,
      internalIp: this.internalIp,
      internalPort: this.internalPort,
      protocol: this.protocol,
      leaseSeconds: this.leaseSeconds,
    };
  }

  #schedule(delayMs: number): void {
    if (this.#removing !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#renewing = this.#renew().finally(() => {
        this.#renewing = undefined;
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #renew(): Promise<void> {
    try {
      // The same request again refreshes the lifetime (RFC 6886 3.3, RFC 6887 11.2.1).
      const grant = await this.#client.request(this.leaseSeconds, this.externalPort, this.#settings.timeoutMs);
      if (this.#removing !== undefined) return;
      this.#lease = grant.lifetimeSeconds;
      this.#schedule(renewDelayMs(this.#lease));
      this.#settings.onRenewed?.({ leaseSeconds: this.#lease });
    } catch (err) {
      if (this.#removing !== undefined) return;
      this.#schedule(retryDelayMs(this.#lease));
      this.#settings.onError?.(
        new NatError(
          NAT_ERROR_CODES.RENEWAL_FAILED,
          `Renewing the ${this.protocol} mapping of port ${this.externalPort} with ${this.method} failed: ${(err as Error).message} Retrying; the mapping ends when its lifetime runs out.`,
          { cause: err, details: { gateway: this.#client.gateway } },
        ),
      );
    }
  }

  async #remove(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#renewing !== undefined) await this.#renewing;
    try {
      await this.#client.request(0, 0, this.#settings.timeoutMs);
    } catch (err) {
      this.#settings.onError?.(
        new NatError(
          NAT_ERROR_CODES.REMOVE_FAILED,
          `Removing the ${this.protocol} mapping of port ${this.externalPort} with ${this.method} failed: ${(err as Error).message} It expires by itself within ${this.#lease} s.`,
          { cause: err, details: { gateway: this.#client.gateway } },
        ),
      );
    }
  }
}
