// @xppg/secure's warm-up for its code cache (scripts/code-cache.mjs): what a
// node's first connection does with it. Two identities, a Noise XX handshake
// over a memory connection, a sealed message each way, both closed.
export async function warmUp(load) {
  const { generateIdentity, secureConnection } = await load("@xppg/secure");
  const { memoryTransport } = await load("@xppg/transport");
  const t = memoryTransport();
  let server;
  const accepted = new Promise((resolve) => {
    server = t.listen("memory://warm-up", (conn) => resolve(secureConnection(conn, { identity: generateIdentity() })));
  });
  const listener = await server;
  const client = await secureConnection(await t.dial(listener.address), { identity: generateIdentity() });
  const other = await accepted;
  const heard = (conn) => new Promise((resolve) => conn.read({ frame: resolve }));
  const both = Promise.all([heard(client), heard(other)]);
  await client.send(new Uint8Array(64));
  await other.send(new Uint8Array(64));
  await both;
  await Promise.all([client.close(), other.close()]);
  await listener.close();
}
