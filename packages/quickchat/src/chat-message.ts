/**
 * The chat wire format and its validation. Every payload from a peer is
 * hostile until `parseChatPayload` accepts it: a wrong shape or an over-long
 * name or text is refused whole (never half-shown), and characters that
 * could drive a terminal (escape sequences, carriage returns) are removed,
 * so printing an accepted message is safe.
 */

import { safeText } from "@xppg/node";

/** What travels in a `"chat"` message. */
export interface ChatPayload {
  /** The sender's display name (not authenticated: any peer may claim any name). */
  user: string;
  /** The message. */
  text: string;
}

/** Limits applied to incoming messages. */
export interface ChatLimits {
  maxNameLength: number;
  maxTextLength: number;
}

/**
 * Cleans a display name: removes control, zero-width and bidi characters
 * (`safeText` of `@xppg/node`, the same rules as received file names), folds
 * runs of white space into one space and trims. May return "".
 */
export function cleanName(name: string): string {
  return safeText(name, { singleLine: true, removeInvisible: true }).replace(/ {2,}/g, " ").trim();
}

/**
 * Removes the characters of a text that could drive a terminal or reorder
 * what it shows (escape, carriage return, other C0/C1 controls, bidi
 * overrides and isolates); tabs and line breaks stay.
 */
export function cleanText(text: string): string {
  return safeText(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The outcome of a parse: the cleaned value, or a sentence saying what is wrong. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Checks a text's length and cleans it. */
function parseText(text: string, limits: ChatLimits): Parsed<string> {
  if (text.length > limits.maxTextLength) return fail(`the text is longer than ${limits.maxTextLength} characters`);
  const clean = cleanText(text);
  if (clean.trim().length === 0) return fail("the text is empty");
  return { ok: true, value: clean };
}

/** A peer's user name, cleaned, within `maxNameLength` and not empty. */
function parseName(user: string, limits: ChatLimits): Parsed<string> {
  // A bound before cleaning, so a huge name costs no regex pass; cleaning
  // may only shorten it, so the exact check follows.
  if (user.length > limits.maxNameLength * 4) return fail(`the user name is longer than ${limits.maxNameLength} characters`);
  const name = cleanName(user);
  if (name.length === 0) return fail("the user name is empty");
  if (name.length > limits.maxNameLength) return fail(`the user name is longer than ${limits.maxNameLength} characters`);
  return { ok: true, value: name };
}

/** Checks an untrusted `"chat"` payload; accepts only `{ user, text }` within the limits. */
export function parseChatPayload(payload: unknown, limits: ChatLimits): Parsed<ChatPayload> {
  if (!isRecord(payload)) return fail("the payload is not an object { user, text }");
  const { user, text } = payload;
  if (typeof user !== "string") return fail("the user name is not a string");
  if (typeof text !== "string") return fail("the text is not a string");
  const name = parseName(user, limits);
  if (!name.ok) return name;
  const parsed = parseText(text, limits);
  return parsed.ok ? { ok: true, value: { user: name.value, text: parsed.value } } : parsed;
}

/** Checks an untrusted `"chat-name"` payload: `{ user }`, the name a peer goes by, within the limit. */
export function parseNamePayload(payload: unknown, limits: ChatLimits): Parsed<string> {
  if (!isRecord(payload)) return fail("the payload is not an object { user }");
  const { user } = payload;
  if (typeof user !== "string") return fail("the user name is not a string");
  return parseName(user, limits);
}

/**
 * Checks an untrusted `"text"` payload (a Playground's `sendText`); the node
 * already made sure it is `{ text: string }`, this checks the length again.
 */
export function parseTextPayload(payload: unknown, limits: ChatLimits): Parsed<string> {
  const text = isRecord(payload) ? payload.text : undefined;
  if (typeof text !== "string") return fail("the text is not a string");
  return parseText(text, limits);
}
