// One forwarding hop of a 3-hop chain, alone in its process (a hop is another
// machine): `node hop-process.mjs <kind> <host> <next port>`. It prints its own
// port over IPC, answers "cpu" with the CPU seconds it has used, and runs
// until its parent disconnects.
//   secret-stream  each inbound connection gets an outbound one to the next
//                  hop; both are @hyperswarm/secret-stream links and every
//                  message read from one is written to the other (opened and
//                  sealed again at this hop), as a circuit relay or an onion
//                  router passes a circuit's cells on
//   playground     a Playground joined to the next hop's Playground, which
//                  forwards routed unicast through the mesh
import { createConnection, createServer } from "node:net";
import { once } from "node:events";

const [kind, host, nextPortText] = process.argv.slice(2);
const nextPort = Number(nextPortText);

let close;
if (kind === "secret-stream") close = await secretStreamHop();
else if (kind === "playground") close = await playgroundHop();
else throw new Error(`unknown hop kind ${kind}`);

process.on("message", (m) => {
  if (m !== "cpu") return;
  const cpu = process.cpuUsage();
  process.send?.({ cpuSeconds: (cpu.user + cpu.system) / 1e6 });
});
process.on("disconnect", () => void Promise.resolve(close()).finally(() => process.exit(0)));
process.on("SIGTERM", () => process.exit(143)); // exit() still writes a --cpu-prof profile

async function secretStreamHop() {
  const { default: SecretStream } = await import("@hyperswarm/secret-stream");
  const keyPair = SecretStream.keyPair();
  const open = (isInitiator, socket) => {
    const stream = new SecretStream(isInitiator, socket, { keyPair });
    stream.on("error", () => {}); // the bench ends connections abruptly
    socket.on("error", () => {});
    return stream;
  };
  const links = new Set();
  const server = createServer({ noDelay: true }, (socket) => {
    const inbound = open(false, socket);
    const outbound = open(true, createConnection({ host, port: nextPort, noDelay: true }));
    // Each stream's own high-water mark holds the other back (pipe pauses the reader while the writer is full).
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.once("close", end);
    outbound.once("close", end);
    links.add(end);
  });
  server.listen({ host, port: 0, backlog: 511 });
  await once(server, "listening");
  process.send?.({ port: server.address().port });
  return () => {
    for (const end of links) end();
    server.close();
  };
}

async function playgroundHop() {
  const { startRoutedNode } = await import("./playground-routed.mjs");
  const pg = await startRoutedNode(host);
  await pg.join(host, nextPort);
  process.send?.({ port: pg.port });
  return () => pg.stop();
}
