import { transportComplianceTests } from "@xppg/transport/compliance";
import { webSocketTransport } from "../src/index.js";

transportComplianceTests("ws", () => ({
  transport: webSocketTransport(),
  listenAddress: "ws://127.0.0.1:0/xppg",
  remoteHost: "127.0.0.1",
  badAddresses: ["not an address", "ws://", "ws://:80/", "tcp://127.0.0.1:1", "ws://host:99999/", "ws://user:pw@host:1/", "ws://host:1/#frag"],
}));

transportComplianceTests("ws (IPv6, small limits)", () => ({
  transport: webSocketTransport({ maxFrameSize: 64 * 1024, highWaterMark: 64 * 1024 }),
  listenAddress: "ws://[::1]:0/",
  remoteHost: "::1",
}));
