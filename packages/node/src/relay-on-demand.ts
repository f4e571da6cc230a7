/**
 * The node's own relay transport, loaded when first used: the node reads
 * relayed addresses from the start (which transport dials what), but the
 * transport, its circuits and hole punching load only at the first dial of a
 * relayed address or the first reservation on a relay (issue 15: a node that
 * never uses a relay does not load them).
 */

import type { Connection, ConnectionHandler, DialOptions } from "@xppg/transport";
import { DEFAULT_MAX_FRAME_SIZE } from "@xppg/transport/adapter";
import type { CircuitConnection } from "./circuit-connection.js";
import { parseRelayAddress } from "./relay-address.js";
import type { RelayListener, RelayTransport, RelayTransportOptions } from "./relay-transport.js";

const NO_CIRCUITS: ReadonlySet<CircuitConnection> = new Set();

/** `relayTransport(options)` of `relay-transport.ts`, loaded at its first `dial` or `listen`. */
export function relayTransportOnDemand(options: RelayTransportOptions): RelayTransport {
  let real: RelayTransport | undefined;
  let loading: Promise<RelayTransport> | undefined;
  const load = (): Promise<RelayTransport> => {
    loading ??= import("./relay-transport.js").then(({ relayTransport }) => (real = relayTransport(options)));
    return loading;
  };
  return {
    name: "relay",
    maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE - 1,
    get circuits(): ReadonlySet<CircuitConnection> {
      return real?.circuits ?? NO_CIRCUITS;
    },
    canDial: (address: string): boolean => parseRelayAddress(address)?.peerId !== undefined,
    dial: async (address: string, dialOptions?: DialOptions): Promise<Connection> => (await load()).dial(address, dialOptions),
    listen: async (address: string, onConnection: ConnectionHandler): Promise<RelayListener> => (await load()).listen(address, onConnection),
  };
}
