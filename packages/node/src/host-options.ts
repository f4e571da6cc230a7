/**
 * The options only a Node host can back: the key file, LAN discovery, the DHT of
 * `pg.joinTopic`, the swarm file protocol (`files`), reachability
 * (`reach`), received files (`downloadDir`, `acceptFile`) and the state's
 * file (`statePath`, `stateSyncIntervalMs`). Reached through `#host` (see
 * `host.ts`); a page's `#host` refuses them in words instead
 * (`browser/host.ts`), so a page's build holds none of their checks.
 */

import { isIPv4 } from "node:net";
import { generateIdentity, type Identity } from "@xppg/secure";
import { loadOrCreateIdentitySync } from "@xppg/secure/key-file";
import type { StateStore } from "@xppg/state";
import { openFileStore } from "@xppg/state/store";
import { checkInteger, checkOptions, checkRules, invalidArgument, isPlainObject, show, type OptionRule } from "./argument-checks.js";
import { resolveDht, type PlaygroundDht } from "./dht-options.js";
import type { ResolvedLan } from "./discovery-room.js";
import { resolveFilesOptions, type PlaygroundFilesOptions } from "./files-options.js";
import type { PlaygroundOptions } from "./options.js";
import { resolveReach, type ResolvedReach } from "./reach-options.js";

/** The checks of the plain options only Node backs (`argument-checks.ts`). */
const RULES: Record<string, OptionRule> = {
  keyFile: ["string", '"./my-node.key"'],
  downloadDir: ["string", '"./downloads"'],
  acceptFile: ["function", "({ from, name, size }) => size < 1e6"],
  statePath: ["string", '"./my-node.state"'],
  stateSyncIntervalMs: ["integer", "100", 0],
};

/** The options a host backs, resolved and checked. */
export interface HostOptions {
  /** LAN discovery, or null when off. */
  readonly lan: ResolvedLan | null;
  /** Settings of the DHT `pg.joinTopic` opens. */
  readonly dht: PlaygroundDht;
  readonly files: PlaygroundFilesOptions;
  readonly reach: ResolvedReach;
  readonly downloadDir: string;
  readonly acceptFile: (offer: { from: string; name: string; size: number }) => boolean;
  /** Opens the default state's store (`statePath`), when the node is wired; undefined: memory only. */
  readonly openStore: (() => StateStore) | undefined;
  /** The identity when none is given: `keyFile`'s, else a new one; called once every option was checked. */
  readonly loadIdentity: () => Identity;
}

/** Checks the options only Node backs (each group left out is its defaults, without running its checks). */
export function resolveHostOptions(o: PlaygroundOptions, appName: string, host: string, call: string): HostOptions {
  checkRules(o as Record<string, unknown>, RULES, call);
  const { keyFile, statePath, stateSyncIntervalMs } = o;
  if (o.identity !== undefined && keyFile !== undefined) throw invalidArgument(call, "give either identity or keyFile, not both", "{ identity } or { keyFile }");
  if (statePath !== undefined && o.state !== undefined) {
    throw invalidArgument(call, "statePath is for the default state; give your SharedState a store instead", "{ state: new SharedState({ replicaId, store: openFileStore(path) }) }");
  }
  if (stateSyncIntervalMs !== undefined && statePath === undefined) throw invalidArgument(call, "stateSyncIntervalMs needs statePath", '{ statePath: "./my-node.state", stateSyncIntervalMs: 100 }');
  return {
    lan: o.discovery === undefined ? null : resolveLan(o.discovery, host, call),
    dht: resolveDht((o.discovery as { dht?: unknown } | undefined)?.dht, call),
    files: o.files === undefined ? {} : resolveFilesOptions(o.files),
    reach: resolveReach(o.reach, host),
    downloadDir: o.downloadDir ?? defaultDownloadDir(safeFolder(appName)),
    acceptFile: o.acceptFile ?? (() => true),
    // Opened when the node is wired, after every option was checked.
    openStore: statePath === undefined ? undefined : () => openFileStore(statePath, { syncIntervalMs: stateSyncIntervalMs ?? 0 }),
    // Loaded last: a bad option must not create a key file first.
    loadIdentity: () => (keyFile === undefined ? generateIdentity() : loadOrCreateIdentitySync(keyFile)),
  };
}

/**
 * Where received files go unless `downloadDir` is given: per user
 * (`$XDG_DATA_HOME` or `~/.local/share`, then `xppg/downloads/<folder>`),
 * never a shared folder another local user could prepare (a symlink) for us.
 */
function defaultDownloadDir(folder: string): string {
  // Node's own node:os and node:path, not ES module imports (each would be a module more in every node's load, issue 15).
  const { join } = process.getBuiltinModule("node:path");
  const dataHome = process.env.XDG_DATA_HOME || join(process.getBuiltinModule("node:os").homedir(), ".local", "share");
  return join(dataHome, "xppg", "downloads", folder);
}

function safeFolder(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_").slice(0, 64) || "app";
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
