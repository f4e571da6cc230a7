import { transportComplianceTests } from "../src/compliance/index.js";
import { memoryTransport } from "../src/index.js";

// The in-memory transport must pass the same suite as the network ones.
transportComplianceTests("memory", () => ({
  transport: memoryTransport({ maxFrameSize: 256 * 1024, highWaterMark: 256 * 1024 }),
  listenAddress: "memory://",
  badAddresses: ["not an address", "memory://", "memory://0", "memory://has space", "tcp://127.0.0.1:1"],
}));

transportComplianceTests("memory (defaults)", () => ({
  transport: memoryTransport(),
  listenAddress: "memory://0",
}));
