// xppg Playground, encrypted and authenticated (the default), its handler registered with
// { borrow: true } (it keeps nothing of a payload); playground-keep is the same with a default handler.
import { ENCRYPTED_TARGETS, playgroundContender } from "./playground-node.mjs";

export const contender = playgroundContender({
  name: "playground",
  label: "xppg Playground (borrow)",
  encrypted: true,
  borrow: true,
  targets: ENCRYPTED_TARGETS,
});
