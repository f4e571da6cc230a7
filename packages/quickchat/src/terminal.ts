import { clearLine, cursorTo, type Interface } from "node:readline";
import type { PeerInfo } from "@xppg/node";
import { cleanText } from "./chat-message.js";
import type { ChatCommandResult } from "./options.js";

/** A stream `run()` writes to; `isTTY` turns on the prompt and line redrawing. */
export type ChatOutput = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * Writes whole lines to the chat's output. On a terminal it first clears the
 * prompt and what the user is typing, then redraws both under the new line,
 * so incoming messages never cut through the input line. Every line is
 * cleaned of terminal controls here, the one place they all pass: peers
 * shape more than their chat texts (a leave reason, a room name in an
 * error), and none of it may drive the terminal.
 */
export class LineWriter {
  /** The readline interface whose prompt is redrawn, while `run()` reads. */
  prompt: Interface | undefined;
  readonly #out: ChatOutput;
  /** True when both ends are a terminal: a prompt is shown and redrawn. */
  readonly interactive: boolean;

  constructor(out: ChatOutput, interactive: boolean) {
    this.#out = out;
    this.interactive = interactive;
  }

  write(text: string): void {
    const out = this.#out as ChatOutput & { writable?: boolean; destroyed?: boolean };
    // A closed output (the reader went away) must not throw into the chat.
    if (out.writable === false || out.destroyed === true) return;
    const line = cleanText(text);
    if (this.interactive && this.prompt !== undefined) {
      clearLine(out, 0);
      cursorTo(out, 0);
      out.write(`${line}\n`);
      this.prompt.prompt(true);
    } else {
      out.write(`${line}\n`);
    }
  }

  /** Writes what a command or `onStarted` returned: one line, several, or nothing. */
  writeLines(lines: ChatCommandResult): void {
    for (const line of lines === undefined ? [] : typeof lines === "string" ? [lines] : lines) this.write(line);
  }
}

/** `[alice] hi`; later lines of a multi-line message are indented under the first. */
export function formatChatLine(user: string, text: string): string {
  const prefix = `[${user}] `;
  return prefix + text.split("\n").join(`\n${" ".repeat(Math.min(prefix.length, 40))}`);
}

/** The start of a peer id, enough to tell two peers of one name apart: `xp1abcdefgh`. */
export function shortId(peerId: string): string {
  return peerId.slice(0, 11);
}

/** `alice (xp1abcdefgh)`, or the short id alone when the name is not known. */
export function who(peerId: string, name: string | undefined): string {
  return name === undefined ? shortId(peerId) : `${name} (${shortId(peerId)})`;
}

/** `* alice (xp1abcdefgh) joined from tcp://127.0.0.1:40000` */
export function formatJoined(peer: PeerInfo, name?: string): string {
  return `* ${who(peer.peerId, name)} joined from ${peer.address}`;
}

/** Code of a clean leave: the peer quit (its node stopped), so its leave line needs no reason; a reason it chose is still shown. */
const CLEAN_LEAVE = "XPPG_ERR_PEER_SHUTDOWN";

/** `* alice (xp1abcdefgh) left` plus the reason when the peer did not leave cleanly. */
export function formatLeft(peer: PeerInfo, name: string | undefined, reason: { message: string; code?: string } | undefined): string {
  if (reason === undefined || reason.code === CLEAN_LEAVE) return `* ${who(peer.peerId, name)} left`;
  return `* ${who(peer.peerId, name)} left: ${reason.message}`;
}
