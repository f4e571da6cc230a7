/**
 * Port mapping for `start({ openPort: true })`: asks a `PortMapper` to
 * forward the listening port, within a time bound and never rejecting.
 */

import { ERROR_TEXTS, toError } from "@xppg/errors";
import type { PortMapper } from "@xppg/nat";
import { NODE_ERROR_CODES, PlaygroundError } from "./errors.js";
import type { PortMappingResult, UnansweredPortMapping } from "./options.js";

/** Extra wait beyond the mapper's own time bound before `start` gives up on it. */
const OPEN_PORT_GRACE_MS = 500;

/**
 * Maps the port, never longer than `timeoutMs` (plus a grace for the
 * mapper's own bound) and never rejecting: a missing gateway, a mapper that
 * throws or hangs all give an unmapped result with the reason. A mapping
 * that succeeds after we stopped waiting is removed.
 */
export async function openPort(getMapper: () => Promise<PortMapper>, port: number, timeoutMs: number, description: string): Promise<PortMappingResult> {
  const unmapped = (error: PlaygroundError): UnansweredPortMapping => ({
    mapped: false,
    method: null,
    externalIp: null,
    externalPort: port,
    internalPort: port,
    internalIp: null,
    protocol: "TCP",
    leaseSeconds: 0,
    error,
    remove: async () => {},
  });
  let mapping: Promise<PortMappingResult>;
  try {
    const mapper = await getMapper();
    mapping = Promise.resolve(mapper.map({ internalPort: port, externalPort: port, protocol: "TCP", description, timeoutMs }));
  } catch (cause) {
    mapping = Promise.reject(cause);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs + OPEN_PORT_GRACE_MS);
  });
  try {
    const result = await Promise.race([mapping, bound]);
    if (result !== "timeout") return result;
    void mapping.then((late) => late.remove()).catch(() => {});
    return unmapped(new PlaygroundError(NODE_ERROR_CODES.TIMEOUT, ERROR_TEXTS ? `The port mapper gave no answer within ${timeoutMs} ms; the node runs without a mapped port.` : [timeoutMs]));
  } catch (cause) {
    return unmapped(new PlaygroundError(NODE_ERROR_CODES.PORT_MAPPING_FAILED, ERROR_TEXTS ? `Port mapping failed: ${toError(cause).message}. The node runs without a mapped port.` : [toError(cause).message], { cause }));
  } finally {
    clearTimeout(timer);
  }
}
