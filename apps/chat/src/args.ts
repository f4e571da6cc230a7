import { parseArgs } from "node:util";
import { DEFAULT_CHAT_PORT, parseChatAddress, type ChatAddress } from "@xppg/quickchat";

/** The room used when `--room` is not given. */
export const DEFAULT_ROOM = "xppg-chat";

/** What the command line asked for. */
export interface ChatArgs {
  room: string;
  port: number;
  name: string | undefined;
  connect: ChatAddress[];
  openPort: boolean;
  /** Where the key is kept; undefined for the per-user default. */
  keyFile: string | undefined;
  help: boolean;
}

/** A command line that cannot be run; the app prints it and exits with 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `Usage: xppg-chat [options]

A terminal chat room: everyone started with the same --room and connected to
one another reads what the others type.

Options:
  --room <name>          the room to join (default: ${DEFAULT_ROOM})
  --port <n>             the port to listen on, 0 for any free one (default: ${DEFAULT_CHAT_PORT})
  --name <name>          your display name (default: your OS user name)
  --connect <host:port>  join a peer at start; repeat for more (port default: ${DEFAULT_CHAT_PORT})
  --no-open-port         do not ask the router to forward the port (UPnP)
  --key-file <path>      where your key is kept, so your peer id stays the same
                         (default: $XDG_CONFIG_HOME or ~/.config, xppg/quickchat-<name>.key)
  -h, --help             show this help

In the chat: type a line and press Enter to send it; /peers lists who is
connected, /help lists the commands, quit or exit leaves.

Example, on two machines of one network:
  xppg-chat --name alice
  xppg-chat --name bob --connect 192.168.1.42:${DEFAULT_CHAT_PORT}
`;

/**
 * Reads the command line (without `node` and the script).
 * @throws UsageError with a sentence saying what is wrong.
 */
export function parseChatArgs(argv: string[]): ChatArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        room: { type: "string" },
        port: { type: "string" },
        name: { type: "string" },
        connect: { type: "string", multiple: true },
        "no-open-port": { type: "boolean" },
        "key-file": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    // parseArgs' messages name the option; they only lack the way out.
    throw new UsageError((error as Error).message);
  }
  const room = values.room ?? DEFAULT_ROOM;
  if (room.length === 0 || room.length > 128) throw new UsageError(`--room must be 1 to 128 characters, got ${JSON.stringify(room)}.`);
  return {
    room,
    port: values.port === undefined ? DEFAULT_CHAT_PORT : parsePort(values.port),
    name: values.name,
    connect: (values.connect ?? []).map(parseConnect),
    openPort: values["no-open-port"] !== true,
    keyFile: values["key-file"],
    help: values.help === true,
  };
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port must be a number from 0 to 65535 (0 picks any free port), got ${JSON.stringify(text)}.`);
  return port;
}

function parseConnect(text: string): ChatAddress {
  try {
    return parseChatAddress(text, DEFAULT_CHAT_PORT);
  } catch (error) {
    throw new UsageError(`--connect ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
}
