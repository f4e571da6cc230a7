import { now as nowMs } from "@xppg/errors";
import { createSocket } from "node:dgram";
import { isIPv4 } from "node:net";
import { DEFAULT_MAPPING_CALL_TIMEOUT_MS, UPNP_ONLY_PERMANENT_LEASES } from "./constants.js";
import { chooseService, fetchServices } from "./description.js";
import { NAT_ERROR_CODES, NatError, UpnpCallError, gatewayText } from "./errors.js";
import type { IgdClient, PortMappingRequest } from "./igd-client.js";
import { createSoapIgdClient } from "./soap-client.js";
import { discoverGateway } from "./ssdp.js";
import type { NatOptions, NatProtocol, NatResult } from "./types.js";
import { unmappedResult, type MappingSettings } from "./lease-mapping.js";
import { checkDescription, checkSignal, normalizeCommon, optionFail } from "./nat-options.js";
import { UpnpMapping, errorDetails } from "./upnp-mapping.js";

interface Normalized {
  readonly internalPort: number;
  readonly externalPort: number;
  readonly protocol: NatProtocol;
  readonly description: string;
  readonly leaseSeconds: number;
  readonly timeoutMs: number;
  readonly mappingCallTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly gatewayUrl: URL | undefined;
  readonly settings: MappingSettings;
}

/** Where the attempt stood when time ran out: it decides the error code. */
type Stage = "discovery" | "control";

/**
 * Asks the UPnP Internet Gateway Device on this LAN (IGDv1 or IGDv2) to forward
 * `externalPort` on its public address to `internalPort` on this machine.
 *
 * Never rejects for a missing or misbehaving gateway: it resolves within about
 * `timeoutMs` with `mapped: false` and a typed `error`. A mapping that the
 * gateway confirms after that is deleted again. Rejects only for invalid options
 * (`XPPG_ERR_NAT_INVALID_OPTIONS`) and when `options.signal` fires first
 * (`XPPG_ERR_ABORTED`).
 *
 * @example
 * const nat = await tryUpnpMap({ internalPort: 7337 });
 * if (nat.mapped) console.log(`reachable at ${nat.externalIp}:${nat.externalPort}`);
 * await nat.remove();
 */
export async function tryUpnpMap(options: NatOptions): Promise<NatResult> {
  const opts = normalize(options);
  if (opts.signal?.aborted) throw abortedError(opts.signal);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  // The caller's signal stops the attempt the same way the deadline does.
  const stop = opts.signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, opts.signal]);
  const state: { stage: Stage; gateway?: string } = { stage: "discovery" };
  const started = nowMs();
  const work = attempt(opts, stop, state);
  // The attempt may settle after we answered; its own code undoes late mappings.
  work.catch(() => {});
  try {
    return await new Promise<NatResult>((resolve, reject) => {
      const onDeadline = (): void => {
        if (opts.signal?.aborted) {
          reject(abortedError(opts.signal));
          return;
        }
        const details = { timeoutMs: opts.timeoutMs, elapsedMs: Math.round(nowMs() - started), ...(state.gateway ? { gateway: state.gateway } : {}) };
        const error =
          state.stage === "discovery"
            ? new NatError(NAT_ERROR_CODES.NO_GATEWAY, `No UPnP gateway answered within ${opts.timeoutMs} ms. Port forwarding must be set up by hand, or the peer must be reached another way.`, { details })
            : new NatError(NAT_ERROR_CODES.TIMEOUT, `The UPnP gateway at ${state.gateway ?? "?"} did not finish the mapping within ${opts.timeoutMs} ms. Try a larger timeoutMs, or forward the port by hand.`, { details });
        resolve(unmappedResult(opts, error));
      };
      stop.addEventListener("abort", onDeadline, { once: true });
      work.then(
        (result) => {
          stop.removeEventListener("abort", onDeadline);
          resolve(result);
        },
        (err: unknown) => {
          stop.removeEventListener("abort", onDeadline);
          resolve(unmappedResult(opts, toNatError(err, state)));
        },
      );
    });
  } finally {
    clearTimeout(timer);
  }
}

