import natUpnp from "nat-upnp";
import { UpnpCallError } from "./errors.js";
import { addPortMappingArguments, deletePortMappingArguments, type IgdClient, type PortMappingKey, type PortMappingRequest, type SoapArguments } from "./igd-client.js";

type RawResponse = Record<string, unknown>;

/**
 * The IGDv1 client: nat-upnp's `Device` (WANIPConnection:1 / WANPPPConnection:1)
 * aimed at the description we discovered ourselves. We skip nat-upnp's own
 * SSDP client (IGDv1 only, every interface, unbounded): no socket of it ever
 * opens, so there is nothing to `close()`.
 *
 * nat-upnp limits, handled here and in `tryUpnpMap`: its HTTP requests carry
 * no timeout (we bound waiting, and undo late successes), and its errors carry
 * no UPnP code ("Request failed: 500"), so 725 cannot be told apart from other
 * faults.
 */
export function createNatUpnpIgdClient(location: URL): IgdClient {
  const device = natUpnp.device.create(location.href);
  const run = (action: string, args: SoapArguments): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      device.run(action, args, (err, res) => {
        if (err) reject(toCallError(action, err));
        else resolve((res ?? {}) as RawResponse);
      });
    });
  return {
    method: "upnp-igd1",
    async getExternalIp(signal) {
      const res = await bounded(run("GetExternalIPAddress", []), signal, "GetExternalIPAddress");
      const key = Object.keys(res).find((k) => /:GetExternalIPAddressResponse$/.test(k));
      const body = key === undefined ? undefined : (res[key] as Record<string, unknown> | undefined);
      const ip = body?.["NewExternalIPAddress"];
      return typeof ip === "string" ? ip.trim() : "";
    },
    async addPortMapping(req: PortMappingRequest, timeoutMs: number) {
      // nat-upnp does not escape argument values.
      await bounded(run("AddPortMapping", addPortMappingArguments(req, xmlText(req.description))), AbortSignal.timeout(timeoutMs), "AddPortMapping");
    },
    async deletePortMapping(key: PortMappingKey, timeoutMs: number) {
      await bounded(
        run("DeletePortMapping", deletePortMappingArguments(key)),
        AbortSignal.timeout(timeoutMs),
        "DeletePortMapping",
      );
    },
  };
}

/** nat-upnp pastes arguments into the envelope unescaped: escape ours. */
function xmlText(text: string): string {
  return text.replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c] as string);
}

function toCallError(action: string, err: Error): UpnpCallError {
  const status = /Request failed: (\d{3})/.exec(err.message);
  if (status) return new UpnpCallError(`${action} failed: HTTP ${status[1]} (nat-upnp reports no UPnP error code)`, { httpStatus: Number(status[1]), cause: err });
  return new UpnpCallError(`${action} failed: ${err.message}`, { cause: err });
}

/**
 * Waits for `work` until `signal` fires. The request itself cannot be
 * cancelled (nat-upnp exposes no handle), so it runs on; its result is dropped.
 */
function bounded<T>(work: Promise<T>, signal: AbortSignal, action: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new UpnpCallError(`${action}: no answer in time`, { outcomeUnknown: true }));
    if (signal.aborted) {
      onAbort();
      work.catch(() => {});
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
