/** The chat's topic on the DHT (the `dhtTopic` option): its settings, and the nodes file kept beside the key file. */

import type { PlaygroundOptions } from "@xppg/node";
import { isXppgError, toError, type XppgError } from "@xppg/errors";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** The DHT settings of a chat: `discovery.dht` of a Playground. */
export type ChatDhtOptions = NonNullable<NonNullable<PlaygroundOptions["discovery"]>["dht"]>;

/** The `dhtTopic` option as an object: the topic and the DHT's settings. */
export interface ChatDhtTopicOptions {
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
export function chatDhtTopic(option: string | ChatDhtTopicOptions | undefined, keyFile: string | undefined): { topic: string; dht: ChatDhtOptions } | undefined {
  if (option === undefined) return undefined;
  const given = typeof option === "string" ? { topic: option } : option;
  const topic = typeof given === "object" && given !== null ? given.topic : undefined;
  if (typeof topic !== "string" || topic.trim().length === 0 || topic.length > 256) {
    throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `dhtTopic must be 1 to 256 characters (the words both sides type), got ${JSON.stringify(topic)}.`);
  }
  const dht = given.dht ?? {};
  return { topic, dht: keyFile !== undefined && dht.nodesFile === undefined ? { ...dht, nodesFile: `${keyFile}.dht-nodes.json` } : dht };
}

/** What a failed `joinTopic` is reported as: the chat carries on without the DHT. */
export function dhtJoinError(error: unknown): XppgError {
  return isXppgError(error) ? error : new QuickChatError(QUICKCHAT_ERROR_CODES.CONNECT_FAILED, `Joining the DHT topic failed: ${toError(error).message}. The chat runs on the LAN and by address.`, { cause: error });
}
