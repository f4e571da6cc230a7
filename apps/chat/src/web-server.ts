/**
 * `--web`: serves the built web chat (`@xppg/web-chat`'s `dist/`) on the
 * chat's WebSocket port, so a newcomer opens one URL and the page dials the
 * same host and port. Only the files found at start are served (no path from
 * a request ever reaches the file system), GET and HEAD only, with a content
 * security policy that allows no inline or foreign script.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

const HEADERS = {
  // Scripts and styles only from this origin; the page connects back over WebSocket.
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Where the built web chat is, or a sentence saying it is missing. */
export function webChatDist(): { dir: string } | { missing: string } {
  try {
    const pkg = createRequire(import.meta.url).resolve("@xppg/web-chat/package.json");
    const dir = join(dirname(pkg), "dist");
    if (statSync(join(dir, "index.html")).isFile()) return { dir };
  } catch {
    // Reported below.
  }
  return { missing: "the web chat is not built: run `pnpm run build` (or `pnpm --filter @xppg/web-chat build`) first" };
}

/** Every file under `dir`, by URL path ("/index.html", "/assets/x.js"). */
function filesOf(dir: string): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.set(`/${relative(dir, path).split(sep).join("/")}`, { body: readFileSync(path), type: TYPES[extname(path)] ?? "application/octet-stream" });
    }
  };
  walk(dir);
  return files;
}

/** The `serveHttp` handler of the WebSocket listener that serves the files of `dir`. */
export function staticFiles(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  const files = filesOf(dir);
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", ...HEADERS }).end();
      return;
    }
    // The path only, without the query; never decoded into a file name: it is a key of the map.
    const path = (req.url ?? "/").split("?")[0]!.split("#")[0]!;
    const file = files.get(path === "/" ? "/index.html" : path);
    if (file === undefined) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...HEADERS }).end("Not found. Open / for the web chat.\n");
      return;
    }
    res.writeHead(200, { "content-type": file.type, "content-length": file.body.length, "cache-control": "no-cache", ...HEADERS });
    res.end(req.method === "HEAD" ? undefined : file.body);
  };
}
