// A RelayService alone in its own process, as a relay is another machine:
// prints its port, and runs until its parent disconnects.
import { RelayService } from "@xppg/node/relay";

const UNLIMITED = { maxCircuitBytes: Number.MAX_SAFE_INTEGER, maxCircuitBytesPerSecond: Infinity, maxCircuitDurationMs: 2 ** 31 - 1, maxCircuits: 10_000, maxCircuitsPerIp: 10_000, maxReservationsPerIp: 10_000 };
const relay = new RelayService(UNLIMITED);
const address = await relay.start(`tcp://${process.argv[2] ?? "127.0.0.1"}:0`);
process.send?.({ port: Number(address.split(":").at(-1)) });
process.on("message", (m) => {
  if (m === "memory") process.send?.({ memory: process.memoryUsage(), stats: relay.stats });
});
process.on("disconnect", () => void relay.close().then(() => process.exit(0)));
