import type { NatError } from "./errors.js";
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

/** The facts of a granted mapping, as every protocol reports them. */
export type LeaseFacts = Pick<NatMapped, "method" | "externalIp" | "externalPort" | "internalPort" | "internalIp" | "protocol" | "leaseSeconds">;

/**
 * A mapping a gateway holds, whatever the protocol: renews its lease at
 * half-time while alive (timers `unref()`ed, a failed renewal retried at a
 * quarter lease) and deletes it on `remove()`. A subclass says how to renew
 * and delete with its protocol and how to word a failure; it calls
 * {@link LeaseMapping.startRenewal} from its constructor when it should renew.
 */
export abstract class LeaseMapping implements NatMapped {
  readonly mapped = true as const;
  readonly method: NatMethod;
  readonly externalIp: string | null;
  readonly externalPort: number;
  readonly internalPort: number;
  readonly internalIp: string;
  readonly protocol: NatProtocol;
  readonly leaseSeconds: number;

  /** The settings the mapping was made with. */
  protected readonly settings: MappingSettings;
  /** The lease the gateway granted last (a renewal may change it). */
  protected lease: number;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;
  #removing: Promise<void> | undefined;

  protected constructor(facts: LeaseFacts, settings: MappingSettings) {
    this.settings = settings;
    this.method = facts.method;
    this.externalIp = facts.externalIp;
    this.externalPort = facts.externalPort;
    this.internalPort = facts.internalPort;
    this.internalIp = facts.internalIp;
    this.protocol = facts.protocol;
    this.leaseSeconds = facts.leaseSeconds;
    this.lease = facts.leaseSeconds;
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

  /** Schedules the first renewal at half the current lease. */
  protected startRenewal(): void {
    this.#schedule(renewDelayMs(this.lease));
  }

  /** Refreshes the lease with the gateway; resolves with the lease granted, in seconds. */
  protected abstract refresh(): Promise<number>;
  /** Deletes the mapping at the gateway. */
  protected abstract release(): Promise<void>;
  /** The error `onError` gets when a renewal failed with `err`. */
  protected abstract renewalFailed(err: unknown): NatError;
  /** The error `onError` gets when the delete failed with `err`, or undefined when that is no failure. */
  protected abstract removalFailed(err: unknown): NatError | undefined;

  /** Waits for a renewal in flight before the delete goes out; a subclass may bound the wait. */
  protected settleRenewal(renewing: Promise<void>): Promise<void> {
    return renewing;
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
      const lease = await this.refresh();
      if (this.#removing !== undefined) return;
      this.lease = lease;
      this.#schedule(renewDelayMs(this.lease));
      this.settings.onRenewed?.({ leaseSeconds: this.lease });
    } catch (err) {
      if (this.#removing !== undefined) return;
      this.#schedule(retryDelayMs(this.lease));
      this.settings.onError?.(this.renewalFailed(err));
    }
  }

  async #remove(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    // A renewal in flight could re-create the mapping after our delete: let it land first.
    if (this.#renewing !== undefined) await this.settleRenewal(this.#renewing);
    try {
      await this.release();
    } catch (err) {
      const error = this.removalFailed(err);
      if (error !== undefined) this.settings.onError?.(error);
    }
  }
}

/** A result that holds no mapping; `remove()` does nothing. */
export function unmappedResult(
  request: { externalPort: number; internalPort: number; protocol: NatProtocol },
  error: NatError,
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
