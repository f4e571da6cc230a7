/**
 * One resolved and validated options object: every default filled in, every
 * value checked once, here, so the rooms of the node read plain fields and
 * never repeat `?? DEFAULTS.x`.
 */

import { DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_PAYLOAD_DEPTH } from "@xppg/framing";
import type { PortMapper } from "@xppg/nat";
import { isIdentity, type Identity } from "@xppg/secure";
import { HOST_LACKS, LISTENS_BY_DEFAULT, resolveHostOptions } from "#host";
import type { Replica, SharedStateLimits } from "@xppg/state";
import type { Transport } from "@xppg/transport";
import { checkInteger, checkOptions, checkPositive, checkRules, checkString, invalidArgument, show, type OptionRule } from "./argument-checks.js";
import type { HostOptions } from "./host-options.js";
import { CAPABILITY_NAME, localOffer, type ProtocolOffer } from "./negotiation.js";
import { DEFAULTS, type PlaygroundOptions } from "./options.js";
import { CONNECTION_DEFAULTS, resolveConnections, type ResolvedConnections } from "./connection-options.js";
import { NODE_CAPABILITIES, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION } from "./protocol.js";
import { ROUTING_LIMIT_DEFAULTS, ROUTING_LIMIT_RULES } from "./routing-options.js";
import { ERROR_TEXTS } from "@xppg/errors";

/** The smallest `limits.maxFrameSize`: a hello with its addresses must fit. */
export const MIN_FRAME_SIZE = 4096;

const CALL = "new Playground(appName, options)";

const OPTION_KEYS = [
  "host",
  "port",
  "listen",
  "transports",
  "identity",
  "keyFile",
  "allowPeers",
  "dangerouslyDisableEncryption",
  "limits",
  "heartbeat",
  "autoSyncState",
  "downloadDir",
  "acceptFile",
  "portMapper",
  "state",
  "stateLimits",
  "discovery",
  "capabilities",
  "statePath",
  "stateSyncIntervalMs",
  "stateCanWrite",
  "files",
  "connections",
  "reach",
] as const satisfies readonly (keyof PlaygroundOptions)[];

/** The checks of the plain options, in order (`argument-checks.ts`); the others are checked in `resolveOptions` and `resolveHostOptions`. */
const RULES: Record<string, OptionRule> = {
  host: ["string", '"127.0.0.1"', 0, 256],
  port: ["integer", "{ port: 7337 } (0 picks a free port)", 0, 65535],
  dangerouslyDisableEncryption: ["boolean", "true"],
  autoSyncState: ["boolean", "false"],
  stateCanWrite: ["function", '(writer, key) => !key.startsWith("config/")'],
};

/** How each limit is checked: a number is the least whole number it takes; `true` any number above 0, `Infinity` (off) too; `false` a finite number above 0. */
const LIMITS = {
  maxPeers: 1,
  maxPendingHandshakes: 1,
  handshakeTimeoutMs: false,
  maxFrameSize: MIN_FRAME_SIZE,
  maxPayloadDepth: 1,
  messagesPerSecond: true,
  messageBurst: true,
  broadcastsPerSecond: true,
  broadcastBurst: true,
  bytesPerSecond: true,
  byteBurst: true,
  banThreshold: 1,
  strikeWindowMs: false,
  banDurationMs: true,
  maxFileSize: 0,
  maxIncomingTransfersPerPeer: 1,
  stateRequestsPerMinute: true,
  stateBytesPerSecond: true,
  maxConcurrentSnapshots: 1,
  maxPendingHandshakesPerHost: 1,
  verificationsPerSecond: true,
  broadcastMaxAgeMs: false,
  maxTrackedOrigins: 1,
  maxQueuedBytesPerPeer: 1,
  maxQueuedBytes: 1,
  writeStallTimeoutMs: true,
  maxBroadcastWaitMs: true,
  fileIdleTimeoutMs: true,
  ...ROUTING_LIMIT_RULES,
} as const;

