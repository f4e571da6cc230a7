import { ENVELOPE_VERSION, EnvelopeCodec, type Envelope } from "@xppg/framing";
import { generateIdentity, secureConnection, type Identity, type SecureConnection } from "@xppg/secure";
import { tcpTransport } from "@xppg/transport-tcp";
import { PROTOCOL_VERSION, type Playground, type PlaygroundOptions } from "../src/index.js";
import { buildPacket, PACKET, packetHeader, parsePacket, type PacketType, type RoutedPacket } from "../src/route-wire.js";
import { RawPeer, until } from "./helpers.js";
import { tcpNode } from "./tcp-helpers.js";

type Side = "toB" | "toD";

/** The topology each routed test builds, kept: no connection manager dialling the far end directly. */
export const FIXED: PlaygroundOptions = { connections: { lowWater: 0 } };

/** Nodes on real TCP on loopback, joined as a chain: node i joins node i - 1. */
export async function chain(count: number): Promise<Playground[]> {
  const nodes: Playground[] = [];
  for (let i = 0; i < count; i++) nodes.push(await tcpNode(FIXED));
  for (let i = 1; i < count; i++) await nodes[i]!.join(`tcp://127.0.0.1:${nodes[i - 1]!.port}`);
  return nodes;
}

/** Waits until `from` has heard of `to` through the mesh (a route to it). */
export async function heard(from: Playground, to: Playground): Promise<void> {
  await until(() => from.meshPeers.some((m) => m.peerId === to.peerId), 10_000, `${from.peerId} hears of ${to.peerId}`);
}

/** The header of a routed packet, read as a forwarder reads it. */
export function routeHeader(packet: Uint8Array): RoutedPacket {
  const parsed = parsePacket(packet);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

/**
 * A hand-driven mesh node between two real nodes B and D (over TCP on
 * loopback): it completes the handshakes offering `mesh/1` and `route/1`,
 * passes signed broadcasts on (so presences, and with them routes, cross
 * it) and carries `xppg/route` packets from one side to the other, keeping
 * a copy of each; `tamper` may change, drop (null) or copy a packet first.
 * What it sees is what any node on a routed path sees.
 */
export class HostileForwarder {
  readonly identity: Identity = generateIdentity();
  readonly codec = new EnvelopeCodec();
  /** A copy of every routed packet it carried, in order. */
  readonly packets: Uint8Array[] = [];
  tamper: ((packet: Uint8Array) => Uint8Array | null) | undefined;
  /** Broadcasts of this origin are not passed on (so the far side never hears of it). */
  withhold: string | undefined;
  readonly #links = new Map<Side, SecureConnection>();
  #id = Date.now() * 1024;

  get peerId(): string {
    return this.identity.peerId;
  }

  static async between(b: Playground, d: Playground, withhold?: string): Promise<HostileForwarder> {
    const m = new HostileForwarder();
    m.withhold = withhold;
    const sides = [
      ["toB", b],
      ["toD", d],
    ] as const;
    // Both links first, then both hellos: what one side sends at once (its announcements) can cross to the other.
    for (const [side, node] of sides) {
      const conn = await secureConnection(await tcpTransport().dial(`tcp://127.0.0.1:${node.port}`), { identity: m.identity, expectedPeerId: node.peerId });
      m.#links.set(side, conn);
    }
    for (const [side] of sides) {
      await m.#send(side, "xppg/hello", { app: "test-app", protocol: PROTOCOL_VERSION, versions: [PROTOCOL_VERSION, PROTOCOL_VERSION], caps: ["mesh/1", "route/1"], peerId: m.peerId, listen: [], agent: "hostile" });
      await m.#send(side, "xppg/welcome", null);
    }
    for (const [side] of sides) m.#links.get(side)!.read({ frame: (frame) => m.#onFrame(side, frame) });
    for (const [, node] of sides) await until(() => node.peers.some((p) => p.peerId === m.peerId), 5000, "the forwarder admitted");
    return m;
  }

  /** Sends a routed packet to one side as if it came from further on. */
  inject(packet: Uint8Array, side: Side): void {
    void this.#send(side, "xppg/route", packet);
  }

  /** Sends `count` routed packets of its own making (data of 16 bytes unless told) on channel 7 to one side, in one frame. */
  async sendRouted(side: Side, o: { origin: string; destination: string; hopLimit: number; count?: number; type?: PacketType; body?: Uint8Array }): Promise<void> {
    const header = packetHeader(o.origin, o.destination, 7, false);
    const envelopes: Uint8Array[] = [];
    for (let i = 0; i < (o.count ?? 1); i++) {
      const packet = buildPacket(header, o.type ?? PACKET.DATA, o.body ?? new Uint8Array(16));
      packet[1] = o.hopLimit;
      envelopes.push(this.#encode(side, "xppg/route", packet));
    }
    await this.#links.get(side)!.send(RawPeer.bundle(...envelopes));
  }

  /** Stops (true) or starts again reading what one side sends. */
  pauseReading(side: Side, paused: boolean): void {
    const link = this.#links.get(side)!;
    if (paused) link.pause();
    else link.resume();
  }

  close(): void {
    for (const link of this.#links.values()) void link.close();
  }

  #onFrame(side: Side, data: Uint8Array): void {
    const other: Side = side === "toB" ? "toD" : "toB";
    const link = this.#links.get(side)!;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let pos = 0; pos < data.byteLength; ) {
      const length = view.getUint32(pos);
      const envelope = this.codec.decode(data, pos + 4, pos + 4 + length, { local: this.peerId, remote: link.remotePeerId });
      pos += 4 + length;
      this.#onEnvelope(side, other, envelope);
    }
  }

  #onEnvelope(side: Side, other: Side, envelope: Envelope): void {
    if (envelope.kind === "xppg/ping") {
      void this.#send(side, "xppg/pong", null);
      return;
    }
    if (envelope.kind === "xppg/mesh-ihave" && Array.isArray(envelope.payload)) {
      // Asks for every broadcast announced (those from before it joined the other side too).
      for (const [o, i] of envelope.payload as [string, number][]) void this.#send(side, "xppg/mesh-graft", { o, i });
      return;
    }
    if (envelope.destination === null && envelope.signature !== undefined && envelope.hopLimit > 0 && envelope.source !== this.withhold) {
      // A broadcast: passed on whole, signed by its origin, one hop fewer.
      const bytes = this.codec.encode({ ...envelope, hopLimit: envelope.hopLimit - 1 });
      void this.#links.get(other)?.send(RawPeer.bundle(bytes)).catch(() => {});
      return;
    }
    if (envelope.kind === "xppg/route" && envelope.payload instanceof Uint8Array) {
      const packet = envelope.payload.slice();
      this.packets.push(packet.slice());
      const out = this.tamper === undefined ? packet : this.tamper(packet);
      if (out !== null && this.#links.has(other)) void this.#send(other, "xppg/route", out);
    }
  }

  #encode(side: Side, kind: string, payload: unknown): Uint8Array {
    const remote = this.#links.get(side)!.remotePeerId;
    return this.codec.encode({ version: ENVELOPE_VERSION, kind, source: this.peerId, destination: remote, id: this.#id++, hopLimit: 0, payload });
  }

  #send(side: Side, kind: string, payload: unknown): Promise<void> {
    return this.#links
      .get(side)!
      .send(RawPeer.bundle(this.#encode(side, kind, payload)))
      .catch(() => {});
  }
}
