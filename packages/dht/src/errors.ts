import { XPPG_ERROR_CODES, XppgError, type XppgErrorOptions } from "@xppg/errors";
import { DISCOVERY_ERROR_CODES } from "@xppg/discovery";

/** Stable codes of the errors `@xppg/dht` throws or reports. */
export const DHT_ERROR_CODES = {
  /** An option or argument is invalid (a programming error); the message says which and why. */
  INVALID_ARGUMENT: XPPG_ERROR_CODES.INVALID_ARGUMENT,
  /** The DHT's UDP socket could not be opened (the port is taken, or not allowed). */
  UNAVAILABLE: "XPPG_ERR_DHT_UNAVAILABLE",
  /** (Reported) no bootstrap node answered in time; the DHT keeps trying and works once one answers. */
  NO_NODES: "XPPG_ERR_DHT_NO_NODES",
  /** (Reported) an announcement reached no DHT node; it is tried again at the next interval. */
  ANNOUNCE_FAILED: "XPPG_ERR_DHT_ANNOUNCE_FAILED",
  /** (Reported) the nodes file could not be read or written; the DHT runs from its bootstrap list. */
  NODES_FILE: "XPPG_ERR_DHT_NODES_FILE",
  /** (Reported, at most once a minute) the DHT library threw on a packet that passed the screen: a defect to report; the packet was dropped and the DHT carries on. */
  LIBRARY_FAILED: "XPPG_ERR_DHT_LIBRARY_FAILED",
  /** More topics joined at once than `maxTopics`. */
  TOO_MANY_TOPICS: "XPPG_ERR_DHT_TOO_MANY_TOPICS",
  /** The DHT (or the topic) was closed; create a new one. */
  STOPPED: "XPPG_ERR_DHT_STOPPED",
  /** A `peer`/`gone` listener threw; the DHT carries on. */
  LISTENER_FAILED: DISCOVERY_ERROR_CODES.LISTENER_FAILED,
  /** `start()` was aborted through its signal. */
  ABORTED: XPPG_ERROR_CODES.ABORTED,
} as const;

/** One of the {@link DHT_ERROR_CODES}. */
export type DhtErrorCode = (typeof DHT_ERROR_CODES)[keyof typeof DHT_ERROR_CODES];

/** Any error from `@xppg/dht`; `code` is one of {@link DHT_ERROR_CODES}. */
export class DhtError extends XppgError {
  declare readonly code: DhtErrorCode;

  constructor(code: DhtErrorCode, message: string, options?: XppgErrorOptions) {
    super(code, message, options, new.target === DhtError ? "DhtError" : undefined);
  }
}

/** An invalid option: says which and how to call it right. */
export function invalidDhtArgument(what: string, call = "dhtDiscovery()"): DhtError {
  return new DhtError(DHT_ERROR_CODES.INVALID_ARGUMENT, `Invalid argument: ${what}. Fix the call to ${call}.`);
}