// Each limit's default is the one of the same name in DEFAULTS, but for the frame limits (framing's) and routing's own.
const LIMIT_DEFAULTS = {
  ...ROUTING_LIMIT_DEFAULTS,
  ...Object.fromEntries(Object.keys(LIMITS).flatMap((name) => (name in DEFAULTS ? [[name, DEFAULTS[name as keyof typeof DEFAULTS]]] : []))),
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxPayloadDepth: DEFAULT_MAX_PAYLOAD_DEPTH,
} as ResolvedLimits;
// A limit added without a default of the same name fails to compile here.
type LimitWithoutDefault = Exclude<keyof typeof LIMITS, keyof typeof DEFAULTS | keyof typeof ROUTING_LIMIT_DEFAULTS | "maxFrameSize" | "maxPayloadDepth">;
true satisfies [LimitWithoutDefault] extends [never] ? true : false;

/** Every limit, with its value. */
export type ResolvedLimits = { -readonly [K in keyof typeof LIMITS]: number };

/** The options of one node, resolved and checked (with `lan`, `dht`, `files` and `reach`, the groups only Node backs). */
export interface ResolvedOptions extends HostOptions {
  readonly appName: string;
  readonly listen: readonly string[];
  /** Undefined: the default transport (TCP), made at `start`. */
  readonly transports: readonly Transport[] | undefined;
  readonly identity: Identity;
  readonly encrypted: boolean;
  readonly allowPeers: ReadonlySet<string> | null;
  readonly limits: Readonly<ResolvedLimits>;
  readonly heartbeat: { readonly intervalMs: number; readonly timeoutMs: number };
  readonly autoSyncState: boolean;
  /** Undefined: UPnP from `@xppg/nat`, loaded when a port is to be opened. */
  readonly portMapper: PortMapper | undefined;
  /** Undefined: a new `SharedState`. */
  readonly state: Replica | undefined;
  /** Limits of the default `SharedState` (checked by it when it is made). */
  readonly stateLimits: SharedStateLimits | undefined;
  /** What this node's hello offers: its protocol versions, xppg's capabilities and the application's. */
  readonly offer: ProtocolOffer;
  readonly stateCanWrite: ((writer: string, key: string) => boolean) | undefined;
  readonly connections: ResolvedConnections;
}

/** Most capabilities an application may add: with xppg's own they stay within what a hello may carry. */
export const MAX_APP_CAPABILITIES = 16;

/**
 * Checks the arguments of the constructor (`(appName, options?)` or
 * `(appName, port, options?)`) and fills in every default; throws
 * `XPPG_ERR_INVALID_ARGUMENT` with the right call.
 */
