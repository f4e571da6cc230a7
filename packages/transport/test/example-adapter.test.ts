import { transportComplianceTests } from "@xppg/transport/compliance";
import { duplexTransport } from "./example-adapter/duplex-transport.js";

// A third-party adapter written from @xppg/transport/adapter and nothing
// else but its socket code passes the same suite as the built-in ones.
transportComplianceTests("example adapter (node:stream Duplex pair)", () => ({
  transport: duplexTransport({ maxFrameSize: 256 * 1024, highWaterMark: 256 * 1024 }),
  listenAddress: "duplex://0",
  badAddresses: ["not an address", "duplex://", "duplex://0", "duplex://UPPER", "tcp://127.0.0.1:1"],
}));
