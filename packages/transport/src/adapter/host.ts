/**
 * The `remoteHost` of a connection from the IP address a socket reports:
 * IPv6 as given (compressed, no brackets), an IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.7`, what a dual-stack listener reports for an IPv4
 * peer) as the IPv4 address, so one machine has one host.
 */
export function hostFromIp(ip: string): string {
  const lower = ip.toLowerCase();
  return lower.startsWith("::ffff:") && lower.indexOf(".") > 0 ? lower.slice(7) : lower;
}
