import { afterEach, describe, expect, it } from "vitest";
import type { XppgError } from "@xppg/errors";
import { Playground } from "@xppg/node";
import { QUICKCHAT_ERROR_CODES } from "../src/index.js";
import { bounded, loopbackChat, made, terminal, until } from "./helpers.js";

const raws: Playground[] = [];
afterEach(async () => {
  await Promise.all([...made.splice(0), ...raws.splice(0)].map((n) => n.stop()));
});

/** A running chat and a raw Playground in its room, joined to it: the hostile sender. */
async function chatWithRawPeer(options: Parameters<typeof loopbackChat>[1] = {}) {
  const t = terminal();
  const chat = loopbackChat("room", { name: "alice", input: t.input, output: t.output, ...options });
  const got: { user: string; text: string; kind: string }[] = [];
  chat.onMessage((user, text, info) => {
    got.push({ user, text, kind: info.kind });
  });
  const errors: XppgError[] = [];
  chat.onError((e) => {
    errors.push(e);
  });
  const running = chat.run();
  await chat.start();
  const raw = new Playground("room", { host: "127.0.0.1", port: 0 });
  raws.push(raw);
  await raw.start();
  await raw.join("127.0.0.1", chat.port);
  await t.waitFor("joined");
  return { chat, raw, t, got, errors, running };
}

describe("QuickChat: untrusted chat payloads", () => {
  it("ignores and reports every malformed chat payload; the peer and the chat carry on", async () => {
    const { chat, raw, t, got, errors, running } = await chatWithRawPeer();
    const bad: unknown[] = [
      "just a string",
      null,
      42,
      [1, 2],
      new Uint8Array([1, 2, 3]),
      {},
      { user: "eve" },
      { text: "no user" },
      { user: 7, text: "hi" },
      { user: "eve", text: { nested: true } },
      { user: "", text: "empty name" },
      { user: "\u001b\u200b\u202e  ", text: "invisible name" },
      { user: "e".repeat(33), text: "name one too long" },
      { user: "e".repeat(100_000), text: "huge name" },
      { user: "eve", text: "x".repeat(2001) },
      { user: "eve", text: "" },
      { user: "eve", text: "\u001b\r\u0007" },
    ];
    for (const payload of bad) await raw.send("chat", payload);
    await raw.send("chat", { user: "eve", text: "finally fine", extra: "ignored" });
    await until(() => got.length === 1, 10_000, "the valid message");
    await until(() => errors.length === bad.length, 10_000, "one error per malformed payload");
    expect(got).toEqual([{ user: "eve", text: "finally fine", kind: "chat" }]);
    expect(errors.every((e) => e.code === QUICKCHAT_ERROR_CODES.MALFORMED_CHAT)).toBe(true);
    expect(errors.every((e) => e.details?.peerId === raw.peerId)).toBe(true);
    // run() prints one notice per ignored message and the good one.
    await t.waitFor("[eve] finally fine\n");
    expect(t.text().match(/^! Ignored a "chat" message from peer /gm)).toHaveLength(bad.length);
    // Nothing dropped the peer: it is still listed and still heard.
    expect(chat.peers.map((p) => [p.peerId, p.name])).toEqual([[raw.peerId, "eve"]]);
    t.type("quit");
    await bounded(running, "run()");
  });

  it("removes terminal control characters from names and texts before anyone sees them", async () => {
    const { raw, t, got, errors, running } = await chatWithRawPeer();
    await raw.send("chat", { user: "ev\u001be\u200b \t x", text: "red\u001b[31m text\rover\u0007 tab\there" });
    await until(() => got.length === 1, 10_000, "the message");
    // A carriage return becomes a line break: it cannot overwrite the line it is on.
    expect(got[0]).toEqual({ user: "eve x", text: "red[31m text\nover tab\there", kind: "chat" });
    expect(errors).toEqual([]);
    await t.waitFor("[eve x] red[31m text\n        over tab\there\n");
    expect(t.text()).not.toMatch(/[\u001b\r\u0007]/); // eslint-disable-line no-control-regex
    t.type("quit");
    await bounded(running, "run()");
  });

  it("a leave reason a peer chose cannot drive the terminal either", async () => {
    const { chat, raw, t, running } = await chatWithRawPeer();
    raw.disconnect(chat.peerId, "bye\u001b]0;PWNED\u0007\u001b[2J\u001b[31mFAKE");
    await t.waitFor("FAKE");
    expect(t.text()).toContain("left");
    expect(t.text()).not.toMatch(/[\u001b\u0007]/); // eslint-disable-line no-control-regex
    t.type("quit");
    await bounded(running, "run()");
  });

  it("shows a Playground's plain sendText with the sender's peer id, within the same limits", async () => {
    const { raw, t, got, errors, running } = await chatWithRawPeer({ maxTextLength: 20 });
    await raw.sendText("plain text");
    await raw.sendText("y".repeat(21));
    await until(() => got.length === 1 && errors.length === 1, 10_000, "one text shown, one refused");
    expect(got).toEqual([{ user: raw.peerId, text: "plain text", kind: "text" }]);
    expect(errors[0]!.code).toBe(QUICKCHAT_ERROR_CODES.MALFORMED_CHAT);
    await t.waitFor(`[${raw.peerId}] plain text\n`);
    t.type("quit");
    await bounded(running, "run()");
  });

  it("a text message without a text string is refused by the sending Playground; the chat carries on", async () => {
    const { chat, raw, t, running } = await chatWithRawPeer();
    // The receiving Playground drops a peer that sends one anyway (node's hostile-input tests send it raw).
    await expect(raw.send("text", { text: 5 })).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    expect(chat.peers).toHaveLength(1);
    const other = loopbackChat("room", { name: "bob" });
    await other.connect("127.0.0.1", chat.port);
    await other.send("still here");
    await t.waitFor("[bob] still here\n");
    t.type("quit");
    await bounded(running, "run()");
  });
});
