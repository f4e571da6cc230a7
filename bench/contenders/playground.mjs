// xppg Playground, encrypted and authenticated (the default), its handler registered with
// { borrow: true } (it keeps nothing of a payload); playground-keep is the same with a default handler.
import { playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground",
  label: "xppg Playground (borrow)",
  encrypted: true,
  borrow: true,
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