export function resolveOptions(appName: unknown, optionsOrPort: unknown, more?: unknown): ResolvedOptions {
  let input = optionsOrPort;
  if (typeof optionsOrPort === "number") {
    const rest = checkOptions(more, OPTION_KEYS, CALL);
    if (rest.port !== undefined) throw invalidArgument(CALL, ERROR_TEXTS ? `the port came twice (${optionsOrPort} and port: ${show(rest.port)})` : [optionsOrPort, show(rest.port)], ERROR_TEXTS ? `new Playground("app", ${optionsOrPort}, { ...options without port })` : undefined);
    input = { ...rest, port: optionsOrPort };
  }
  else if (more !== undefined) throw invalidArgument(CALL, ERROR_TEXTS ? `a third argument is only taken after a port number, got ${show(more)}` : [show(more)], ERROR_TEXTS ? 'new Playground("app", { port: 7444, ... })' : undefined);
  if (typeof appName !== "string" || appName.length === 0 || appName.length > 128) {
    throw invalidArgument("new Playground(appName, options?)", ERROR_TEXTS ? `appName must be a non-empty string of at most 128 characters, got ${show(appName)}` : [show(appName)], ERROR_TEXTS ? 'new Playground("my-app")' : undefined);
  }
  const o = checkOptions(input, OPTION_KEYS, CALL) as PlaygroundOptions;
  checkRules(o as Record<string, unknown>, RULES, CALL);
  const host = o.host ?? DEFAULTS.host;
  let listen: string[];
  if (o.listen === undefined) listen = LISTENS_BY_DEFAULT ? [tcpAddress(host, o.port ?? DEFAULTS.port)] : [];
  else {
    if (!Array.isArray(o.listen)) throw invalidArgument(CALL, ERROR_TEXTS ? `listen must be an array of addresses, got ${show(o.listen)}` : [show(o.listen)], ERROR_TEXTS ? '{ listen: ["tcp://0.0.0.0:7337"] }' : undefined);
    listen = o.listen.map((a, i) => checkString(a, `listen[${i}]`, CALL, ERROR_TEXTS ? '{ listen: ["tcp://0.0.0.0:7337"] }' : "", 1024));
  }
  let transports: Transport[] | undefined;
  if (o.transports !== undefined) {
    if (!Array.isArray(o.transports) || o.transports.length === 0 || !o.transports.every(isTransport)) {
      throw invalidArgument(CALL, ERROR_TEXTS ? `transports must be a non-empty array of transports (each with listen, dial and canDial), got ${show(o.transports)}` : [show(o.transports)], ERROR_TEXTS ? "{ transports: [tcpTransport()] }" : undefined);
    }
    transports = [...o.transports];
  }
  if (o.identity !== undefined && !isIdentity(o.identity)) {
    throw invalidArgument(CALL, ERROR_TEXTS ? "identity must come from generateIdentity() or loadOrCreateIdentity() of @xppg/secure" : [], ERROR_TEXTS ? "{ identity: await loadOrCreateIdentity(path) }" : undefined);
  }
  const allowPeers = o.allowPeers === undefined ? null : checkStrings(o.allowPeers, "allowPeers", "peer ids", '{ allowPeers: ["xp1...", "xp1..."] }', 256);
  const encrypted = o.dangerouslyDisableEncryption !== true;
  const limits = resolveLimits(o.limits);
  const heartbeat = resolveHeartbeat(o.heartbeat);
  const autoSyncState = o.autoSyncState !== false;
  if (o.portMapper !== undefined && (typeof o.portMapper !== "object" || o.portMapper === null || typeof o.portMapper.map !== "function")) {
    throw invalidArgument(CALL, ERROR_TEXTS ? `portMapper must be an object with a map(options) method, got ${show(o.portMapper)}` : [show(o.portMapper)], ERROR_TEXTS ? "{ portMapper: upnpPortMapper } from @xppg/nat" : undefined);
  }
  if (o.state !== undefined && !isReplica(o.state)) {
    throw invalidArgument(CALL, ERROR_TEXTS ? `state must be a Replica (a SharedState of @xppg/state), got ${show(o.state)}` : [show(o.state)], ERROR_TEXTS ? "{ state: new SharedState({ replicaId }) }" : undefined);
  }
  if (o.stateLimits !== undefined && (typeof o.stateLimits !== "object" || o.stateLimits === null || o.state !== undefined)) {
    throw invalidArgument(CALL, ERROR_TEXTS ? `stateLimits must be an object of @xppg/state limits, and only without state (give those to your SharedState), got ${show(o.stateLimits)}` : [show(o.stateLimits)], ERROR_TEXTS ? "{ stateLimits: { maxKeys: 20000 } }" : undefined);
  }
  const hostOptions = resolveHostOptions(o, appName, host, CALL);
  const appCapabilities = o.capabilities === undefined ? [] : checkCapabilities(o.capabilities);
  // Without encryption broadcasts are not signed, so no node could check one it did not get from its origin: no mesh.
  const connections = o.connections === undefined ? CONNECTION_DEFAULTS : resolveConnections(o.connections);
  // Without encryption: no mesh, no routing. Peer exchange off: the capability is not offered, so no peer sends records. A page lacks what its host cannot back.
  const own = NODE_CAPABILITIES.filter((c) => (encrypted || (c !== "mesh/1" && c !== "route/1")) && (connections.peerExchange || c !== "pex/1") && !HOST_LACKS.includes(c));
  const offer = localOffer(OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, [...own, ...appCapabilities]);
  const stateCanWrite = o.stateCanWrite;
  if (stateCanWrite !== undefined && o.state !== undefined) throw invalidArgument(CALL, ERROR_TEXTS ? "stateCanWrite is for the default state; give your SharedState a canWrite instead" : [], ERROR_TEXTS ? "{ state: new SharedState({ replicaId, canWrite }) }" : undefined);
  // Loaded last: a bad option must not create a key file first.
  const identity = o.identity ?? hostOptions.loadIdentity();
  return {
    appName,
    listen,
    transports,
    identity,
    encrypted,
    allowPeers,
    limits,
    heartbeat,
    autoSyncState,
    portMapper: o.portMapper,
    state: o.state,
    stateLimits: o.stateLimits,
    ...hostOptions,
    offer,
    stateCanWrite,
    connections,
  };
}

