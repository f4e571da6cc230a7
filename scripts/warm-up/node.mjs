// @xppg/node's warm-up for its code cache (scripts/code-cache.mjs): what a
// plain program's first connection does. Two nodes on loopback, one joins
// the other, a message each way, both stop.
export async function warmUp(load) {
  const { Playground } = await load("@xppg/node");
  const a = new Playground("warm-up", { host: "127.0.0.1", port: 0 });
  const b = new Playground("warm-up", { host: "127.0.0.1", port: 0, listen: [] });
  const heardA = new Promise((resolve) => a.on("hello", resolve));
  const heardB = new Promise((resolve) => b.on("hello", resolve));
  await a.start();
  await b.start();
  const peer = await b.join("127.0.0.1", a.port);
  await b.send("hello", { text: "hi" }, { to: peer.peerId });
  await heardA;
  await a.send("hello", new Uint8Array(8), { to: b.peerId });
  await heardB;
  await Promise.all([a.stop(), b.stop()]);
}
