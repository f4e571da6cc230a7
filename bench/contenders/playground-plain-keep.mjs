// xppg Playground with encryption turned off, its handler a default one (not
// `borrow`): the node keeps every message's memory for as long as a handler
// might keep its payload. The figure an application gets without `borrow`,
// shown beside playground-plain's (which borrows), and judged by the same targets
// but for the bulk receiver's peak RSS, shown beside raw node:net's receiver.
import { PLAIN_TARGETS, defaultHandlerTargets, playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground-plain-keep",
  label: "xppg Playground plain (handler keeps)",
  encrypted: false,
  borrow: false,
  targets: defaultHandlerTargets(PLAIN_TARGETS),
});
