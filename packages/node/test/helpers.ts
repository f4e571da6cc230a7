import { afterEach } from "vitest";
import { EnvelopeCodec, ENVELOPE_VERSION } from "@xppg/framing";
import { generateIdentity, secureConnection, type Identity } from "@xppg/secure";
import { memoryTransport, type Connection, type Transport } from "@xppg/transport";
import { PROTOCOL_VERSION, Playground, type NatResult, type PlaygroundOptions, type PlaygroundEvents } from "../src/index.js";
import { until } from "../../../tools/test/until.js";

let counter = 0;

/** A port mapper's result saying the port is mapped, as `@xppg/nat` gives it. */
export function mappedResult(internalPort: number, externalIp: string, remove: () => Promise<void>): NatResult {
  return { mapped: true, method: "upnp-igd2", externalIp, externalPort: internalPort, internalPort, internalIp: "192.0.2.10", protocol: "TCP", leaseSeconds: 3600, remove, [Symbol.asyncDispose]: remove };
}

/** A started node on the in-memory transport, listening on a unique address. */
export async function memoryNode(app = "test-app", options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = new Playground(app, { transports: [memoryTransport()], listen: [`memory://node-${process.pid}-${++counter}`], ...options });
  await pg.start();
  return pg;
}

/**
 * Nodes made through `node()` are stopped after each test of the file that
 * calls `stopNodesAfterEach()` at its top.
 */
const tracked: Playground[] = [];

/** A started memory node, stopped after the test. */
export async function node(app = "test-app", options: PlaygroundOptions = {}): Promise<Playground> {
  const pg = await memoryNode(app, options);
  tracked.push(pg);
  return pg;
}

/** Registers a node made some other way for the same clean-up. */
export function track(pg: Playground): Playground {
  tracked.push(pg);
  return pg;
}

export function stopNodesAfterEach(): void {
  afterEach(async () => {
    await Promise.all(tracked.splice(0).map((pg) => pg.stop()));
  });
}

/** Waits for one event, with a generous bound so a bug fails instead of hanging. */
export function nextEvent<K extends keyof PlaygroundEvents>(pg: Playground, name: K, timeoutMs = 10_000): Promise<Parameters<PlaygroundEvents[K]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = pg.events.on(name, ((...args: Parameters<PlaygroundEvents[K]>) => {
      clearTimeout(timer);
      off();
      resolve(args);
    }) as PlaygroundEvents[K]);
  });
}

export { until };

/**
 * A barrier for "nothing else happens" checks: `a` and `b` each send the other
 * a message and wait for the other's. Messages on a connection arrive in
 * order, so whatever either sent before has been handled once this resolves.
 */
export async function roundTrip(a: Playground, b: Playground, timeoutMs = 5000): Promise<void> {
  const kind = "test:round-trip";
  const atA = collect(a, kind);
  const atB = collect(b, kind);
  await Promise.all([a.send(kind, { from: a.peerId }, { to: b.peerId }), b.send(kind, { from: b.peerId }, { to: a.peerId })]);
  await until(() => atA.length > 0 && atB.length > 0, timeoutMs, "a round trip between the two nodes");
}

/** Collects the messages of one kind that a node receives. */
export function collect<P = unknown>(pg: Playground, kind: string): { src: string; payload: P }[] {
  const got: { src: string; payload: P }[] = [];
  pg.on<P>(kind, (src, _k, payload) => {
    got.push({ src, payload });
  });
  return got;
}

/**
 * A hand-driven peer for hostile-input tests: it dials like a node but sends
 * whatever the test writes.
 */
