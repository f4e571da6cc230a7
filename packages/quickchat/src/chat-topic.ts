/** The chat's topic on the DHT: its settings, and the nodes file kept beside the key file. */

import type { PlaygroundOptions } from "@xppg/node";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** The DHT settings of a chat: `discovery.dht` of a Playground. */
export type ChatDhtOptions = NonNullable<NonNullable<PlaygroundOptions["discovery"]>["dht"]>;

/** The `topic` option as an object: the topic and the DHT's settings. */
export interface ChatTopicOptions {
  /** The words both sides type (1 to 256 characters). */
  topic: string;
  /**
   * The DHT's settings (`@xppg/dht` options): `bootstrap` for a private
   * DHT, `port` for its UDP port, limits. With a key file and no
   * `nodesFile`, the DHT nodes are kept beside the key (`<keyFile>.dht-nodes.json`).
   * @default the public bootstrap routers
   */
  dht?: ChatDhtOptions;
}

/** The topic and its DHT settings, or undefined without a topic. @throws `XPPG_ERR_INVALID_ARGUMENT` */
export function chatTopic(option: string | ChatTopicOptions | undefined, keyFile: string | undefined): { topic: string; dht: ChatDhtOptions } | undefined {
  if (option === undefined) return undefined;
  const given = typeof option === "string" ? { topic: option } : option;
  const topic = typeof given === "object" && given !== null ? given.topic : undefined;
  if (typeof topic !== "string" || topic.trim().length === 0 || topic.length > 256) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `topic must be 1 to 256 characters (the words both sides type), got ${JSON.stringify(topic)}.`);
  }
  const dht = given.dht ?? {};
  return { topic, dht: keyFile !== undefined && dht.nodesFile === undefined ? { ...dht, nodesFile: `${keyFile}.dht-nodes.json` } : dht };
}
