// @xppg/transport-tcp's warm-up for its code cache (scripts/code-cache.mjs):
// what a node's first connection does with it. A listener on loopback, a
// dial, a frame each way (one, then parts), both closed.
import { listenDialExchange } from "./lib/exchange.mjs";

export async function warmUp(load) {
  const { tcpTransport } = await load("@xppg/transport-tcp");
  await listenDialExchange(tcpTransport(), "tcp://127.0.0.1:0");
}
