// A relayed circuit (@xppg/node/relay): the listener reserves on a relay, the
// dialler opens a circuit through it, no punching. The relay runs in a third
// process (contenders/relay-process.mjs): on two shared cores it competes
// with both ends for CPU, so this is still a lower bound.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { relayTransport } from "@xppg/node/relay";
import { peerOf } from "./transport-tcp.mjs";

/** The id the listener reserves under. */
export const RELAY_LISTENER_ID = "bench-listener";
const ID = RELAY_LISTENER_ID;

/**
 * A relay without limits in a process of its own (a relay is another machine:
 * its work is not charged to either end), and a reservation on it.
 */
export async function relayAndReservation(host, onConnection) {
  const child = fork(fileURLToPath(new URL("./relay-process.mjs", import.meta.url)), [host], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const port = await new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m.port));
    child.once("exit", (code) => reject(new Error(`the relay process exited (${code})`)));
  });
  const listener = await relayTransport({ peerId: ID, punch: false }).listen(`relay://${host}:${port}`, onConnection);
  return {
    port,
    close: async () => {
      await listener.close();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await exited;
    },
  };
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
  notes: ["a circuit through a RelayService in a process of its own (one more hop; its CPU is not counted on either side, but it shares the machine's cores), no hole punching"],

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
