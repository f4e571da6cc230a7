// xppg Playground with encryption turned off (dangerouslyDisableEncryption):
// the stack's own cost without the cost of security.
import { playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground-plain",
  label: "xppg Playground plain (borrow)",
  encrypted: false,
  borrow: true,
  targets: [
    { issue: "foundation", phase: "msgs", minRatio: 0.5 },
    { issue: "foundation", phase: "bulk", minRatio: 0.7 },
    { issue: "encrypted", phase: "msgs", minRatio: 0.9 },
    { issue: "encrypted", phase: "bulk", minRatio: 0.9 },
    { issue: "encrypted", phase: "bulk", maxRssMiB: 100 },
  ],
});
