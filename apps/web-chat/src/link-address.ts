/**
 * The Node peer address a link gives in `?ws=`. Anyone can send a link, so
 * an address on another server than the page's own is shown and asked about
 * before the tab connects there: that peer would learn the name, the peer id
 * and everything written in the room. Only `ws://` and `wss://` addresses
 * are ever used.
 */
import { checkServer } from "./chat-room.js";

/** What the `?ws=` of a link asks for. */
export type LinkAddress =
  /** The link names no address. */
  | { kind: "none" }
  /** The page's own server: used as it is. */
  | { kind: "own"; url: string }
  /** Another server: shown, and used only once the user says so. */
  | { kind: "foreign"; url: string }
  /** Not a usable address: not used, and `why` says so in words. */
  | { kind: "bad"; why: string };

/** The page's location, as far as the address check needs it. */
export interface PageLocation {
  protocol: string;
  host: string;
}

/** The WebSocket address of the server the page came from (`ws://host/xppg`), or "" for a page not served over http(s). */
export function ownServer(page: PageLocation): string {
  if (page.protocol !== "http:" && page.protocol !== "https:") return "";
  return `${page.protocol === "https:" ? "wss" : "ws"}://${page.host}/xppg`;
}

/** Sorts the `?ws=` of a link (`raw`, null when absent) into one of the {@link LinkAddress} cases. */
export function linkAddress(raw: string | null, page: PageLocation): LinkAddress {
  if (raw === null || raw.trim() === "") return { kind: "none" };
  const checked = checkServer(raw);
  if (!checked.ok) return { kind: "bad", why: `The link's address was not used. ${checked.why}` };
  const url = new URL(checked.url);
  const own = ownServer(page);
  // Same scheme pair (http with ws, https with wss) and the same host and port as the page.
  const same = own !== "" && url.protocol === new URL(own).protocol && url.host === new URL(own).host;
  return same ? { kind: "own", url: checked.url } : { kind: "foreign", url: checked.url };
}
