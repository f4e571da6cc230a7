/**
 * The room topic: one key of the shared state (`chat/topic`, value
 * `{ text, by }`), so every chat and web page in the room sees the same
 * topic, and a newcomer gets it with the state on join. Any member may set it
 * (last writer wins); the value is untrusted and checked like a message.
 */

import type { Playground } from "@xppg/node";
import { cleanName, cleanText, type ChatLimits } from "./chat-message.js";
import { QUICKCHAT_ERROR_CODES, QuickChatError } from "./errors.js";

/** The state key that holds the room topic. */
export const TOPIC_KEY = "chat/topic";

/** Longest topic, in UTF-16 code units. */
export const MAX_TOPIC_LENGTH = 200;

/** The room topic and who set it (the setter's claimed name). */
export interface ChatTopic {
  readonly text: string;
  readonly by: string;
}

/** The topic in a state value, cleaned, or undefined when the value is not a topic within the limits. */
export function parseTopic(value: unknown, limits: ChatLimits): ChatTopic | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { text, by } = value as Record<string, unknown>;
  if (typeof text !== "string" || typeof by !== "string") return undefined;
  if (text.length > MAX_TOPIC_LENGTH || by.length > limits.maxNameLength * 4) return undefined;
  const cleanBy = cleanName(by);
  if (cleanBy.length === 0 || cleanBy.length > limits.maxNameLength) return undefined;
  // One line: a topic is shown in a header.
  return { text: cleanText(text).replace(/\s+/g, " ").trim(), by: cleanBy };
}

/** Calls `handler` with each new topic set anywhere in the room; returns the function that stops it. */
export function watchTopic(pg: Playground, limits: ChatLimits, handler: (topic: ChatTopic) => void): () => void {
  return pg.state.on("change", (changes) => {
    for (const change of changes) {
      if (change.key !== TOPIC_KEY) continue;
      const topic = parseTopic(change.value, limits);
      if (topic !== undefined) handler(topic);
    }
  });
}

/** A chat's topic handlers, following whichever Playground the chat runs on. */
export class ChatTopics {
  readonly #limits: ChatLimits;
  readonly #handlers = new Set<(topic: ChatTopic) => void>();

  constructor(limits: ChatLimits) {
    this.#limits = limits;
  }

  /** Follows the topic of `pg` (each node the chat builds). */
  attach(pg: Playground): void {
    watchTopic(pg, this.#limits, (topic) => {
      for (const handler of [...this.#handlers]) {
        try {
          handler(topic);
        } catch {
          // A throwing topic handler must not stop the others or the state.
        }
      }
    });
  }

  /** Adds a handler; returns the function that removes it. */
  on(handler: (topic: ChatTopic) => void): () => void {
    if (typeof handler !== "function") throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, "onTopic(handler): handler must be a function (topic) => void.");
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  /** The topic `pg`'s state holds, if any. */
  current(pg: Playground): ChatTopic | undefined {
    return parseTopic(pg.state.get(TOPIC_KEY), this.#limits);
  }

  /** Sets the room topic (synced to every peer). */
  set(pg: Playground, text: string, by: string): void {
    if (typeof text !== "string" || text.length > MAX_TOPIC_LENGTH) {
      throw new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, `setTopic(text): text must be a string of at most ${MAX_TOPIC_LENGTH} characters, got ${typeof text === "string" ? `${text.length}` : typeof text}.`);
    }
    pg.state.set(TOPIC_KEY, { text, by });
  }
}
