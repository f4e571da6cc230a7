// The secure channel end to end over a relayed circuit: what a Playground
// behind a NAT gets before a punch. The relay runs in a process of its own,
// as in relay-circuit.
import { generateIdentity, secureConnection } from "@xppg/secure";
import { relayTransport } from "@xppg/node/relay";
import { peerOf } from "./transport-tcp.mjs";
import { contender as circuit, relayAndReservation, RELAY_LISTENER_ID } from "./relay-circuit.mjs";

const IDENTITY = generateIdentity();

/** @type {import("./index.mjs").Contender} */
export const contender = {
  name: "relay-secure",
  label: "xppg secure over a relayed circuit",
  compareTo: "secure-tcp",
  targets: [
    { issue: "10", phase: "msgs", minRatio: 0.5 },
    { issue: "10", phase: "bulk", minRatio: 0.5 },
  ],
  notes: ["secureConnection on both ends of a relay-circuit circuit (the relay, in a process of its own, sees only records)"],

  async listen({ host, onMessage }) {
    let resolveConnected;
    let rejectConnected;
    const connected = new Promise((resolve, reject) => {
      resolveConnected = resolve;
      rejectConnected = reject;
    });
    const r = await relayAndReservation(host, (conn) => {
      secureConnection(conn, { identity: IDENTITY }).then((secure) => {
        secure.read({ frame: onMessage });
        resolveConnected(peerOf(secure));
      }, rejectConnected);
    });
    return { port: r.port, connected, close: r.close };
  },

  async dial({ host, port, onMessage }) {
    const conn = await relayTransport({ punch: false }).dial(`relay://${host}:${port}/p/${RELAY_LISTENER_ID}`);
    const secure = await secureConnection(conn, { identity: IDENTITY });
    secure.read({ frame: onMessage });
    return peerOf(secure);
  },

  setupServer: circuit.setupServer,
  setupClient: circuit.setupClient,
};
