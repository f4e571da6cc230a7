import { now as nowMs } from "@xppg/errors";
import { randomBytes } from "node:crypto";
import { isIPv4 } from "node:net";
import { NAT_ERROR_CODES, NatError } from "./errors.js";
import {
  NATPMP_RESULT,
  PCP_SERVER_PORT,
  decodeNatPmpAddressResponse,
  decodeNatPmpMapResponse,
  encodeNatPmpAddressRequest,
  encodeNatPmpMapRequest,
} from "./natpmp-codec.js";
import { PCP_NONCE_BYTES, PCP_RESULT, decodePcpMapResponse, encodePcpMapRequest, isNatPmpVersionAnswer, type PcpMapRequest } from "./pcp-codec.js";
import { PmpMapping, type PmpClient, type PmpGrant } from "./pmp-mapping.js";
import { NATPMP_SCHEDULE_MS, UdpExchangeError, defaultGateway, pcpScheduleMs, udpExchange } from "./udp-exchange.js";
import { unmappedResult, type MappingSettings } from "./lease-mapping.js";
import { checkDescription, checkPort, checkSignal, normalizeCommon, optionFail } from "./nat-options.js";
import type { NatOptions, NatProtocol, NatResult } from "./types.js";

/** Options of {@link tryPcpMap} and {@link tryNatPmpMap}: the UPnP ones plus where the gateway is. */
export interface PmpOptions extends NatOptions {
  /**
   * The gateway's IPv4 address. Requests go only there, never to an address a
   * gateway names.
   * @default the IPv4 default gateway from the routing table (Linux)
   */
  gateway?: string;
  /**
   * The gateway's PCP / NAT-PMP port.
   * @default 5351
   */
  gatewayPort?: number;
}

/**
 * A lifetime to ask for when `leaseSeconds` is 0 ("permanent" in UPnP): PCP and
 * NAT-PMP read 0 as "delete", so we ask for the lifetime RFC 6886 3.3 recommends
 * and renew it.
 */
export const PMP_PERMANENT_LEASE_SECONDS = 7200;

interface Normalized {
  readonly internalPort: number;
  readonly externalPort: number;
  readonly protocol: NatProtocol;
  readonly leaseSeconds: number;
  readonly timeoutMs: number;
  readonly gateway: string | undefined;
  readonly gatewayPort: number;
  readonly signal: AbortSignal | undefined;
  readonly settings: MappingSettings;
}

/**
 * Maps a port with PCP (RFC 6887) through the default gateway. Resolves within
 * about `timeoutMs` and never rejects for a missing or misbehaving gateway
 * (`mapped: false` with a typed `error`); rejects only for invalid options
 * (`XPPG_ERR_NAT_INVALID_OPTIONS`) and when `options.signal` fires first
 * (`XPPG_ERR_ABORTED`; a mapping granted after that is deleted again). A NAT-PMP-only gateway answers
 * `XPPG_ERR_NAT_UNSUPPORTED_GATEWAY` with `details.natPmp: true`.
 *
 * @example
 * const nat = await tryPcpMap({ internalPort: 7337 });
 * if (nat.mapped) console.log(`${nat.externalIp}:${nat.externalPort}`);
 */
export function tryPcpMap(options: PmpOptions): Promise<NatResult> {
  return pmpMap(options, "tryPcpMap", "PCP", "pcp", (opts, gateway, setInternalIp) => {
    const nonce = randomBytes(PCP_NONCE_BYTES);
    return async (lifetimeSeconds, externalPort, timeoutMs, signal) => {
      let request: PcpMapRequest | undefined;
      const answer = await exchange(signal, gateway, opts.gatewayPort, "PCP", timeoutMs, pcpScheduleMs(), (local) => {
        setInternalIp(local);
        request = { clientIp: local, nonce, protocol: opts.protocol, internalPort: opts.internalPort, externalPort, lifetimeSeconds };
        return encodePcpMapRequest(request);
      }, (datagram) => {
        if (isNatPmpVersionAnswer(datagram)) return "natpmp" as const;
        return request === undefined ? undefined : decodePcpMapResponse(datagram, request);
      });
      if (answer === "natpmp") {
        throw new NatError(NAT_ERROR_CODES.UNSUPPORTED_GATEWAY, `The gateway at ${gateway} speaks NAT-PMP, not PCP. Use tryNatPmpMap, or createPortMapper, which falls back to it.`, {
          details: { gateway, natPmp: true },
        });
      }
      if (answer.resultCode !== PCP_RESULT.SUCCESS) {
        const code = answer.resultCode === PCP_RESULT.UNSUPP_VERSION || answer.resultCode === PCP_RESULT.UNSUPP_OPCODE ? NAT_ERROR_CODES.UNSUPPORTED_GATEWAY : NAT_ERROR_CODES.MAPPING_REFUSED;
        throw new NatError(code, `The PCP gateway at ${gateway} refused the mapping with result code ${answer.resultCode} (${pcpResultName(answer.resultCode)}).`, {
          details: { gateway, pcpResultCode: answer.resultCode },
        });
      }
      return { externalPort: answer.externalPort, lifetimeSeconds: answer.lifetimeSeconds, externalIp: answer.externalIp ?? null };
    };
  });
}

