import { request } from "node:http";

/** A small HTTP/1.1 answer, body already read (and capped). */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Bodies past this size are refused (the answer is hostile until checked). */
  maxBytes: number;
  signal: AbortSignal;
}

/**
 * One HTTP request to a gateway, on its own socket (no keep-alive pool, so no
 * socket outlives the call), following no redirects, bounded by `signal` and
 * `maxBytes`. Only `http:` URLs: UPnP IGD control is plain HTTP on the LAN.
 */
export function httpRequest(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== "http:") {
      reject(new Error(`only http: gateway URLs are supported, got ${url.protocol}`));
      return;
    }
    if (options.signal.aborted) {
      reject(abortError(options.signal));
      return;
    }
    const headers: Record<string, string> = { connection: "close", ...options.headers };
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    const req = request(url, { method: options.method, headers, agent: false, signal: options.signal });
    req.on("error", (err) => reject(options.signal.aborted ? abortError(options.signal) : err));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        res.destroy();
        req.destroy();
        reject(new Error(`answer of ${declared} bytes exceeds the ${options.maxBytes}-byte limit`));
        return;
      }
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          res.destroy();
          req.destroy();
          reject(new Error(`answer exceeds the ${options.maxBytes}-byte limit`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", (err) => reject(options.signal.aborted ? abortError(options.signal) : err));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.end(options.body);
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("aborted");
}
