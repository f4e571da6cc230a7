// xppg Playground as an application gets it by default: encrypted, its
// handler a default one (not `borrow`), so the node keeps every message's
// memory for as long as a handler might keep its payload. Shown beside
// playground's (which borrows), and judged by the same targets.
import { playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground-keep",
  label: "xppg Playground (handler keeps)",
  encrypted: true,
  borrow: false,
  targets: [
    { issue: "security", phase: "msgs", minRatio: 0.4 },
    { issue: "security", phase: "bulk", minRatio: 0.5 },
    { issue: "security", phase: "setup", maxMedianMs: 15 },
    { issue: "encrypted", phase: "msgs", against: "secret-stream", minRatio: 5 },
    { issue: "encrypted", phase: "bulk", against: "secret-stream", minRatio: 1 },
    { issue: "encrypted", phase: "rtt", against: "secret-stream", maxRatio: 1 },
    { issue: "encrypted", phase: "first", against: "secret-stream", maxRatio: 1 },
    { issue: "encrypted", phase: "bulk", maxRssMiB: 100 },
  ],
});
