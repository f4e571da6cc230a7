// @xppg/transport-tcp's warm-up for its code cache (scripts/code-cache.mjs):
// what a node's first connection does with it. A listener on loopback, a
// dial, a frame each way, both closed.
export async function warmUp(load) {
  const { tcpTransport } = await load("@xppg/transport-tcp");
  const t = tcpTransport();
  let accept;
  const accepted = new Promise((resolve) => (accept = resolve));
  const listener = await t.listen("tcp://127.0.0.1:0", accept);
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
