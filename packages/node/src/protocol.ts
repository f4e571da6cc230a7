/**
 * The xppg peer protocol above the envelope. INTERNALS.md describes it.
 *
 * Control messages use kinds under the reserved `xppg/` prefix, so they never
 * collide with an application's own kinds. Every payload arriving here is
 * hostile until one of the validators below accepts it.
 */

import { LEAN } from "@xppg/framing";
import type { NodeErrorCode } from "./errors.js";
import { parseOffer, type ProtocolOffer } from "./negotiation.js";

/**
 * The newest version of the peer protocol this release speaks.
 * 2: message ids carry the time they were made, and signed broadcasts
 * older than a bound are dropped (INTERNALS.md, "Message ids").
 * 3: state sync by knowledge (the `xppg/state-hello` kind) and state
 * updates of format 3 (signed rows of owned keys). Version 2 never shipped
 * in a release, so this release does not speak it.
 */
export const PROTOCOL_VERSION = 3;

/**
 * The oldest version this release still speaks. A hello offers the range
 * from here to `PROTOCOL_VERSION`; a peer whose range does not overlap is
 * refused (INTERNALS.md, "Negotiation").
 */
export const OLDEST_PROTOCOL_VERSION = PROTOCOL_VERSION;

/** Direct messages on an open link travel in the compact envelope (INTERNALS.md, "Compact direct envelopes"); only in Node (`LEAN`). */
export const LEAN_CAPABILITY = "lean/1";

/**
 * The capabilities of xppg's own optional features this release has
 * (`mesh/1`, ...). An application adds its own, named `x-<feature>/<N>`,
 * with the `capabilities` option.
 */
export const NODE_CAPABILITIES: readonly string[] = ["mesh/1", "files/2", "files-push/1", "reach/1", "route/1", "pex/1", "dup/1", ...(LEAN ? [LEAN_CAPABILITY] : [])];

/** Prefix of the message kinds xppg keeps for itself. */
export const RESERVED_PREFIX = "xppg/";

// The kinds of the control messages, one constant each: a bundler inlines each where it is read (an object of them stays whole).
export const KIND_HELLO = "xppg/hello";
export const KIND_WELCOME = "xppg/welcome";
export const KIND_BYE = "xppg/bye";
export const KIND_PING = "xppg/ping";
export const KIND_PONG = "xppg/pong";
export const KIND_STATE = "xppg/state";
export const KIND_STATE_REQUEST = "xppg/state-request";
export const KIND_STATE_HELLO = "xppg/state-hello";
export const KIND_FILE_OFFER = "xppg/file-offer";
export const KIND_FILE_CHUNK = "xppg/file-chunk";
export const KIND_FILE_END = "xppg/file-end";
export const KIND_FILE_ABORT = "xppg/file-abort";
/** Mesh (capability `mesh/1`): announcements of broadcasts held, `[[origin, id, round], ...]`. */
export const KIND_MESH_IHAVE = "xppg/mesh-ihave";
/** Mesh: make this link a tree link, and send `{ o, i }` if held. */
export const KIND_MESH_GRAFT = "xppg/mesh-graft";
/** Mesh: stop pushing broadcasts whole on this link. */
export const KIND_MESH_PRUNE = "xppg/mesh-prune";
/** Mesh: a node's signed broadcast that it is in the mesh, `{ listen }`. */
export const KIND_MESH_PRESENCE = "xppg/mesh-presence";
/** Files, the swarm way (capability `files/2`): one `@xppg/files` message as raw bytes. */
export const KIND_FILES = "xppg/files";
/** Peer exchange (capability `pex/1`): signed records of known peers, `[[peerId, addresses, time, signature, how], ...]`. */
export const KIND_PEX = "xppg/pex";
/** Routed unicast (capability `route/1`): a routed packet (raw bytes, `route-wire.ts`) for a neighbour to pass on or take. */
export const KIND_ROUTE = "xppg/route";
/** Request/response (`route/1`), directly or end to end: `{ r, k, p }`. */
export const KIND_REQUEST = "xppg/request";
/** The answer to a request: `{ r, p }`, or `{ r, e, m? }` when it failed. */
export const KIND_RESPONSE = "xppg/response";
export const KIND_TEXT = "text";
/** Delivered locally when a file arrives; never accepted from the wire. */
export const KIND_FILE = "file";

