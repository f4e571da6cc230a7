// @xppg/transport's warm-up for its code cache (scripts/code-cache.mjs): the
// connection core every transport's connections are built on (a TCP link's
// too), as a node's first connection runs it, through the in-memory
// transport (this package's own: the adapters are built after it). A
// listener, a dial, frames each way (one, then parts), both closed.
export async function warmUp(load) {
  const { memoryTransport } = await load("@xppg/transport");
  const t = memoryTransport();
  let accept;
  const accepted = new Promise((resolve) => (accept = resolve));
  const listener = await t.listen("memory://", accept);
  const client = await t.dial(listener.address);
  const server = await accepted;
  const heard = (conn) => new Promise((resolve) => conn.read({ frame: resolve }));
  const both = Promise.all([heard(client), heard(server)]);
  await client.send(new Uint8Array(64));
  await server.sendParts([new Uint8Array(8), new Uint8Array(56)]);
  await both;
  await Promise.all([client.close(), server.close()]);
  await listener.close();
}
