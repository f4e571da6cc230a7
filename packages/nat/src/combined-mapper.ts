import { now as nowMs } from "@xppg/errors";
import { DEFAULT_TIMEOUT_MS } from "./constants.js";
import { NAT_ERROR_CODES, NatError } from "./errors.js";
import { tryNatPmpMap, tryPcpMap, type PmpOptions } from "./try-pmp-map.js";
import { tryUpnpMap } from "./try-upnp-map.js";
import { unmappedResult } from "./lease-mapping.js";
import type { NatResult, PortMapper } from "./types.js";

/** A port-mapping protocol {@link createPortMapper} can try. */
export type PortMappingProtocol = "upnp" | "pcp" | "natpmp";

/** Options of {@link createPortMapper}: defaults for every `map()` call, and the order. */
export interface PortMapperOptions extends Partial<PmpOptions> {
  /**
   * The protocols to try, in order; the first mapping wins.
   * @default ["upnp", "pcp", "natpmp"]
   */
  protocols?: readonly PortMappingProtocol[];
}

/** The order {@link createPortMapper} tries protocols in by default. */
export const DEFAULT_PORT_MAPPING_PROTOCOLS: readonly PortMappingProtocol[] = ["upnp", "pcp", "natpmp"];

/**
 * A {@link PortMapper} that tries UPnP, then PCP, then NAT-PMP, all within one
 * `timeoutMs` (default 2500 ms). Each protocol gets a share of what is left
 * (UPnP 60 %, PCP half the rest, NAT-PMP the remainder) and passes on what it
 * does not use: a gateway that refuses at once costs nothing. A PCP gateway
 * that answers "NAT-PMP only" skips straight to NAT-PMP. When nothing maps, the
 * result's error is the most telling one (a refusal before a timeout before
 * "no gateway") and `details.attempts` lists each protocol's code.
 *
 * @example
 * const mapper = createPortMapper();
 * const nat = await mapper.map({ internalPort: 7337 });
 * console.log(nat.mapped ? `${nat.method}: ${nat.externalIp}:${nat.externalPort}` : nat.error?.code);
 */
export function createPortMapper(options: PortMapperOptions = {}): PortMapper {
  const { protocols = DEFAULT_PORT_MAPPING_PROTOCOLS, ...defaults } = options;
  if (!Array.isArray(protocols) || protocols.length === 0 || protocols.some((p) => !DEFAULT_PORT_MAPPING_PROTOCOLS.includes(p))) {
    throw new NatError(NAT_ERROR_CODES.INVALID_OPTIONS, `Invalid createPortMapper option: protocols must be a non-empty list of "upnp", "pcp", "natpmp".`);
  }
  return { map: (call) => mapInOrder(protocols, { ...defaults, ...call }) };
}

/** The default combined {@link PortMapper}: UPnP, then PCP, then NAT-PMP. */
export const defaultPortMapper: PortMapper = createPortMapper();

const SHARE: Record<PortMappingProtocol, number> = { upnp: 0.6, pcp: 0.5, natpmp: 1 };

async function mapInOrder(protocols: readonly PortMappingProtocol[], options: PmpOptions): Promise<NatResult> {
  const total = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = nowMs() + total;
  const errors: { protocol: PortMappingProtocol; error: NatError }[] = [];
  let skipPcp = false;
  for (const [i, protocol] of protocols.entries()) {
    if (protocol === "pcp" && skipPcp) continue;
    const left = deadline - nowMs();
    if (left < 50) break;
    const last = i === protocols.length - 1;
    const budget = Math.max(50, Math.floor(last ? left : left * SHARE[protocol]));
    const result = await run(protocol, { ...options, timeoutMs: budget });
    if (result.mapped) return result;
    errors.push({ protocol, error: result.error });
    if (protocol === "pcp" && result.error.details?.["natPmp"] === true) skipPcp = true;
  }
  return unmappedResult(
    { externalPort: options.externalPort ?? options.internalPort, internalPort: options.internalPort, protocol: options.protocol ?? "TCP" },
    summarize(errors, total),
  );
}

function run(protocol: PortMappingProtocol, options: PmpOptions): Promise<NatResult> {
  if (protocol === "pcp") return tryPcpMap(options);
  if (protocol === "natpmp") return tryNatPmpMap(options);
  const { gateway: _gateway, gatewayPort: _port, ...upnp } = options;
  return tryUpnpMap(upnp);
}

const RANK: Record<string, number> = {
  [NAT_ERROR_CODES.MAPPING_REFUSED]: 0,
  [NAT_ERROR_CODES.UNSUPPORTED_GATEWAY]: 1,
  [NAT_ERROR_CODES.TIMEOUT]: 2,
  [NAT_ERROR_CODES.NO_GATEWAY]: 3,
};

function summarize(errors: readonly { protocol: PortMappingProtocol; error: NatError }[], total: number): NatError {
  const attempts = errors.map(({ protocol, error }) => ({ protocol, code: error.code }));
  const best = [...errors].sort((a, b) => (RANK[a.error.code] ?? 9) - (RANK[b.error.code] ?? 9))[0];
  if (best === undefined) {
    return new NatError(NAT_ERROR_CODES.TIMEOUT, `No port mapping protocol finished within ${total} ms. Try a larger timeoutMs, or forward the port by hand.`, { details: { attempts, timeoutMs: total } });
  }
  const tried = attempts.map((a) => `${a.protocol}: ${a.code}`).join(", ");
  return new NatError(best.error.code, `${best.error.message} (tried ${tried})`, { cause: best.error, details: { ...best.error.details, attempts } });
}
