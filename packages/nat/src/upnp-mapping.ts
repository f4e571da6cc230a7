import { UPNP_NO_SUCH_ENTRY } from "./constants.js";
import { NAT_ERROR_CODES, NatError, UpnpCallError } from "./errors.js";
import type { IgdClient, PortMappingRequest } from "./igd-client.js";
import type { NatError as NatErrorType } from "./errors.js";
import type { NatMapped, NatMethod, NatOptions, NatProtocol, NatUnmapped } from "./types.js";

/** Settings a live mapping keeps from the options. */
export interface MappingSettings {
  readonly renew: boolean;
  readonly timeoutMs: number;
  readonly onError: NatOptions["onError"];
  readonly onRenewed: NatOptions["onRenewed"];
}

/** When to renew a lease of `leaseSeconds`: at half-time, at least 1 s away. */
export function renewDelayMs(leaseSeconds: number): number {
  return Math.max(1000, Math.floor((leaseSeconds * 1000) / 2));
}

/** When to retry after a failed renewal: a quarter lease, between 1 s and 60 s. */
export function retryDelayMs(leaseSeconds: number): number {
  return Math.min(60_000, Math.max(1000, Math.floor((leaseSeconds * 1000) / 4)));
}

/**
 * A mapping the gateway holds: renews its lease at half-time while alive (timers
 * `unref()`ed) and deletes it on `remove()`.
 */
export class UpnpMapping implements NatMapped {
  readonly mapped = true;
  readonly method: NatMethod;
  readonly externalIp: string | null;
  readonly externalPort: number;
  readonly internalPort: number;
  readonly internalIp: string;
  readonly protocol: NatProtocol;
  readonly leaseSeconds: number;

  readonly #client: IgdClient;
  readonly #request: PortMappingRequest;
  readonly #settings: MappingSettings;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #removing: Promise<void> | undefined;

  constructor(client: IgdClient, request: PortMappingRequest, externalIp: string | null, settings: MappingSettings) {
    this.#client = client;
    this.#request = request;
    this.#settings = settings;
    this.method = client.method;
    this.externalIp = externalIp;
    this.externalPort = request.externalPort;
    this.internalPort = request.internalPort;
    this.internalIp = request.internalClient;
    this.protocol = request.protocol;
    this.leaseSeconds = request.leaseSeconds;
    if (settings.renew && request.leaseSeconds > 0) this.#schedule(renewDelayMs(request.leaseSeconds));
  }

  /** Deletes the mapping and stops renewal; idempotent, never rejects. */
  remove(): Promise<void> {
    this.#removing ??= this.#remove();
    return this.#removing;
  }

  /** Removes the mapping: `await using nat = await tryUpnpMap(...)` cleans up at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.remove();
  }

  /** A plain object for logs (what `console.log` and `JSON.stringify` show). */
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
      // Re-adding an identical mapping refreshes its lease (IGD WANIPConnection:1 2.4.16).
      await this.#client.addPortMapping(this.#request, this.#settings.timeoutMs);
      if (this.#removing !== undefined) return;
      this.#schedule(renewDelayMs(this.leaseSeconds));
      this.#settings.onRenewed?.({ leaseSeconds: this.leaseSeconds });
    } catch (err) {
      if (this.#removing !== undefined) return;
      this.#schedule(retryDelayMs(this.leaseSeconds));
      this.#report(
        new NatError(
          NAT_ERROR_CODES.RENEWAL_FAILED,
          `Renewing the ${this.protocol} mapping of port ${this.externalPort} failed: ${(err as Error).message}. Retrying; the mapping ends when its lease runs out.`,
          { cause: err, details: errorDetails(err) },
        ),
      );
    }
  }

  async #remove(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // A renewal in flight could re-create the mapping after our delete: let it land first.
    if (this.#renewing !== undefined) await withTimeout(this.#renewing, this.#settings.timeoutMs);
    try {
      await this.#client.deletePortMapping(this.#request, this.#settings.timeoutMs);
    } catch (err) {
      if (err instanceof UpnpCallError && err.upnpErrorCode === UPNP_NO_SUCH_ENTRY) return;
      this.#report(
        new NatError(
          NAT_ERROR_CODES.REMOVE_FAILED,
          `Removing the ${this.protocol} mapping of port ${this.externalPort} failed: ${(err as Error).message}.` +
            (this.leaseSeconds > 0 ? ` It expires by itself within ${this.leaseSeconds} s.` : " It is permanent: delete it in the router's UPnP table."),
          { cause: err, details: errorDetails(err) },
        ),
      );
    }
  }

  #report(error: NatErrorType): void {
    this.#settings.onError?.(error);
  }
}

/** A result that holds no mapping; `remove()` does nothing. */
export function unmappedResult(
  request: { externalPort: number; internalPort: number; protocol: NatProtocol },
  error: NatErrorType,
): NatUnmapped {
  const remove = (): Promise<void> => Promise.resolve();
  return {
    mapped: false,
    method: null,
    externalIp: null,
    externalPort: request.externalPort,
    internalPort: request.internalPort,
    internalIp: null,
    protocol: request.protocol,
    leaseSeconds: 0,
    error,
    remove,
    [Symbol.asyncDispose]: remove,
  };
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
