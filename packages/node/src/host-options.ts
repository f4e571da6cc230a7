/**
 * The option groups only a Node host can back: LAN discovery, the DHT of
 * `pg.joinTopic`, the swarm file protocol (`files`) and reachability
 * (`reach`). Reached through `#host` (see `host.ts`); a page's `#host`
 * refuses these groups in words instead (`browser/host.ts`), so a page's
 * build holds none of their checks.
 */

import { isIPv4 } from "node:net";
import { checkInteger, checkOptions, invalidArgument, isPlainObject, show } from "./argument-checks.js";
import { resolveDht, type PlaygroundDht } from "./dht-options.js";
import type { ResolvedLan } from "./discovery-room.js";
import { resolveFilesOptions, type PlaygroundFilesOptions } from "./files-options.js";
import type { PlaygroundOptions } from "./options.js";
import { resolveReach, type ResolvedReach } from "./reach-options.js";

/** The option groups a host backs, resolved and checked. */
export interface HostOptions {
  /** LAN discovery, or null when off. */
  readonly lan: ResolvedLan | null;
  /** Settings of the DHT `pg.joinTopic` opens. */
  readonly dht: PlaygroundDht;
  readonly files: PlaygroundFilesOptions;
  readonly reach: ResolvedReach;
}

/** Checks `discovery`, `files` and `reach` (each group left out is its defaults, without running its checks). */
export function resolveHostOptions(o: PlaygroundOptions, host: string, call: string): HostOptions {
  return {
    lan: o.discovery === undefined ? null : resolveLan(o.discovery, host, call),
    dht: resolveDht((o.discovery as { dht?: unknown } | undefined)?.dht, call),
    files: o.files === undefined ? {} : resolveFilesOptions(o.files),
    reach: resolveReach(o.reach, host),
  };
}

/** `discovery: { lan: true | { interface, mdnsPort } }`; a specific IPv4 `host` is also the discovery interface. */
function resolveLan(input: unknown, host: string, call: string): ResolvedLan | null {
  const given = checkOptions(input, ["lan", "dht"], call, "discovery");
  const right = '{ discovery: { lan: true } } or { discovery: { lan: { interface: "192.168.1.20" } } }';
  if (given.lan === undefined || given.lan === false) return null;
  const fromHost = isIPv4(host) && host !== "0.0.0.0" ? host : undefined;
  if (given.lan === true) return { interface: fromHost, mdnsPort: undefined };
  if (!isPlainObject(given.lan)) throw invalidArgument(call, `discovery.lan must be true, false or { interface }, got ${show(given.lan)}`, right);
  const lan = checkOptions(given.lan, ["interface", "mdnsPort"], call, "discovery.lan");
  if (lan.interface !== undefined && (typeof lan.interface !== "string" || !isIPv4(lan.interface))) {
    throw invalidArgument(call, `discovery.lan.interface must be the IPv4 address of a local interface, got ${show(lan.interface)}`, right);
  }
  const mdnsPort = lan.mdnsPort === undefined ? undefined : checkInteger(lan.mdnsPort, "discovery.lan.mdnsPort", call, "{ discovery: { lan: { mdnsPort: 5353 } } }", 1, 65535);
  return { interface: lan.interface ?? fromHost, mdnsPort };
}