/**
 * Maps a port with NAT-PMP (RFC 6886) through the default gateway: asks for the
 * external address, then for the mapping. Same contract as {@link tryPcpMap}.
 *
 * @example
 * const nat = await tryNatPmpMap({ internalPort: 7337, protocol: "UDP" });
 */
export function tryNatPmpMap(options: PmpOptions): Promise<NatResult> {
  return pmpMap(options, "tryNatPmpMap", "NAT-PMP", "natpmp", (opts, gateway, setInternalIp) => {
    let externalIp: string | null = null;
    const refused = (resultCode: number): NatError =>
      new NatError(
        resultCode === NATPMP_RESULT.UNSUPPORTED_VERSION || resultCode === NATPMP_RESULT.UNSUPPORTED_OPCODE ? NAT_ERROR_CODES.UNSUPPORTED_GATEWAY : NAT_ERROR_CODES.MAPPING_REFUSED,
        `The NAT-PMP gateway at ${gateway} refused with result code ${resultCode} (${natPmpResultName(resultCode)}).`,
        { details: { gateway, natPmpResultCode: resultCode } },
      );
    return async (lifetimeSeconds, externalPort, timeoutMs, signal) => {
      const started = nowMs();
      if (lifetimeSeconds > 0 && externalIp === null) {
        const address = await exchange(signal, gateway, opts.gatewayPort, "NAT-PMP", timeoutMs, NATPMP_SCHEDULE_MS, (local) => {
          setInternalIp(local);
          return encodeNatPmpAddressRequest();
        }, decodeNatPmpAddressResponse);
        if (address.resultCode !== NATPMP_RESULT.SUCCESS) throw refused(address.resultCode);
        externalIp = address.externalIp ?? null;
      }
      const left = Math.max(1, timeoutMs - (nowMs() - started));
      const answer = await exchange(signal, gateway, opts.gatewayPort, "NAT-PMP", left, NATPMP_SCHEDULE_MS, (local) => {
        setInternalIp(local);
        return encodeNatPmpMapRequest(opts.protocol, opts.internalPort, externalPort, lifetimeSeconds);
      }, (datagram) => {
        const decoded = decodeNatPmpMapResponse(datagram, opts.protocol);
        // An answer about another internal port is not ours (RFC 6886 3.3).
        if (decoded === undefined || (decoded.resultCode === NATPMP_RESULT.SUCCESS && decoded.internalPort !== opts.internalPort)) return undefined;
        if (decoded.resultCode === NATPMP_RESULT.SUCCESS && lifetimeSeconds > 0 && (decoded.externalPort === 0 || decoded.lifetimeSeconds === 0)) return undefined;
        return decoded;
      });
      if (answer.resultCode !== NATPMP_RESULT.SUCCESS) throw refused(answer.resultCode);
      return { externalPort: answer.externalPort, lifetimeSeconds: answer.lifetimeSeconds, externalIp };
    };
  });
}

/**
 * What PCP and NAT-PMP share: checks the options, finds the gateway, and runs
 * the protocol's request (from `makeRequest`) through {@link mapWith}.
 */
async function pmpMap(
  options: PmpOptions,
  fnName: string,
  label: string,
  method: PmpClient["method"],
  makeRequest: (opts: Normalized, gateway: string, setInternalIp: (ip: string) => void) => PmpClient["request"],
): Promise<NatResult> {
  const opts = normalize(options, fnName);
  if (opts.signal?.aborted) throw abortedError(opts.signal);
  const gateway = opts.gateway ?? (await defaultGateway());
  if (gateway === undefined) return unmappedResult(opts, noRoute(label));
  let internalIp = "0.0.0.0";
  const request = makeRequest(opts, gateway, (ip) => {
    internalIp = ip;
  });
  const client: PmpClient = {
    method,
    gateway,
    get internalIp() {
      return internalIp;
    },
    request,
  };
  return mapWith(client, opts);
}

