// Imported first by every test of this package: a DHT packet, a name lookup
// or a TCP connection to anything but loopback throws instead of leaving the
// machine. The tests build their own DHT on 127.0.0.0/8; this makes sure a
// mistake (a missing bootstrap list, an address from a hostile answer) can
// never reach a public DHT node.
import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";

const loopback = (host: unknown): boolean => typeof host !== "string" || host === "localhost" || host.startsWith("127.") || host === "::1";

function refuse(what: string, host: unknown): never {
  throw new Error(`test guard: ${what} to ${String(host)} refused; tests stay on loopback`);
}

const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
  const host = args.find((a, i) => i > 0 && typeof a === "string");
  if (!loopback(host)) refuse("a UDP packet", host);
  return (send as (...a: unknown[]) => void).apply(this, args);
} as typeof send;

const lookup = dns.lookup;
dns.lookup = function (host: string, ...rest: unknown[]) {
  if (!loopback(host) && !net.isIP(host)) refuse("a DNS lookup", host);
  return (lookup as (...a: unknown[]) => void).call(dns, host, ...rest);
} as typeof lookup;

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
  const first = args[0];
  const host = typeof first === "object" && first !== null && !Array.isArray(first) ? ((first as { host?: string }).host ?? "localhost") : typeof args[1] === "string" ? args[1] : "localhost";
  if (typeof first === "object" && first !== null && "path" in first) return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  if (!loopback(host)) refuse("a TCP connection", host);
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
};
