import { transportComplianceTests } from "@xppg/transport/compliance";
import { tcpTransport } from "../src/index.js";

transportComplianceTests("tcp (IPv4)", () => ({
  transport: tcpTransport(),
  listenAddress: "tcp://127.0.0.1:0",
  remoteHost: "127.0.0.1",
  badAddresses: ["not an address", "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000", "tcp://[::1:7", "ws://127.0.0.1:7"],
}), { lends: true });

transportComplianceTests("tcp (IPv6, small limits)", () => ({
  transport: tcpTransport({ maxFrameSize: 64 * 1024, highWaterMark: 64 * 1024 }),
  listenAddress: "tcp://[::1]:0",
  remoteHost: "::1",
}), { lends: true });
