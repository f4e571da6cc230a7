import { now as nowMs } from "@xppg/errors";
import { createSocket, type Socket } from "node:dgram";
import { networkInterfaces } from "node:os";
import { isIPv4 } from "node:net";
import { SSDP_ADDRESS, SSDP_PORT, SSDP_SEARCH_TARGETS, SSDP_SEND_SCHEDULE_MS } from "./constants.js";
import { NAT_ERROR_CODES, NatError } from "./errors.js";

/** A gateway that answered an M-SEARCH. */
export interface SsdpAnswer {
  /** Its root device description URL (LOCATION header). */
  readonly location: URL;
  /** The search target it answered (ST header). */
  readonly st: string;
  /** The address the answer came from. */
  readonly address: string;
}

/** Options of {@link discoverGateway}. */
export interface DiscoverOptions {
  /** Ends the search; discovery then fails with `XPPG_ERR_NAT_NO_GATEWAY`. */
  signal: AbortSignal;
  /**
   * Where to send the M-SEARCH. Default: the SSDP multicast group, from every
   * non-internal IPv4 interface. A unicast target (UPnP DA 1.1 allows unicast
   * M-SEARCH) is sent from one socket; tests use it on loopback.
   */
  target?: { address: string; port: number };
}

/**
 * Finds an Internet Gateway Device (v1 or v2) with SSDP M-SEARCH over
 * `node:dgram`. Resolves with the first valid answer; every socket is closed
 * before the promise settles. Rejects with a {@link NatError}
 * `XPPG_ERR_NAT_NO_GATEWAY` when the signal fires first, or at once when there
 * is no interface to search from.
 */
export function discoverGateway(options: DiscoverOptions): Promise<SsdpAnswer> {
  const started = nowMs();
  const multicast = options.target === undefined;
  const target = options.target ?? { address: SSDP_ADDRESS, port: SSDP_PORT };
  const bindAddresses = multicast ? localIPv4Addresses() : [undefined];

  return new Promise<SsdpAnswer>((resolve, reject) => {
    const sockets: Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    // Fail fast when not a single search could leave (no route for multicast).
    let sendsOk = 0;
    let sendsFailed = 0;
    const onSendResult = (ok: boolean): void => {
      if (ok) sendsOk++;
      else sendsFailed++;
      if (sendsOk === 0 && sendsFailed >= sockets.length * SSDP_SEARCH_TARGETS.length) {
        finish({ error: noGateway("no interface could send an SSDP search") });
      }
    };

    const finish = (outcome: { answer: SsdpAnswer } | { error: NatError }): void => {
      if (done) return;
      done = true;
      options.signal.removeEventListener("abort", onAbort);
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          // already closed after an error
        }
      }
      if ("answer" in outcome) resolve(outcome.answer);
      else reject(outcome.error);
    };
    const noGateway = (why: string): NatError =>
      new NatError(NAT_ERROR_CODES.NO_GATEWAY, `No UPnP gateway found: ${why}. Port forwarding must be set up by hand, or the peer must be reached another way.`, {
        details: { searchedMs: Math.round(nowMs() - started), target: `${target.address}:${target.port}` },
      });
    const onAbort = (): void => finish({ error: noGateway("no answer to SSDP M-SEARCH in time") });

    if (options.signal.aborted) {
      onAbort();
      return;
    }
    if (bindAddresses.length === 0) {
      finish({ error: noGateway("this machine has no non-loopback IPv4 interface") });
      return;
    }
    options.signal.addEventListener("abort", onAbort, { once: true });

    for (const bindAddress of bindAddresses) {
      const socket = createSocket({ type: "udp4", reuseAddr: false });
      sockets.push(socket);
      // A socket that fails to bind counts as one round of failed sends.
      socket.on("error", () => {
        for (let i = 0; i < SSDP_SEARCH_TARGETS.length; i++) onSendResult(false);
      });
      socket.on("message", (msg, rinfo) => {
        const answer = parseSearchAnswer(msg, rinfo.address);
        if (answer !== undefined) finish({ answer });
      });
      socket.bind({ port: 0, address: bindAddress }, () => {
        if (done) return;
        if (multicast && bindAddress !== undefined) {
          try {
            socket.setMulticastInterface(bindAddress);
            socket.setMulticastTTL(2);
          } catch {
            // keep the kernel's defaults
          }
        }
        for (const delay of SSDP_SEND_SCHEDULE_MS) {
          timers.push(setTimeout(() => sendSearches(socket, target, onSendResult), delay));
        }
      });
    }
  });
}

function sendSearches(socket: Socket, target: { address: string; port: number }, onResult: (ok: boolean) => void): void {
  for (const st of SSDP_SEARCH_TARGETS) {
    const query = Buffer.from(
      "M-SEARCH * HTTP/1.1\r\n" +
        `HOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\n` +
        'MAN: "ssdp:discover"\r\n' +
        "MX: 1\r\n" +
        `ST: ${st}\r\n\r\n`,
    );
    try {
      socket.send(query, target.port, target.address, (err) => onResult(!err));
    } catch {
      // the socket was closed: discovery is over
    }
  }
}

/** The IPv4 addresses of every non-internal interface. */
function localIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (!info.internal && info.family === "IPv4") out.push(info.address);
    }
  }
  return out;
}

/**
 * Parses one SSDP answer. Accepts only `HTTP/1.1 200` answers for an IGD search
 * target whose LOCATION is an `http:` URL on the very address that answered:
 * a device cannot send us to fetch descriptions from somewhere else.
 */
export function parseSearchAnswer(msg: Buffer, from: string): SsdpAnswer | undefined {
  const text = msg.subarray(0, 8192).toString("latin1");
  const lines = text.split("\r\n");
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? "")) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1, 64)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const st = headers.get("st") ?? "";
  if (!SSDP_SEARCH_TARGETS.includes(st)) return undefined;
  let location: URL;
  try {
    location = new URL(headers.get("location") ?? "");
  } catch {
    return undefined;
  }
  if (location.protocol !== "http:" || !isIPv4(location.hostname) || location.hostname !== from) return undefined;
  return { location, st, address: from };
}
