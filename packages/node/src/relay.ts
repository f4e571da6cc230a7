// @xppg/node/relay: relays, relayed circuits, hole punching and reachability.
// A subpath of its own: it loads node:net and @xppg/transport-tcp, which the
// main entry only loads when a node needs them.
export { RelayService } from "./relay-service.js";
export type { RelayServiceOptions, RelayStats } from "./relay-service.js";
export { parseRelayAddress, relayTransport } from "./relay-transport.js";
export type { RelayListener, RelayTransport, RelayTransportOptions } from "./relay-transport.js";
export { CircuitConnection, MAX_EARLY_DIRECT_BYTES } from "./circuit-connection.js";
export type { CircuitOptions, CircuitPath } from "./circuit-connection.js";
export { RELAY_ERROR_CODES, RelayError } from "./relay-wire.js";
export type { RelayErrorCode } from "./relay-wire.js";
export { MAX_PUNCH_ATTEMPTS, MAX_PUNCHES_PER_ADDRESS_PER_MINUTE, punchTcp } from "./hole-punch.js";
export type { PunchOptions, PunchResult } from "./hole-punch.js";
export { MAX_OBSERVERS, Reachability } from "./reachability.js";
export type { ReachabilityEvents, ReachabilityKind, ReachabilityStatus } from "./reachability.js";
