import { DEFAULT_DESCRIPTION, DEFAULT_LEASE_SECONDS, DEFAULT_TIMEOUT_MS } from "./constants.js";
import { NAT_ERROR_CODES, NatError } from "./errors.js";
import type { MappingSettings } from "./lease-mapping.js";
import type { NatOptions, NatProtocol } from "./types.js";

/** Throws `XPPG_ERR_NAT_INVALID_OPTIONS` for an option of the function `name`. */
export type OptionFail = (what: string) => never;

/** The options every mapping function reads, checked. */
export interface CommonOptions {
  readonly internalPort: number;
  readonly externalPort: number;
  readonly protocol: NatProtocol;
  readonly leaseSeconds: number;
  readonly timeoutMs: number;
  readonly settings: MappingSettings;
}

/** A thrower of `Invalid <name> option: <what>.` errors. */
export function optionFail(name: string): OptionFail {
  return (what) => {
    throw new NatError(NAT_ERROR_CODES.INVALID_OPTIONS, `Invalid ${name} option: ${what}.`);
  };
}

/** A port option: an integer from 1 to 65535. */
export function checkPort(fail: OptionFail, key: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) fail(`${key} must be an integer from 1 to 65535, got ${String(value)}`);
  return value as number;
}

/** Checks the options object, the ports, the protocol, the lease and the timeout, in that order. */
export function normalizeCommon(options: NatOptions, fail: OptionFail): CommonOptions {
  if (typeof options !== "object" || options === null) fail("options must be an object");
  const internalPort = checkPort(fail, "internalPort", options.internalPort);
  const externalPort = options.externalPort === undefined ? internalPort : checkPort(fail, "externalPort", options.externalPort);
  const protocol = options.protocol ?? "TCP";
  if (protocol !== "TCP" && protocol !== "UDP") fail(`protocol must be "TCP" or "UDP", got ${String(protocol)}`);
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 0 || leaseSeconds > 0xffffffff) fail(`leaseSeconds must be a whole number of seconds >= 0, got ${String(leaseSeconds)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Past 2^31 - 1 ms a Node timer fires at once: that would read as "no answer", not as a bad option.
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647) fail(`timeoutMs must be a positive number of milliseconds up to 2147483647, got ${String(timeoutMs)}`);
  return {
    internalPort,
    externalPort,
    protocol,
    leaseSeconds,
    timeoutMs,
    settings: { renew: options.renew ?? true, timeoutMs, onError: options.onError, onRenewed: options.onRenewed },
  };
}

/** The `description` option: a string of at most 256 characters. */
export function checkDescription(options: NatOptions, fail: OptionFail): string {
  const description = options.description ?? DEFAULT_DESCRIPTION;
  if (typeof description !== "string" || description.length > 256) fail("description must be a string of at most 256 characters");
  return description;
}

/** The `signal` option: an `AbortSignal` or nothing. */
export function checkSignal(options: NatOptions, fail: OptionFail): AbortSignal | undefined {
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) fail("signal must be an AbortSignal");
  return signal;
}
