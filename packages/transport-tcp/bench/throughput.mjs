// Compares @xppg/transport-tcp with a raw node:net socket on loopback, in one run.
// Build first (`pnpm --filter @xppg/transport-tcp build`), then: node bench/throughput.mjs
import { createConnection, createServer } from "node:net";
import { once } from "node:events";
import { tcpTransport } from "../dist/index.js";

const CASES = [
  { name: "small (64 B)", size: 64, count: 400_000 },
  { name: "bulk (64 KiB)", size: 64 * 1024, count: 8_000 },
];

async function raw(size, count) {
  const total = size * count;
  let received = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const server = createServer((s) => {
    s.on("data", (c) => {
      received += c.byteLength;
      if (received >= total) done();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const socket = createConnection({ port: server.address().port, host: "127.0.0.1", noDelay: true });
  await once(socket, "connect");
  const buf = Buffer.alloc(size, 7);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (!socket.write(buf)) await once(socket, "drain");
  }
  await finished;
  const ms = performance.now() - start;
  socket.destroy();
  server.close();
  return ms;
}

async function xppg(size, count) {
  const t = tcpTransport(process.env.HWM ? { highWaterMark: Number(process.env.HWM) } : {});
  let received = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const listener = await t.listen("tcp://127.0.0.1:0", (c) => {
    c.read({
      frame: () => {
        if (++received === count) done();
      },
    });
  });
  const conn = await t.dial(listener.address);
  const buf = new Uint8Array(size).fill(7);
  const start = performance.now();
  for (let i = 0; i < count; i++) await conn.send(buf);
  await finished;
  const ms = performance.now() - start;
  await conn.close();
  await listener.close();
  return ms;
}

for (const { name, size, count } of CASES) {
  // Warm up, then alternate to share the machine's noise.
  await raw(size, Math.ceil(count / 10));
  await xppg(size, Math.ceil(count / 10));
  const r = [];
  const x = [];
  for (let i = 0; i < 3; i++) {
    r.push(await raw(size, count));
    x.push(await xppg(size, count));
  }
  const best = (a) => Math.min(...a);
  const rawRate = count / best(r) * 1000;
  const xRate = count / best(x) * 1000;
  console.log(`${name}: raw ${Math.round(rawRate)} msg/s, xppg ${Math.round(xRate)} msg/s, ratio ${(xRate / rawRate * 100).toFixed(0)}%`);
}
