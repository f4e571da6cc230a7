// A peer's chat payloads and room topics, arbitrary and mutated-valid
// (fast-check): each is refused with a reason (a topic: undefined) or read
// within the limits, with nothing left that could move the cursor, recolour
// the terminal or reorder the text.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseChatPayload } from "../src/index.js";
import { parseNamePayload, parseTextPayload } from "../src/chat-message.js";
import { MAX_TOPIC_LENGTH, parseTopic } from "../src/chat-topic.js";

const limits = { maxNameLength: 16, maxTextLength: 40 };
/** True when `text` holds a C0 or C1 control (but tab and line feed), a bidi override or isolate. */
function unsafe(text: string): boolean {
  return [...text].some((c) => {
    const code = c.codePointAt(0)!;
    return (code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
  });
}
const hostileText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.array(fc.constantFrom("a", " ", "\u001b[2J", "\r", "\n", "\t", "\u202e", "\u2067", "\u200b", "\ufeff", "\ud800", "\u0085", "é"), { maxLength: 30 }).map((p) => p.join("")),
);
const payload = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.record({ user: hostileText, text: hostileText }),
  fc.record({ user: fc.anything({ maxDepth: 1 }), text: hostileText }),
  fc.record({ user: hostileText, text: fc.anything({ maxDepth: 1 }) }),
);

describe("chat payloads from a peer", () => {
  it("are refused with a reason, or read within the limits with nothing unsafe to show", () => {
    fc.assert(
      fc.property(payload, (p) => {
        const chat = parseChatPayload(p, limits);
        if (chat.ok) {
          expect(chat.value.user.length).toBeGreaterThan(0);
          expect(chat.value.user.length).toBeLessThanOrEqual(limits.maxNameLength);
          expect(chat.value.text.length).toBeLessThanOrEqual(limits.maxTextLength);
          expect(unsafe(chat.value.user)).toBe(false);
          expect(chat.value.user).not.toMatch(/[\n\t]/);
          expect(unsafe(chat.value.text)).toBe(false);
        } else expect(chat.reason.length).toBeGreaterThan(0);
        const name = parseNamePayload(p, limits);
        if (name.ok) expect(unsafe(name.value)).toBe(false);
        const text = parseTextPayload(p, limits);
        if (text.ok) expect(unsafe(text.value)).toBe(false);
      }),
      { seed: 3, numRuns: 3000 },
    );
  });
});

describe("room topics from the shared state (any member may write one)", () => {
  const topic = fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.record({ text: hostileText, by: hostileText }),
    fc.record({ text: fc.anything({ maxDepth: 1 }), by: hostileText }),
    fc.record({ text: hostileText, by: fc.anything({ maxDepth: 1 }) }),
    fc.tuple(hostileText, hostileText).map(([text, by]) => [text, by]),
  );

  it("are refused (undefined), or read as one line within the limits with nothing unsafe to show", () => {
    fc.assert(
      fc.property(topic, (value) => {
        const t = parseTopic(value, limits);
        if (t === undefined) return;
        expect(t.text.length).toBeLessThanOrEqual(MAX_TOPIC_LENGTH);
        expect(t.text).not.toMatch(/[\n\t]/);
        expect(unsafe(t.text)).toBe(false);
        expect(t.by.length).toBeGreaterThan(0);
        expect(t.by.length).toBeLessThanOrEqual(limits.maxNameLength);
        expect(unsafe(t.by)).toBe(false);
      }),
      { seed: 5, numRuns: 3000 },
    );
  });

  it(`holds a topic to ${MAX_TOPIC_LENGTH} characters and its setter's name to maxNameLength, at the edge`, () => {
    expect(parseTopic({ text: "t".repeat(MAX_TOPIC_LENGTH), by: "b".repeat(limits.maxNameLength) }, limits)).toEqual({ text: "t".repeat(MAX_TOPIC_LENGTH), by: "b".repeat(limits.maxNameLength) });
    expect(parseTopic({ text: "t".repeat(MAX_TOPIC_LENGTH + 1), by: "b" }, limits)).toBeUndefined();
    expect(parseTopic({ text: "t", by: "b".repeat(limits.maxNameLength + 1) }, limits)).toBeUndefined();
    // Past four times the limit, refused before any cleaning.
    expect(parseTopic({ text: "t", by: "b".repeat(4 * limits.maxNameLength + 1) }, limits)).toBeUndefined();
  });
});
