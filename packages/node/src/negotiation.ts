/**
 * Protocol negotiation: each side's hello offers a range of protocol
 * versions and a set of named capabilities; both sides settle, from the two
 * hellos alone, on the highest version in both ranges and on the
 * capabilities both name. INTERNALS.md ("Negotiation") describes the rule
 * for adding a capability.
 *
 * Everything here is read from an untrusted hello: counts and lengths are
 * checked before anything is copied, unknown capability names and unknown
 * fields are ignored (a newer peer may know more), and the result is the
 * same on both sides whatever order the offers come in.
 */

import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

/** What one side offers. */
export interface ProtocolOffer {
  /** Lowest protocol version it speaks. */
  readonly min: number;
  /** Highest protocol version it speaks. */
  readonly max: number;
  /** Capabilities it supports, sorted, without duplicates. */
  readonly capabilities: readonly string[];
}

/** What two sides settled on. */
export interface Agreement {
  /** The highest version both speak. */
  readonly version: number;
  /** The capabilities both support, sorted. */
  readonly capabilities: readonly string[];
}

/** Highest protocol version a hello may name. */
export const MAX_PROTOCOL_VERSION = 65_535;
/** Most capabilities a hello may list; more is refused. */
export const MAX_CAPABILITIES = 64;
/** Longest capability name a hello may carry; longer is refused. */
export const MAX_CAPABILITY_LENGTH = 64;
/**
 * A capability's name: a feature and its major version, `feature/N`
 * (`mesh/1`, `relay/1`, `files/2`). Names of another shape, within the
 * length limit, are ignored as a future form.
 */
export const CAPABILITY_NAME = /^[a-z][a-z0-9-]{0,47}\/[1-9][0-9]{0,3}$/;

function isVersion(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1 && value <= MAX_PROTOCOL_VERSION;
}

function show(value: unknown): string {
  if (typeof value === "string") return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  return typeof value === "number" ? String(value) : typeof value;
}

/**
 * Reads the offer in a hello (`protocol`, and `versions` and `caps` when
 * present): the offer, or a sentence saying what makes the hello
 * unacceptable. A hello without `versions` (a node from before
 * negotiation) offers exactly its `protocol`.
 */
export function parseOffer(hello: { readonly protocol?: unknown; readonly versions?: unknown; readonly caps?: unknown }): ProtocolOffer | string {
  let min: number;
  let max: number;
  const { protocol, versions, caps } = hello;
  if (versions === undefined) {
    if (!isVersion(protocol)) return `the hello's protocol version ${show(protocol)} is not an integer from 1 to ${MAX_PROTOCOL_VERSION}`;
    min = max = protocol;
  } else {
    if (!Array.isArray(versions) || versions.length !== 2) return `the hello's version range is ${show(versions)}, not [lowest, highest]`;
    const [low, high] = versions as unknown[];
    if (!isVersion(low) || !isVersion(high) || low > high) {
      return `the hello's version range [${show(low)}, ${show(high)}] is not within [1, ${MAX_PROTOCOL_VERSION}] with the lowest first`;
    }
    min = low;
    max = high;
  }
  if (caps === undefined) return { min, max, capabilities: [] };
  if (!Array.isArray(caps)) return `the hello's capabilities are ${show(caps)}, not a list`;
  if (caps.length > MAX_CAPABILITIES) return `the hello lists ${caps.length} capabilities; at most ${MAX_CAPABILITIES} are allowed`;
  const known = new Set<string>();
  for (const name of caps as unknown[]) {
    if (typeof name !== "string") return `the hello lists a capability that is ${show(name)}, not a name`;
    if (name.length > MAX_CAPABILITY_LENGTH) return `the hello lists a capability name of ${name.length} characters; at most ${MAX_CAPABILITY_LENGTH} are allowed`;
    // Duplicates collapse; a name of another shape is a future form: ignored.
    if (CAPABILITY_NAME.test(name)) known.add(name);
  }
  return { min, max, capabilities: [...known].sort() };
}

/** The offer this node puts in its hello, checked like a peer's. */
export function localOffer(min: number, max: number, capabilities: readonly string[]): ProtocolOffer {
  const offer = parseOffer({ versions: [min, max], caps: [...capabilities] });
  if (typeof offer === "string") throw new RangeError(ERROR_TEXTS ? `this node's own offer is invalid: ${offer}` : valuesMessage("", [offer]));
  if (offer.capabilities.length !== new Set(capabilities).size) throw new RangeError(ERROR_TEXTS ? `this node's capabilities must be named feature/N: ${capabilities.join(", ")}` : valuesMessage("", [capabilities.join(", ")]));
  return offer;
}

/** Settles two offers; null when their version ranges do not overlap. The same whichever side calls it. */
export function settle(a: ProtocolOffer, b: ProtocolOffer): Agreement | null {
  const version = Math.min(a.max, b.max);
  if (version < Math.max(a.min, b.min)) return null;
  const theirs = new Set(b.capabilities);
  return { version, capabilities: a.capabilities.filter((c) => theirs.has(c)) };
}

function range(offer: ProtocolOffer): string {
  return offer.min === offer.max ? `version ${offer.min}` : `versions ${offer.min} to ${offer.max}`;
}

/**
 * Why two nodes whose ranges do not overlap cannot talk: both ranges and
 * which side should upgrade. The same sentence on both sides (the nodes
 * are named in peer id order), so each can read the other's bye.
 */
export function mismatchReason(a: { readonly peerId: string; readonly offer: ProtocolOffer }, b: { readonly peerId: string; readonly offer: ProtocolOffer }): string {
  const [x, y] = a.peerId <= b.peerId ? [a, b] : [b, a];
  const older = x.offer.max < y.offer.min ? x : y;
  return (
    `protocol mismatch: ${x.peerId} speaks xppg protocol ${range(x.offer)}, ${y.peerId} speaks ${range(y.offer)}; no version in common. ` +
    `${older.peerId} runs the older release and should upgrade.`
  );
}