async function mapWith(client: PmpClient, opts: Normalized): Promise<NatResult> {
  let grant: PmpGrant;
  try {
    grant = await client.request(opts.leaseSeconds, opts.externalPort, opts.timeoutMs, opts.signal);
  } catch (err) {
    if (err instanceof NatError && err.code === NAT_ERROR_CODES.ABORTED) throw err;
    return unmappedResult(opts, toNatError(err, client));
  }
  if (opts.signal?.aborted) {
    // The caller gave up while the answer was on its way: undo, then say so.
    void client.request(0, 0, opts.timeoutMs).catch(() => {});
    throw abortedError(opts.signal);
  }
  return new PmpMapping(client, grant, opts.internalPort, opts.protocol, opts.settings);
}

function abortedError(signal: AbortSignal | undefined): NatError {
  return new NatError(NAT_ERROR_CODES.ABORTED, "The port mapping was aborted by its signal before it finished; a mapping that lands later is deleted again.", { cause: signal?.reason });
}

async function exchange<T>(
  signal: AbortSignal | undefined,
  gateway: string,
  port: number,
  name: string,
  timeoutMs: number,
  scheduleMs: readonly number[],
  request: (local: string) => Buffer,
  accept: (datagram: Buffer) => T | undefined,
): Promise<T> {
  try {
    return await udpExchange({ gateway, port, request, accept, scheduleMs, timeoutMs, signal });
  } catch (err) {
    if (!(err instanceof UdpExchangeError)) throw err;
    if (err.reason === "aborted") throw abortedError(signal);
    const details = { gateway, requestsSent: err.sent, timeoutMs };
    if (err.reason === "silent" && err.sent > 0) {
      // The gateway may have made the mapping and lost only the answer; it then
      // lapses by its lifetime. No datagram of ours goes anywhere but the gateway.
      throw new NatError(NAT_ERROR_CODES.TIMEOUT, `No ${name} answer from the gateway at ${gateway}:${port} within ${timeoutMs} ms. It may not speak ${name}; forward the port by hand, or reach peers through a relay.`, { cause: err, details });
    }
    throw new NatError(NAT_ERROR_CODES.NO_GATEWAY, `No ${name} server at ${gateway}:${port} (${err.message}). Forward the port by hand, or reach peers through a relay.`, { cause: err, details });
  }
}

function toNatError(err: unknown, client: PmpClient): NatError {
  if (err instanceof NatError) return err;
  return new NatError(NAT_ERROR_CODES.MAPPING_REFUSED, `The ${client.method} mapping through ${client.gateway} failed: ${(err as Error).message}`, { cause: err, details: { gateway: client.gateway } });
}

function noRoute(name: string): NatError {
  return new NatError(NAT_ERROR_CODES.NO_GATEWAY, `There is no IPv4 default gateway to ask for a ${name} mapping. Pass { gateway } if you know it, or reach peers through a relay.`);
}

function pcpResultName(code: number): string {
  return Object.entries(PCP_RESULT).find(([, v]) => v === code)?.[0] ?? "unknown";
}

function natPmpResultName(code: number): string {
  return Object.entries(NATPMP_RESULT).find(([, v]) => v === code)?.[0] ?? "unknown";
}

function normalize(options: PmpOptions, name: string): Normalized {
  const fail = optionFail(name);
  const common = normalizeCommon(options, fail);
  checkDescription(options, fail);
  if (options.gateway !== undefined && !isIPv4(options.gateway)) fail(`gateway must be an IPv4 address, got ${String(options.gateway)}`);
  const gatewayPort = options.gatewayPort === undefined ? PCP_SERVER_PORT : checkPort(fail, "gatewayPort", options.gatewayPort);
  const signal = checkSignal(options, fail);
  return {
    ...common,
    leaseSeconds: common.leaseSeconds === 0 ? PMP_PERMANENT_LEASE_SECONDS : common.leaseSeconds,
    gateway: options.gateway,
    gatewayPort,
    signal,
  };
}