/** An array (or set) of strings of 1 to `max` characters: `allowPeers`, `capabilities`. */
function checkStrings(value: unknown, option: string, of: string, right: string, max: number): Set<string> {
  // A string is iterable too, one character at a time: never what was meant.
  if (typeof value === "string" || typeof value !== "object" || value === null || typeof (value as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw invalidArgument(CALL, ERROR_TEXTS ? `${option} must be an array (or set) of ${of}, got ${show(value)}` : [option, of, show(value)], right);
  }
  const set = new Set<string>();
  for (const entry of value as Iterable<unknown>) set.add(checkString(entry, `every ${option} entry`, CALL, right, max));
  return set;
}

function checkCapabilities(value: unknown): string[] {
  const right = '{ capabilities: ["x-reactions/1"] }';
  const names = checkStrings(value, "capabilities", "names", right, 64);
  for (const name of names) {
    // x- names are the application's; every other name belongs to xppg's own features.
    if (!name.startsWith("x-") || !CAPABILITY_NAME.test(name)) {
      throw invalidArgument(CALL, ERROR_TEXTS ? `an application capability is named x-<feature>/<major version> in lower case, got ${show(name)}` : [show(name)], right);
    }
  }
  if (names.size > MAX_APP_CAPABILITIES) throw invalidArgument(CALL, ERROR_TEXTS ? `at most ${MAX_APP_CAPABILITIES} capabilities, got ${names.size}` : [MAX_APP_CAPABILITIES, names.size], right);
  return [...names];
}

function resolveLimits(input: unknown): ResolvedLimits {
  const given = checkOptions(input, Object.keys(LIMITS), CALL, "limits");
  const limits = { ...LIMIT_DEFAULTS };
  for (const [name, rule] of Object.entries(LIMITS) as [keyof ResolvedLimits, number | boolean][]) {
    const value = given[name];
    if (value === undefined) continue;
    const right = `{ limits: { ${name}: ${LIMIT_DEFAULTS[name]} } }`;
    limits[name] = typeof rule === "number" ? checkInteger(value, `limits.${name}`, CALL, right, rule) : checkPositive(value, `limits.${name}`, CALL, right, rule);
  }
  // One host's share of the pending handshakes: 4, or a quarter of them when that is less.
  if (given.maxPendingHandshakesPerHost === undefined) {
    limits.maxPendingHandshakesPerHost = Math.max(1, Math.min(DEFAULTS.maxPendingHandshakesPerHost, Math.floor(limits.maxPendingHandshakes / 4)));
  }
  return limits;
}

function resolveHeartbeat(input: unknown): { intervalMs: number; timeoutMs: number } {
  const given = checkOptions(input, ["intervalMs", "timeoutMs"], CALL, "heartbeat");
  const right = ERROR_TEXTS ? `{ heartbeat: { intervalMs: ${DEFAULTS.heartbeatIntervalMs}, timeoutMs: ${DEFAULTS.heartbeatTimeoutMs} } }` : "";
  checkRules(given, { intervalMs: ["number", right], timeoutMs: ["number", right] }, CALL, "heartbeat");
  const intervalMs = (given.intervalMs as number | undefined) ?? DEFAULTS.heartbeatIntervalMs;
  const timeoutMs = (given.timeoutMs as number | undefined) ?? DEFAULTS.heartbeatTimeoutMs;
  if (timeoutMs < intervalMs) throw invalidArgument(CALL, ERROR_TEXTS ? `heartbeat.timeoutMs (${timeoutMs}) must be at least heartbeat.intervalMs (${intervalMs})` : [timeoutMs, intervalMs], right);
  return { intervalMs, timeoutMs };
}


function isTransport(value: unknown): value is Transport {
  if (typeof value !== "object" || value === null) return false;
  const t = value as Partial<Transport>;
  return typeof t.name === "string" && typeof t.listen === "function" && typeof t.dial === "function" && typeof t.canDial === "function";
}

function isReplica(value: unknown): value is Replica {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Partial<Replica>;
  return typeof r.snapshot === "function" && typeof r.delta === "function" && typeof r.apply === "function" && typeof r.splitUpdate === "function" && typeof r.on === "function";
}

/** `tcp://host:port`, with brackets around an IPv6 host. */
export function tcpAddress(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}
