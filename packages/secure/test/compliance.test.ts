// The transport compliance suite, run against secure connections: a
// transport-like adapter whose listen and dial wrap each connection with
// secureConnection, over the memory transport and over TCP.
import { transportComplianceTests } from "@xppg/transport/compliance";
import { memoryTransport } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { secureTransport } from "./helpers.js";

transportComplianceTests("secure over memory", () => ({
  transport: secureTransport(memoryTransport({ maxFrameSize: 256 * 1024, highWaterMark: 256 * 1024 }), { maxFrameSize: 256 * 1024 }),
  listenAddress: "memory://",
  badAddresses: ["not an address", "memory://", "memory://0"],
}));

transportComplianceTests("secure over tcp", () => ({
  transport: secureTransport(tcpTransport()),
  listenAddress: "tcp://127.0.0.1:0",
  remoteHost: "127.0.0.1",
  maxFrameSize: 1024 * 1024,
}));
