/** The `discovery.dht` option: the settings of `@xppg/dht` for `pg.joinTopic`. */

import type { DhtDiscoveryOptions } from "@xppg/dht";
import { invalidArgument, isPlainObject, show } from "./argument-checks.js";

/**
 * Settings of the DHT that `pg.joinTopic` uses: every option of
 * `@xppg/dht`'s `dhtDiscovery` but the app name, which is the node's
 * (`bootstrap`, `nodesFile`, `port`, intervals and limits). They are
 * checked when the first topic is joined.
 */
export type PlaygroundDht = Omit<DhtDiscoveryOptions, "appName"> & {
  /**
   * While in a topic, publish this node's signed address record on the DHT
   * (BEP 44), so peers that know its id find it again (`pg.findPeer`).
   * @default true
   */
  peerRecord?: boolean;
};

/** `discovery.dht`: an object or nothing (the defaults: the public bootstrap routers). */
export function resolveDht(input: unknown, call: string): PlaygroundDht {
  if (input === undefined) return {};
  if (!isPlainObject(input) || "appName" in input) {
    throw invalidArgument(call, `discovery.dht must be an object of @xppg/dht options without appName (the node's is used), got ${show(input)}`, '{ discovery: { dht: { bootstrap: ["203.0.113.7:6881"] } } }');
  }
  if ("peerRecord" in input && typeof input["peerRecord"] !== "boolean") {
    throw invalidArgument(call, `discovery.dht.peerRecord must be true or false, got ${show(input["peerRecord"])}`, "{ discovery: { dht: { peerRecord: false } } }");
  }
  return input;
}
