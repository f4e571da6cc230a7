import type { Connection, DialOptions } from "@xppg/transport";
import { dialWithDeadline, type DialAttempt } from "@xppg/transport/adapter";
import { formatWsAddress, parseWsAddressOrThrow, type WsAddress } from "./address.js";

// Browser-safe: shared by the Node and the browser entry points.

/**
 * The dial both entries share: reads the address (rejecting with
 * `XPPG_ERR_BAD_ADDRESS`), then runs `open` with the URL to dial under
 * the deadline and the `AbortSignal`.
 */
export function dialWebSocket(
  address: string,
  dialOptions: DialOptions | undefined,
  dialTimeoutMs: number,
  open: (url: string, target: WsAddress, attempt: DialAttempt) => () => void,
): Promise<Connection> {
  let target: WsAddress;
  try {
    target = parseWsAddressOrThrow(address);
  } catch (err) {
    return Promise.reject(err);
  }
  const url = formatWsAddress(target.host, target.port, target.path, target.secure);
  return dialWithDeadline(address, dialOptions, dialTimeoutMs, (attempt) => open(url, target, attempt));
}
