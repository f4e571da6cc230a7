/** Slash commands typed in `run()`: `/name args` runs the matching `RunOptions` command and prints what it returns. */

import { toError } from "@xppg/errors";
import type { ChatCommand } from "./options.js";
import type { LineWriter } from "./terminal.js";

/** The commands `run()` knows, by name. */
export type ChatCommands = Readonly<Record<string, ChatCommand>>;

/** A command a typed line calls: its name and the rest of the line. */
export interface CommandCall {
  readonly name: string;
  readonly args: string;
}

/** The command `line` calls: it starts with `/` and names one of `commands`. Else undefined, and the line is chat. */
export function commandOf(line: string, commands: ChatCommands): CommandCall | undefined {
  if (!line.startsWith("/")) return undefined;
  const name = line.slice(1).split(/\s/, 1)[0]!;
  return Object.hasOwn(commands, name) ? { name, args: line.slice(1 + name.length).trim() } : undefined;
}

/** Runs a command and prints the lines it returns; a command that throws is one `!` line, and the chat carries on. */
export async function runCommand(commands: ChatCommands, call: CommandCall, writer: LineWriter): Promise<void> {
  try {
    writer.writeLines(await commands[call.name]!(call.args));
  } catch (error) {
    writer.write(`! The command /${call.name} failed: ${toError(error).message}`);
  }
}
