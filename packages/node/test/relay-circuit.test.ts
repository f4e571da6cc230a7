// A relayed circuit is a Connection like any other: the transport compliance
// suite runs over a relay on loopback, without punching and with punching on
// (on loopback a simultaneous open meets RSTs and fails, so this proves a
// failed punch leaves the circuit whole; the lab test punches for real).
import { randomBytes } from "node:crypto";
import type { Transport } from "@xppg/transport";
import { transportComplianceTests } from "@xppg/transport/compliance";
import { RelayService } from "../src/relay-service.js";
import { relayTransport, type RelayTransportOptions } from "../src/relay-transport.js";

function relaySetup(options: RelayTransportOptions) {
  return async () => {
    const relay = new RelayService({ setupTimeoutMs: 1000, maxCircuits: 200, maxCircuitsPerIp: 200 });
    const address = await relay.start("tcp://127.0.0.1:0");
    const dialer = relayTransport(options);
    // Each listen reserves under its own id: the suite opens several listeners at once.
    const listenTransport: Transport = {
      ...dialer,
      listen: (addr, onConnection) => relayTransport({ ...options, peerId: randomBytes(8).toString("hex") }).listen(addr, onConnection),
    };
    return {
      transport: dialer,
      listenTransport,
      listenAddress: address.replace("tcp://", "relay://"),
      remoteHost: "127.0.0.1",
      badAddresses: ["not an address", "relay://", "relay://127.0.0.1", "relay://127.0.0.1:1/p/", "relay://127.0.0.1:1/p/bad id", "relay://127.0.0.1:1/x/y", "tcp://127.0.0.1:7"],
      teardown: () => relay.close(),
    };
  };
}

transportComplianceTests("relay circuit (relayed)", relaySetup({ punch: false }));
transportComplianceTests("relay circuit (a punch tried and failed)", relaySetup({ punch: true, punchTimeoutMs: 1000 }));
