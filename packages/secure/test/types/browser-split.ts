// Type-checked under the browser condition (tsconfig.browser.json): what a page's code sees of a handshake's split.
import { CipherStateBase, HandshakeState, type HandshakeResult } from "@xppg/secure/browser";

export async function pageSplit(hs: HandshakeState): Promise<CipherStateBase> {
  const result: HandshakeResult = await hs.split();
  // A page's states have the base class's methods...
  result.send.encryptWithAd(new Uint8Array(0), new Uint8Array(1));
  // ...and not Node's transport-only ones, which its build does not carry.
  // @ts-expect-error -- encryptParts is Node's CipherState's
  result.send.encryptParts(new Uint8Array(1));
  // @ts-expect-error -- decryptInto is Node's CipherState's
  result.receive.decryptInto(new Uint8Array(0), new Uint8Array(16), new Uint8Array(0));
  return result.receive;
}
