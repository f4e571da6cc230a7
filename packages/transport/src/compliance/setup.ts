import type { Transport } from "../transport.js";

/** What a transport under test provides to `transportComplianceTests`. */
export interface ComplianceSetup {
  /** The transport under test. */
  transport: Transport;
  /**
   * The transport that listens, for a transport under test that only dials
   * (a browser WebSocket): its listeners accept the dials of `transport`.
   * The listen tests (bad listen addresses, two listeners) then run against it.
   * @default transport
   */
  listenTransport?: Transport;
  /**
   * A loopback address to listen on that picks a fresh port or name each
   * time (`"tcp://127.0.0.1:0"`, `"memory://"`).
   */
  listenAddress: string;
  /**
   * The transport's frame limit.
   * @default transport.maxFrameSize, else 1048576
   */
  maxFrameSize?: number;
  /**
   * What both ends of a connection made over `listenAddress` report as
   * `remoteHost` (`"127.0.0.1"`, `"::1"`). Without it the suite checks only
   * its form and that it is the same on every connection between the same
   * two ends.
   */
  remoteHost?: string;
  /**
   * Addresses dial and listen must reject with `XPPG_ERR_BAD_ADDRESS`.
   * @default ["not an address", "<name>://"]
   */
  badAddresses?: string[];
  /**
   * Most bytes the backpressure test sends while the receiver is paused
   * before it fails for want of a pending `send`.
   * @default 67108864 (64 MiB)
   */
  backpressureLimitBytes?: number;
  /** Called once after the suite (close servers, remove temp state). */
  teardown?: () => void | Promise<void>;
}

/** What the transport under test says of itself, where the tests cannot find it out before they run. */
export interface ComplianceOptions {
  /**
   * Its connections lend room of their send buffer (`lendRoom` with
   * `sendLent`, optional): the lending tests run, and fail if a connection
   * lends nothing. Without it, one test checks that a connection lends
   * nothing (no `lendRoom`, or one that answers `undefined`).
   */
  lends?: boolean;
}
