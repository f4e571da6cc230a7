// A relayed circuit (@xppg/node/relay): the listener reserves on a relay, the
// dialler opens a circuit through it, no punching. The relay runs in the
// listener's process (it shares that core), so this is a lower bound.
import { RelayService, relayTransport } from "@xppg/node/relay";
import { peerOf } from "./transport-tcp.mjs";

const UNLIMITED = { maxCircuitBytes: Number.MAX_SAFE_INTEGER, maxCircuitDurationMs: 2 ** 31 - 1, maxCircuits: 10_000, maxCircuitsPerIp: 10_000 };
const ID = "bench-listener";

async function relayAndReservation(host, onConnection) {
  const relay = new RelayService(UNLIMITED);
  const address = await relay.start(`tcp://${host}:0`);
  const port = Number(address.split(":").at(-1));
  const listener = await relayTransport({ peerId: ID, punch: false }).listen(`relay://${host}:${port}`, onConnection);
  return { port, close: async () => { await listener.close(); await relay.close(); } };
}

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "relay-circuit",
  label: "xppg relayed circuit",
  compareTo: "transport-tcp",
  targets: [
    { issue: "10", phase: "msgs", minRatio: 0.5 },
    { issue: "10", phase: "bulk", minRatio: 0.5 },
  ],
  notes: ["a circuit through a RelayService in the listener's process (one more hop, one more core's work on that side), no hole punching"],

  async listen({ host, onMessage }) {
    let resolveConnected;
    const connected = new Promise((resolve) => (resolveConnected = resolve));
    const r = await relayAndReservation(host, (conn) => {
      conn.read({ frame: onMessage });
      resolveConnected(peerOf(conn));
    });
    return { port: r.port, connected, close: r.close };
  },

  async dial({ host, port, onMessage }) {
    const conn = await relayTransport({ punch: false }).dial(`relay://${host}:${port}/p/${ID}`);
    conn.read({ frame: onMessage });
    return peerOf(conn);
  },

  async setupServer({ host }) {
    const conns = new Set();
    const r = await relayAndReservation(host, (conn) => {
      conns.add(conn);
      conn.read({ frame() {}, close: () => conns.delete(conn) });
    });
    return { port: r.port, close: async () => { await Promise.all([...conns].map((c) => c.close().catch(() => {}))); await r.close(); } };
  },

  async setupClient() {
    let conn = null;
    return {
      async connect({ host, port }) {
        conn = await relayTransport({ punch: false }).dial(`relay://${host}:${port}/p/${ID}`);
      },
      close: async () => conn?.close(),
    };
  },
};
