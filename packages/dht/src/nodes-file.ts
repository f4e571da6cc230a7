/**
 * The nodes file: DHT nodes a node knew, kept for its next start (JSON
 * `{ "v": 1, "nodes": ["1.2.3.4:6881", ...] }`). What is read back is
 * checked like network input: bounded size and count, IPv4 unicast
 * addresses and ports only.
 */

import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import type { DhtPeer } from "./bittorrent-dht.js";
import { MAX_NODES_FILE_BYTES, MAX_SAVED_NODES } from "./constants.js";
import { DHT_ERROR_CODES, DhtError } from "./errors.js";
import { isUnicastIPv4 } from "./guarded-socket.js";

/** Reads the nodes; a missing file is no nodes. @throws `XPPG_ERR_DHT_NODES_FILE` for a file that cannot be read. */
export async function readNodesFile(path: string): Promise<DhtPeer[]> {
  let text: string;
  try {
    const file = await open(path, "r");
    try {
      const buf = Buffer.alloc(MAX_NODES_FILE_BYTES + 1);
      const { bytesRead } = await file.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_NODES_FILE_BYTES) throw new Error(`it is larger than ${MAX_NODES_FILE_BYTES} bytes`);
      text = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await file.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw nodesFileError(path, "read", error);
  }
  return parseNodes(text);
}

/** The nodes of a nodes file's text: bad entries are skipped, at most 200 kept. */
export function parseNodes(text: string): DhtPeer[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (data as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(list)) return [];
  const out: DhtPeer[] = [];
  for (const entry of list.slice(0, MAX_SAVED_NODES)) {
    if (typeof entry !== "string") continue;
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(entry);
    const port = Number(m?.[2]);
    if (m !== null && isUnicastIPv4(m[1]!) && port >= 1 && port <= 65535) out.push({ host: m[1]!, port });
  }
  return out;
}

/**
 * Writes the nodes: to a new temporary file of a random name in the same
 * folder, created exclusively (`O_EXCL`, mode 0600: never a file or link
 * someone else put there), then renamed over the old one.
 * @throws `XPPG_ERR_DHT_NODES_FILE`
 */
export async function writeNodesFile(path: string, nodes: readonly DhtPeer[]): Promise<void> {
  const text = JSON.stringify({ v: 1, nodes: nodes.slice(0, MAX_SAVED_NODES).map((n) => `${n.host}:${n.port}`) });
  const tmp = `${path}.${randomBytes(12).toString("hex")}.tmp`;
  let created = false;
  try {
    const file = await open(tmp, "wx", 0o600);
    created = true;
    try {
      await file.writeFile(text);
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (error) {
    if (created) await unlink(tmp).catch(() => {});
    throw nodesFileError(path, "write", error);
  }
}

function nodesFileError(path: string, what: "read" | "write", cause: unknown): DhtError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new DhtError(DHT_ERROR_CODES.NODES_FILE, `Could not ${what} the DHT nodes file ${path}: ${message}. The DHT runs from its bootstrap list; check the folder's permissions.`, { cause, details: { path } });
}