async function attempt(opts: Normalized, signal: AbortSignal, state: { stage: Stage; gateway?: string }): Promise<NatResult> {
  let location = opts.gatewayUrl;
  if (location === undefined) {
    location = (await discoverGateway({ signal })).location;
  }
  state.gateway = location.host;
  let services;
  try {
    services = await fetchServices(location, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new NatError(NAT_ERROR_CODES.NO_GATEWAY, `Could not read the UPnP gateway description at ${location.href}: ${(err as Error).message}.`, {
      cause: err,
      details: { gateway: location.host },
    });
  }
  state.stage = "control";
  const chosen = chooseService(services);
  if (chosen === undefined) {
    throw new NatError(
      NAT_ERROR_CODES.UNSUPPORTED_GATEWAY,
      `The UPnP device at ${location.host} offers no WANIPConnection or WANPPPConnection service, so it cannot forward ports.`,
      { details: { gateway: location.host, services: services.map((s) => gatewayText(s.serviceType)) } },
    );
  }
  // One client for IGDv1 and IGDv2: every byte from the gateway passes the same
  // size and time limits, and the control URL is the one parseServices checked.
  const client: IgdClient = createSoapIgdClient(chosen.service.serviceType, chosen.service.controlUrl, chosen.method);
  const internalClient = await localAddressTowards(chosen.service.controlUrl.hostname);

  let externalIp: string | null = null;
  try {
    const ip = await client.getExternalIp(signal);
    externalIp = isIPv4(ip) ? ip : null;
  } catch {
    // not fatal: some gateways fail here and still map
  }
  if (signal.aborted) throw signal.reason;

  const request: PortMappingRequest = {
    externalPort: opts.externalPort,
    internalPort: opts.internalPort,
    internalClient,
    protocol: opts.protocol,
    description: opts.description,
    leaseSeconds: opts.leaseSeconds,
  };
  let granted: PortMappingRequest;
  try {
    await addOrUndo(client, request, signal, opts.mappingCallTimeoutMs);
    granted = request;
  } catch (err) {
    if (signal.aborted || request.leaseSeconds === 0 || !onlyPermanentLeases(err)) throw err;
    // OnlyPermanentLeasesSupported (725): ask again for a permanent lease, which remove() deletes.
    granted = { ...request, leaseSeconds: 0 };
    await addOrUndo(client, granted, signal, opts.mappingCallTimeoutMs);
  }
  return new UpnpMapping(client, granted, externalIp, opts.settings);
}

/**
 * AddPortMapping that never leaves an orphan: if the gateway confirms after the
 * deadline, or never answers (the mapping may exist), a DeletePortMapping follows.
 */
async function addOrUndo(client: IgdClient, request: PortMappingRequest, signal: AbortSignal, callTimeoutMs: number): Promise<void> {
  const undo = (): void => {
    // Best effort: nobody is waiting for this any more, and a failure changes nothing we could report.
    client.deletePortMapping(request, callTimeoutMs).catch(() => {});
  };
  try {
    await client.addPortMapping(request, callTimeoutMs);
  } catch (err) {
    if (err instanceof UpnpCallError && err.outcomeUnknown) undo();
    throw err;
  }
  if (signal.aborted) {
    undo();
    throw signal.reason;
  }
}

/** True for UPnP error 725 (OnlyPermanentLeasesSupported): worth one permanent-lease try. */
function onlyPermanentLeases(err: unknown): boolean {
  return err instanceof UpnpCallError && err.upnpErrorCode === UPNP_ONLY_PERMANENT_LEASES;
}

/** The local address the OS would use to reach `host` (no packet is sent). */
function localAddressTowards(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", (err) => {
      socket.close();
      reject(err);
    });
    socket.connect(9, host, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}

function abortedError(signal: AbortSignal): NatError {
  return new NatError(NAT_ERROR_CODES.ABORTED, "tryUpnpMap was aborted by its signal before it finished; a mapping that lands later is deleted again.", {
    cause: signal.reason,
  });
}

function toNatError(err: unknown, state: { stage: Stage; gateway?: string }): NatError {
  if (err instanceof NatError) return err;
  const gateway = state.gateway ?? "?";
  return new NatError(
    NAT_ERROR_CODES.MAPPING_REFUSED,
    `The UPnP gateway at ${gateway} refused the port mapping: ${(err as Error).message}. The port may be taken, or UPnP forwarding may be switched off.`,
    { cause: err, details: { gateway, ...errorDetails(err) } },
  );
}

function normalize(options: NatOptions): Normalized {
  const fail = optionFail("tryUpnpMap");
  const common = normalizeCommon(options, fail);
  const mappingCallTimeoutMs = options.mappingCallTimeoutMs ?? DEFAULT_MAPPING_CALL_TIMEOUT_MS;
  if (!Number.isFinite(mappingCallTimeoutMs) || mappingCallTimeoutMs <= 0) fail(`mappingCallTimeoutMs must be a positive number, got ${String(mappingCallTimeoutMs)}`);
  const signal = checkSignal(options, fail);
  const description = checkDescription(options, fail);
  let gatewayUrl: URL | undefined;
  if (options.gatewayUrl !== undefined) {
    try {
      gatewayUrl = new URL(options.gatewayUrl);
    } catch {
      fail(`gatewayUrl is not a URL: ${String(options.gatewayUrl)}`);
    }
    if (gatewayUrl?.protocol !== "http:") fail("gatewayUrl must be an http: URL");
  }
  return { ...common, description, mappingCallTimeoutMs, signal, gatewayUrl };
}
