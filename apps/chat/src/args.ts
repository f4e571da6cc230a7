import { isIPv4 } from "node:net";
import { parseArgs } from "node:util";
import { DEFAULT_CHAT_PORT, parseChatAddress, type ChatAddress } from "@xppg/quickchat";

/** The room used when `--room` is not given. */
export const DEFAULT_ROOM = "xppg-chat";

/** What the command line asked for. */
export interface ChatArgs {
  room: string;
  /** Undefined: the default port, or a free one when it is taken. */
  port: number | undefined;
  name: string | undefined;
  connect: ChatAddress[];
  openPort: boolean;
  /** LAN discovery: true, false, or the IPv4 address of the one interface to use. */
  lan: boolean | string;
  /** Where the key is kept; undefined for the per-user default. */
  keyFile: string | undefined;
  /** The topic to join on the DHT; undefined: none. */
  topic: string | undefined;
  /** DHT nodes to start from (`host:port`); empty: the public routers. */
  dhtBootstrap: string[];
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
  --port <n>             the port to listen on, 0 for any free one (default: ${DEFAULT_CHAT_PORT},
                         or a free one when another program holds it)
  --name <name>          your display name (default: your OS user name)
  --connect <host:port>  join a peer at start; repeat for more (port default: ${DEFAULT_CHAT_PORT})
  --no-open-port         do not ask the router to forward the port (UPnP, PCP, NAT-PMP)
  --no-lan               do not look for chats of this room on your network
                         (LAN discovery is on by default: no address to type)
  --lan-interface <ip>   look on one network interface only, by its IPv4 address
                         (127.0.0.1: chats on this machine only)
  --topic <words>        also find the chats of this room and topic across the
                         internet, on the BitTorrent DHT (only a hash is announced)
  --dht-bootstrap <h:p>  a DHT node to start from instead of the public routers
                         (a private DHT); repeat for more
  --key-file <path>      where your key is kept, so your peer id stays the same
                         (default: with --name, $XDG_CONFIG_HOME or ~/.config,
                         xppg/quickchat-<name>.key; without, a new key each run)
  -h, --help             show this help

In the chat: type a line and press Enter to send it; /peers lists who is
connected, /help lists the commands, quit or exit leaves.

Example: run it in two terminals, or on two machines of one network; the
chats find each other. Across networks, agree on a topic (or one side
connects by address):
  xppg-chat --name alice --topic "purple elephant tuesday"
  xppg-chat --name bob --topic "purple elephant tuesday"
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
        "no-lan": { type: "boolean" },
        "lan-interface": { type: "string" },
        "key-file": { type: "string" },
        topic: { type: "string" },
        "dht-bootstrap": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    // parseArgs' messages name the option; they only lack the way out.
    throw new UsageError((error as Error).message);
  }
  if (values["dht-bootstrap"] !== undefined && values.topic === undefined) throw new UsageError("--dht-bootstrap is for --topic: give a topic too, or leave --dht-bootstrap out.");
  const room = values.room ?? DEFAULT_ROOM;
  if (room.length === 0 || room.length > 128) throw new UsageError(`--room must be 1 to 128 characters, got ${JSON.stringify(room)}.`);
  return {
    room,
    port: values.port === undefined ? undefined : parsePort(values.port),
    name: values.name,
    connect: (values.connect ?? []).map(parseConnect),
    openPort: values["no-open-port"] !== true,
    lan: parseLan(values["no-lan"] === true, values["lan-interface"]),
    keyFile: values["key-file"],
    topic: parseTopic(values.topic),
    dhtBootstrap: (values["dht-bootstrap"] ?? []).map(parseBootstrap),
    help: values.help === true,
  };
}

function parseLan(off: boolean, iface: string | undefined): boolean | string {
  if (iface === undefined) return !off;
  if (off) throw new UsageError("--no-lan and --lan-interface contradict each other: give one.");
  if (!isIPv4(iface)) throw new UsageError(`--lan-interface must be the IPv4 address of one of your interfaces (such as 192.168.1.20, or 127.0.0.1), got ${JSON.stringify(iface)}.`);
  return iface;
}

function parseTopic(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (text.trim().length === 0 || text.length > 256) throw new UsageError(`--topic must be 1 to 256 characters, the words both sides type, got ${JSON.stringify(text)}.`);
  return text;
}

function parseBootstrap(text: string): string {
  const m = /^([A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--dht-bootstrap must be host:port, such as 198.51.100.7:6881, got ${JSON.stringify(text)}.`);
  return text;
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
