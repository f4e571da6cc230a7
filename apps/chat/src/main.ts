#!/usr/bin/env node
/**
 * The xppg sample terminal chat, built only on the public API of
 * `@xppg/quickchat`, as any user would build it.
 */
import { isXppgError, QuickChat, type ChatCommand } from "@xppg/quickchat";
import ora, { type Ora } from "ora";
import { USAGE, UsageError, parseChatArgs } from "./args.js";
import { banner, describeReachability } from "./banner.js";
import { fileCommands } from "./transfers.js";

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

function usageError(message: string): number {
  err(`xppg-chat: ${message}`);
  err("Run it with --help to see the options.");
  return 2;
}

function commands(chat: QuickChat): Record<string, ChatCommand> {
  return {
    ...fileCommands(chat, out),
    peers: () => {
      const peers = chat.peers;
      const you = `You: ${describeReachability(chat.reachability.kind)}`;
      if (peers.length === 0) return [you, "Nobody is here yet. Chats of this room on your network join by themselves; from elsewhere, share the --connect line printed at start."];
      const how = { lan: "found on the LAN", topic: "found by topic", address: "by address", inbound: "joined us" } as const;
      return [
        you,
        `${peers.length} peer${peers.length === 1 ? "" : "s"}:`,
        ...peers.map((p) => `  ${p.name ?? "(no message yet)"}  ${p.peerId}  ${p.address}  (${how[chat.foundBy(p.peerId) ?? "inbound"]}, ${p.path ?? "direct"})`),
      ];
    },
    help: () => ["Commands:", "  /peers   list the connected peers", "  /send <path>   share a file: prints its content id", "  /get <id>      fetch a file by content id from every peer that has it", "  /help    this list", "  quit     leave the chat (or: exit, Ctrl+D)", "Any other line is sent to everyone in the room."],
  };
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseChatArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    throw error;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let chat: QuickChat;
  try {
    chat = new QuickChat(args.room, {
      ...(args.port !== undefined ? { port: args.port } : {}),
      openPort: args.openPort,
      lan: typeof args.lan === "string" ? { interface: args.lan } : args.lan,
      ...(args.name !== undefined ? { name: args.name } : {}),
      ...(args.keyFile !== undefined ? { keyFile: args.keyFile } : {}),
      ...(args.topic !== undefined ? { topic: { topic: args.topic, dht: args.dhtBootstrap.length > 0 ? { bootstrap: args.dhtBootstrap } : {} } } : {}),
    });
  } catch (error) {
    if (isXppgError(error, "XPPG_ERR_INVALID_ARGUMENT")) return usageError(error.message);
    if (isXppgError(error, "XPPG_ERR_KEY_FILE")) {
      err(`xppg-chat: ${error.message}`);
      return 1;
    }
    throw error;
  }
  // Asking the router can take a few seconds: a terminal gets a spinner once
  // it takes more than a second; a pipe gets one plain line.
  const asking = "Asking the router to forward the port, a few seconds at most...";
  let spinner: Ora | undefined;
  let spinnerTimer: ReturnType<typeof setTimeout> | undefined;
  // A terminal that reports no width (some pseudo-terminals) gets the plain line: a spinner there cannot redraw in place.
  if (args.openPort && process.stdout.isTTY && process.stdout.columns > 0) spinnerTimer = setTimeout(() => (spinner = ora({ text: asking, stream: process.stdout }).start()), 1000);
  else if (args.openPort) out(asking);
  const started = (): void => {
    clearTimeout(spinnerTimer);
    spinner?.stop();
    spinner = undefined;
  };

  // A signal (Ctrl+C without a terminal, a kill) leaves cleanly: peers see us go.
  let signals = 0;
  const leave = (): void => {
    if (++signals > 1) process.exit(130);
    void chat.stop();
  };
  process.on("SIGINT", leave);
  process.on("SIGTERM", leave);
  try {
    // run() starts the chat itself, so peers found on the LAN and their first
    // lines are shown even when they arrive while the router is being asked.
    const running = chat.run({
      commands: commands(chat),
      onStarted: (nat) => {
        started();
        return banner(chat, nat);
      },
    });
    // Failures are printed by run() as "! Could not connect ..."; the chat goes on.
    for (const peer of args.connect) chat.connect(peer.host, peer.port).catch(() => {});
    await running;
  } catch (error) {
    started();
    err(`xppg-chat: could not start: ${(error as Error).message}`);
    if (isXppgError(error) && error.code === "XPPG_ERR_LISTEN_FAILED") err(`Another program uses port ${args.port}? Leave --port out, or use --port 0, for a free port.`);
    return 1;
  } finally {
    started();
    process.off("SIGINT", leave);
    process.off("SIGTERM", leave);
  }
  out("Bye.");
  return 0;
}

// A reader that went away (a closed pipe) is no reason to crash.
process.stdout.on("error", () => {});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // readline leaves stdin paused but open; let the process end.
    process.stdin.destroy();
  },
  (error: unknown) => {
    err(`xppg-chat: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
    process.stdin.destroy();
  },
);
