// What a node's first connection does with a transport, for the warm-ups of
// the transports' code caches: a listener at `address`, a dial to it, a frame
// each way (one, then parts), both ends and the listener closed.
export async function listenDialExchange(transport, address) {
  let accept;
  const accepted = new Promise((resolve) => (accept = resolve));
  const listener = await transport.listen(address, accept);
  const client = await transport.dial(listener.address);
  const server = await accepted;
  const heard = (conn) => new Promise((resolve) => conn.read({ frame: resolve }));
  const both = Promise.all([heard(client), heard(server)]);
  await client.send(new Uint8Array(64));
  await server.sendParts([new Uint8Array(8), new Uint8Array(56)]);
  await both;
  await Promise.all([client.close(), server.close()]);
  await listener.close();
}
