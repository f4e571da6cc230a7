/** A dial-back's probe: a TCP connect, closed at once. Loaded only when a node helps with a dial-back. */

import { connect } from "node:net";

/**
 * True when a TCP connection to `host:port` opened within `timeoutMs`; never
 * rejects. `localAddress`: the local IP of the link the request came on, so
 * the dial comes from the host the asker was told of.
 */
export function probe(host: string, port: number, timeoutMs: number, localAddress?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