/** True for kinds an application may neither send nor receive as its own. */
export function isReservedKind(kind: string): boolean {
  return kind.startsWith(RESERVED_PREFIX) || kind === KIND_FILE;
}

/** The first message on every connection, sent by both sides at once. */
export interface Hello {
  app: string;
  /**
   * The oldest version in `versions`: a node from before negotiation
   * accepts only a hello whose `protocol` equals its own.
   */
  protocol: number;
  /** The protocol versions this side speaks, [oldest, newest]. */
  versions: [number, number];
  /** The capabilities this side supports. */
  caps: string[];
  peerId: string;
  /** Addresses this peer listens on, as it sees them. */
  listen: string[];
  /** Software name and version, for diagnostics only. */
  agent: string;
  /** This side's clock when it sent the hello (ms since the epoch), so a peer can tell two clocks apart before time-checked data is refused. */
  time: number;
}

/** A peer's hello as read: its offer of versions and capabilities checked (a hello from before negotiation offers its one `protocol`). */
export interface RemoteHello {
  app: string;
  peerId: string;
  listen: string[];
  agent: string;
  /** The peer's clock when it sent the hello; undefined from a release before clocks were compared. */
  time: number | undefined;
  offer: ProtocolOffer;
}

/** Why a peer is refused, sent before closing. */
export interface Bye {
  code: string;
  reason: string;
}

/** Why this node refuses a peer at admission: one of this node's own codes. */
export interface Refusal extends Bye {
  code: NodeErrorCode;
}

const MAX_APP_LENGTH = 128;
const MAX_ADDRESSES = 16;
const MAX_ADDRESS_LENGTH = 256;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function shortString(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}

/**
 * Returns the hello, or a sentence saying what is wrong with it. Fields it
 * does not know are ignored, so a newer peer may send more.
 */
export function parseHello(payload: unknown): RemoteHello | string {
  if (!isRecord(payload)) return "the hello is not an object";
  const { app, peerId, listen, agent, time } = payload;
  if (!shortString(app, MAX_APP_LENGTH)) return "the hello has no valid app name";
  if (!shortString(peerId, 256)) return "the hello has no valid peer id";
  if (!Array.isArray(listen) || listen.length > MAX_ADDRESSES || !listen.every((a) => shortString(a, MAX_ADDRESS_LENGTH))) {
    return "the hello's listen addresses are invalid";
  }
  if (agent !== undefined && !(typeof agent === "string" && agent.length <= 128)) return "the hello's agent is invalid";
  if (time !== undefined && !(typeof time === "number" && Number.isFinite(time))) return "the hello's time is invalid";
  const offer = parseOffer(payload);
  if (typeof offer === "string") return offer;
  return { app, peerId, listen, agent: agent ?? "", time, offer };
}

/** Returns the bye, or null when it is malformed (the connection closes either way). */
export function parseBye(payload: unknown): Bye | null {
  if (!isRecord(payload)) return null;
  const { code, reason } = payload;
  if (!shortString(code, 64) || typeof reason !== "string") return null;
  return { code, reason: reason.slice(0, 500) };
}

/** The text message payload: `{ text }`. */
export function parseText(payload: unknown): { text: string } | null {
  if (!isRecord(payload) || typeof payload.text !== "string") return null;
  return payload as { text: string };
}

/**
 * Kinds an application may send whose payload has a fixed shape, with that
 * shape: the receiver drops (and strikes) a peer that breaks it, so the
 * sender checks it first. Every other kind an application picks carries any
 * plain data.
 */
export const FIXED_SHAPE_KINDS: Readonly<Record<string, string>> = { [KIND_TEXT]: "{ text: string }" };

/** True when a payload of `kind` has the shape the receiver requires (always true for a kind without a fixed shape). */
export function hasRequiredShape(kind: string, payload: unknown): boolean {
  return kind !== KIND_TEXT || parseText(payload) !== null;
}

export { isRecord };
