// @xppg/transport's warm-up for its code cache (scripts/code-cache.mjs): the
// connection core every transport's connections are built on (a TCP link's
// too), as a node's first connection runs it, through the in-memory
// transport (this package's own: the adapters are built after it). A
// listener, a dial, frames each way (one, then parts), both closed.
import { listenDialExchange } from "./lib/exchange.mjs";

export async function warmUp(load) {
  const { memoryTransport } = await load("@xppg/transport");
  await listenDialExchange(memoryTransport(), "memory://");
}
