import { badAddressError } from "@xppg/transport/adapter";
import { WS_ADDRESS_FORM, WS_TRANSPORT_NAME } from "./constants.js";

// Browser-safe: no node: imports here.

/** A parsed `ws://host:port/path` address. */
export interface WsAddress {
  /** `true` for `wss://`. */
  secure: boolean;
  /** Host name or IP, IPv6 without brackets. */
  host: string;
  /** The port; 80 (`ws://`) or 443 (`wss://`) when the address has none. */
  port: number;
  /** True when the address spelled the port out (`listen` needs one). */
  explicitPort: boolean;
  /** The path, starting with `/`. */
  path: string;
}

const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/;
const AUTHORITY_RE = /^(?:wss?):\/\/([^/?#]*)/;

/** Reads `ws://host:port/path` or `wss://...`; `null` when malformed. */
export function parseWsAddress(address: unknown): WsAddress | null {
  if (typeof address !== "string" || address.length > 2048) return null;
  const authority = AUTHORITY_RE.exec(address);
  if (authority === null) return null;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "" || address.includes("#")) return null;
  if (url.hostname === "" || !HOST_RE.test(url.hostname)) return null;
  // The URL parser drops a default port (ws://h:80 gives ""); look at what was written.
  const written = /:(\d{1,5})$/.exec(authority[1]!);
  const secure = url.protocol === "wss:";
  const port = written !== null ? Number(written[1]) : secure ? 443 : 80;
  if (port > 65_535) return null;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { secure, host, port, explicitPort: written !== null, path: url.pathname === "" ? "/" : url.pathname };
}

/** Like {@link parseWsAddress}, but throws `XPPG_ERR_BAD_ADDRESS`. */
export function parseWsAddressOrThrow(address: string): WsAddress {
  const parsed = parseWsAddress(address);
  if (parsed === null) throw badAddressError(WS_TRANSPORT_NAME, address, WS_ADDRESS_FORM);
  return parsed;
}

/** Writes `ws://host:port/path`, bracketing IPv6 literals. */
export function formatWsAddress(host: string, port: number, path = "/", secure = false): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `${secure ? "wss" : "ws"}://${h}:${port}${path.startsWith("/") ? path : `/${path}`}`;
}
