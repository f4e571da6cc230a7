// The Playground of a built checkout, for the tools that compare two trees
// in one run (send-path.mjs, receive-path.mjs): its `Playground` and
// `tcpTransport` loaded from the tree's bundles, and the options both tools
// run it with (plaintext over TCP on loopback, both rate limits off).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** `Playground` and `tcpTransport` of the built checkout at `dir`. */
export async function playgroundOf(dir) {
  const bundle = (path) => import(pathToFileURL(resolve(dir, path)).href);
  return {
    Playground: (await bundle("packages/node/dist/bundle/index.js")).Playground,
    tcpTransport: (await bundle("packages/transport-tcp/dist/bundle/index.js")).tcpTransport,
  };
}

/** Plaintext over TCP on loopback, both rate limits off (the tools flood on purpose), then `extra`. */
export function plainOptions(tcpTransport, extra = {}) {
  return {
    host: "127.0.0.1",
    port: 0,
    transports: [tcpTransport()],
    limits: { messagesPerSecond: Infinity, bytesPerSecond: Infinity },
    dangerouslyDisableEncryption: true,
    ...extra,
  };
}
