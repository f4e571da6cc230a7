// xppg Playground as an application gets it by default: encrypted, its
// handler a default one (not `borrow`), so the node keeps every message's
// memory for as long as a handler might keep its payload. Shown beside
// playground's (which borrows), and judged by the same targets but for the
// bulk receiver's peak RSS, shown beside raw node:net's receiver.
import { ENCRYPTED_TARGETS, defaultHandlerTargets, playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground-keep",
  label: "xppg Playground (handler keeps)",
  encrypted: true,
  borrow: false,
  targets: defaultHandlerTargets(ENCRYPTED_TARGETS),
});
