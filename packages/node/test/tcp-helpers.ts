import type { XppgError } from "@xppg/errors";
import { tcpTransport } from "@xppg/transport-tcp";
import type { Identity } from "@xppg/secure";
import { Playground, type PlaygroundOptions } from "../src/index.js";
import { RawPeer, track } from "./helpers.js";

/** A started node on real TCP on 127.0.0.1 (any free port), stopped after the test (with `stopNodesAfterEach`). */
export async function tcpNode(options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = track(new Playground("test-app", { host: "127.0.0.1", port: 0, ...options }));
  await pg.start();
  return pg;
}

/** A hand-driven peer over real TCP that completed the secure handshake and the hello (unless told not to). */
export async function tcpRawPeer(target: Playground, options: { hello?: boolean; identity?: Identity } = {}): Promise<RawPeer> {
  const raw = await RawPeer.dial(tcpTransport(), `tcp://127.0.0.1:${target.port}`, options.identity);
  if (options.hello !== false) await raw.hello();
  return raw;
}

/** Every `error` event of a node, in order. */
export function errorsOf(pg: Playground): XppgError[] {
  const errors: XppgError[] = [];
  pg.events.on("error", (e) => void errors.push(e));
  return errors;
}

/** Every `peer:left` event of a node: who left and why. */
export function leftOf(pg: Playground): { peerId: string; code: string | undefined }[] {
  const left: { peerId: string; code: string | undefined }[] = [];
  pg.events.on("peer:left", (peer, reason) => void left.push({ peerId: peer.peerId, code: reason?.code }));
  return left;
}
