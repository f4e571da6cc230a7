// xppg Playground with encryption turned off (dangerouslyDisableEncryption):
// the stack's own cost without the cost of security.
import { PLAIN_TARGETS, playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground-plain",
  label: "xppg Playground plain (borrow)",
  encrypted: false,
  borrow: true,
  targets: PLAIN_TARGETS,
});
