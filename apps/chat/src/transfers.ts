/**
 * `/send <path>` and `/get <content id>`: files by content id through
 * `pg.files`, with a progress bar per download (cli-progress).
 */
import { basename } from "node:path";
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { ChatCommand, QuickChat } from "@xppg/quickchat";

const CONTENT_ID = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Bytes as a short human figure: 1.5 MB, 230 kB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  for (; n >= 1000 && i < units.length - 1; i++) n /= 1000;
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** The chat's file commands; `print` writes a line of the chat (finished and failed downloads). */
export function fileCommands(chat: QuickChat, print: (line: string) => void): Record<string, ChatCommand> {
  let bars: MultiBar | undefined;
  const running = new Set<SingleBar>();
  return {
    send: async (args) => {
      const path = args.trim();
      if (path.length === 0) return "Usage: /send <path>";
      try {
        const shared = await chat.playground.files.share(path);
        await chat.send(`shares ${shared.name} (${formatBytes(shared.size)}): /get ${shared.contentId}`);
        return [`Sharing ${basename(path)} (${formatBytes(shared.size)}). Others fetch it with:`, `  /get ${shared.contentId}`];
      } catch (error) {
        return `! ${(error as Error).message}`;
      }
    },
    get: (args) => {
      const id = args.trim().toLowerCase();
      if (!CONTENT_ID.test(id)) return "Usage: /get <content id> (the 64 hex characters that /send printed)";
      // A bar per download; without a terminal, cli-progress prints a plain status line now and then.
      bars ??= new MultiBar(
        {
          format: "{name} [{bar}] {percentage}% | {done} of {size} | {rate}/s | {peers} peers | {eta_formatted} left",
          hideCursor: false,
          stream: process.stdout,
          noTTYOutput: process.stdout.isTTY !== true,
          notTTYSchedule: 1000,
          etaBuffer: 20,
        },
        Presets.shades_classic,
      );
      const bar = bars.create(1, 0, { name: id.slice(0, 12), done: "0 B", size: "?", rate: "0 B", peers: 0 });
      running.add(bar);
      const finish = (line: string): void => {
        running.delete(bar);
        // The last bar is drawn once more, finished; one among others just leaves.
        if (running.size === 0) {
          bars?.stop();
          bars = undefined;
        } else bars?.remove(bar);
        print(line);
      };
      chat.playground.files
        .download(id, {
          onProgress: (p) => {
            bar.setTotal(Math.max(1, p.total));
            bar.update(p.bytesDone, { name: p.name.replace(UNSAFE, "").slice(0, 24), done: formatBytes(p.bytesDone), size: formatBytes(p.total), rate: formatBytes(p.rate), peers: p.peers });
          },
        })
        .then(
          (r) => finish(`Saved ${r.path} (${formatBytes(r.size)}, from ${Object.keys(r.sources).length} peer${Object.keys(r.sources).length === 1 ? "" : "s"}${r.resumedChunks > 0 ? `, ${r.resumedChunks} chunks resumed` : ""}).`),
          (error: Error) => finish(`! ${error.message}`),
        );
      return `Fetching ${id.slice(0, 12)}... from every peer that has it.`;
    },
  };
}