export class RawPeer {
  readonly codec = new EnvelopeCodec();
  readonly received: { kind: string; payload: unknown }[] = [];
  /** Its last hello offered `lean/1` (set by the hello it sends, `hello()` or by hand). */
  offersLean = false;
  /** The node's hello offered `lean/1`, and the node's welcome came: with {@link RawPeer.offersLean}, compact envelopes are read. */
  private nodeOffersLean = false;
  private welcomed = false;
  /** Message ids carry the time they were made (ms × 1024), as a node makes them. */
  private id = Date.now() * 1024;
  constructor(
    readonly conn: Connection,
    readonly peerId: string,
    /** The node's id, proved by the secure handshake; the default destination. */
    readonly remotePeerId: string | null = null,
  ) {
    conn.read({
      frame: (data) => {
        try {
          const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
          for (let pos = 0; pos < data.byteLength; ) {
            const length = view.getUint32(pos);
            // It reads the compact layout only where a node does: both hellos offered `lean/1` and the node's welcome came
            // (an envelope it should not get there is undecodable, so a node that writes compact too early is caught).
            const lean = this.offersLean && this.nodeOffersLean && this.welcomed;
            const link = this.remotePeerId === null ? undefined : { local: this.peerId, remote: this.remotePeerId, lean };
            const env = this.codec.decode(data, pos + 4, pos + 4 + length, link);
            if (env.kind === "xppg/hello") {
              const caps = (env.payload as { caps?: unknown } | null)?.caps;
              this.nodeOffersLean = Array.isArray(caps) && caps.includes("lean/1");
            } else if (env.kind === "xppg/welcome") this.welcomed = true;
            this.received.push({ kind: env.kind, payload: env.payload });
            pos += 4 + length;
          }
        } catch {
          this.received.push({ kind: "<undecodable>", payload: data });
        }
      },
    });
  }

  /**
   * Dials and completes the secure handshake with a fresh identity (or the
   * one given), as a real node would, then stops: the test writes the rest.
   */
  static async dial(transport: Transport, address: string, identity: Identity = generateIdentity()): Promise<RawPeer> {
    const secure = await secureConnection(await transport.dial(address), { identity });
    const raw = new RawPeer(secure, identity.peerId, secure.remotePeerId);
    raw.identity = identity;
    return raw;
  }

  /** The identity the raw peer proved in the secure handshake. */
  identity: Identity | undefined;

  /** One frame holding the given envelopes, as a node bundles them: [u32 length][envelope]... */
  static bundle(...envelopes: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(envelopes.reduce((n, e) => n + 4 + e.byteLength, 0));
    let pos = 0;
    for (const e of envelopes) {
      new DataView(out.buffer).setUint32(pos, e.byteLength);
      out.set(e, pos + 4);
      pos += 4 + e.byteLength;
    }
    return out;
  }

  /** A frame with one envelope from this peer. */
  envelope(kind: string, payload: unknown, extra: { source?: string; destination?: string | null } = {}): Uint8Array {
    return RawPeer.bundle(this.bareEnvelope(kind, payload, extra));
  }

  /** One envelope, not yet in a bundle. */
  bareEnvelope(kind: string, payload: unknown, extra: { source?: string; destination?: string | null } = {}): Uint8Array {
    if (kind === "xppg/hello") {
      const caps = (payload as { caps?: unknown } | null)?.caps;
      this.offersLean = Array.isArray(caps) && caps.includes("lean/1");
    }
    return this.codec.encode({
      version: ENVELOPE_VERSION,
      kind,
      source: extra.source ?? this.peerId,
      destination: extra.destination === undefined ? this.remotePeerId : extra.destination,
      id: this.id++,
      hopLimit: 0,
      payload,
    });
  }

  /** A broadcast signed with `identity` the way a node signs (to forge one, pass another identity). */
  signedBroadcast(kind: string, payload: unknown, identity: Identity): Uint8Array {
    const prefix = new TextEncoder().encode("xppg-broadcast-v1:");
    return RawPeer.bundle(
      this.codec.encodeSigned(
        { version: ENVELOPE_VERSION, kind, source: this.peerId, destination: null, id: this.id++, hopLimit: 0, payload },
        (bytes) => identity.sign(new Uint8Array([...prefix, ...bytes])),
      ),
    );
  }

  send(kind: string, payload: unknown, extra?: { source?: string; destination?: string | null }): Promise<void> {
    return this.conn.send(this.envelope(kind, payload, extra));
  }

  /**
   * Sends a hello (offering `caps` when given; it reads compact envelopes
   * when they include `lean/1`) and, unless told not to, the welcome that
   * completes the handshake.
   */
  async hello(app = "test-app", protocol = PROTOCOL_VERSION, welcome = true, caps?: readonly string[]): Promise<void> {
    const offer = caps === undefined ? {} : { versions: [protocol, protocol], caps: [...caps] };
    await this.send("xppg/hello", { app, protocol, ...offer, peerId: this.peerId, listen: [], agent: "raw" });
    if (welcome) await this.send("xppg/welcome", null);
  }
}
