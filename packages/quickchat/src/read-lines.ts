/** The input side of `run()`: reads typed lines with a prompt on a terminal, until a quit word, Ctrl+C, the input's end or a close. */

import { createInterface } from "node:readline";
import type { ChatOutput, LineWriter } from "./terminal.js";

/** How `readLines` reads, and where each line goes. */
export interface ReadLinesOptions {
  /** The prompt shown while the user types (on a terminal only). */
  readonly prompt: string;
  /** Lines that end the reading, lower-cased. */
  readonly quitWords: ReadonlySet<string>;
  /** Called with each non-empty line, trimmed; the next line waits for it. */
  readonly onLine: (line: string) => Promise<void>;
  /** Called with the function that ends the reading once it starts, and with undefined when it ends. */
  readonly onClose: (close: (() => void) | undefined) => void;
}

/** Reads lines from `input` until it ends; resolves then. */
export async function readLines(input: NodeJS.ReadableStream, output: ChatOutput, writer: LineWriter, options: ReadLinesOptions): Promise<void> {
  // Created only now, after the start: input typed meanwhile waits in the stream.
  const rl = createInterface({ input, ...(writer.interactive ? { output, terminal: true } : { terminal: false }) });
  rl.setPrompt(options.prompt);
  // Ctrl+C in a terminal leaves the chat like `quit` (readline would only pause).
  rl.on("SIGINT", () => rl.close());
  writer.prompt = rl;
  options.onClose(() => rl.close());
  try {
    const lines = rl[Symbol.asyncIterator]();
    if (writer.interactive) rl.prompt();
    for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
      const line = next.value.trim();
      if (options.quitWords.has(line.toLowerCase())) break;
      if (line.length > 0) await options.onLine(line);
      if (writer.interactive) rl.prompt();
    }
  } finally {
    writer.prompt = undefined;
    options.onClose(undefined);
    rl.close();
  }
}
