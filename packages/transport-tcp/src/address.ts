import { isIP } from "node:net";
import { badAddressError } from "@xppg/transport/adapter";
import { TCP_ADDRESS_FORM, TCP_TRANSPORT_NAME } from "./constants.js";

/** A parsed `tcp://host:port` address. */
export interface TcpAddress {
  /** Host name or IP, IPv6 without brackets. */
  host: string;
  /** The port; 0 means "any free port" (listen only). */
  port: number;
}

// host: a bracketed IPv6 literal, or a name / IPv4 made of letters, digits, dots and dashes.
const ADDRESS_RE = /^tcp:\/\/(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):([0-9]{1,5})$/;

/**
 * Reads `tcp://host:port`; `null` when the address is malformed. Port 0 is
 * accepted here (it means "any free port" to `listen`); `dial` refuses it.
 */
export function parseTcpAddress(address: unknown): TcpAddress | null {
  if (typeof address !== "string") return null;
  const m = ADDRESS_RE.exec(address);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65_535) return null;
  if (m[1] !== undefined) {
    if (isIP(m[1]) !== 6) return null;
    return { host: m[1], port };
  }
  return { host: m[2]!, port };
}

/** Like {@link parseTcpAddress}, but throws `XPPG_ERR_BAD_ADDRESS`. */
export function parseTcpAddressOrThrow(address: string, forDial: boolean): TcpAddress {
  const parsed = parseTcpAddress(address);
  if (parsed === null || (forDial && parsed.port === 0)) throw badAddressError(TCP_TRANSPORT_NAME, address, TCP_ADDRESS_FORM);
  return parsed;
}

/** Writes `tcp://host:port`, bracketing IPv6 literals. */
export function formatTcpAddress(host: string, port: number): string {
  return isIP(host) === 6 ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}
