import { ConnectionPlanner, Plumtree, RouteTable, messageKey, type PlumtreeOptions, type TreeMessage, type TreeStats } from "../../src/mesh/index.js";
import { AddressBook, recordsToPass, type PeerRecord } from "../../src/mesh/address-book.js";
import { DialBudget } from "../../src/mesh/dial-budget.js";
import { TokenBucket } from "../../src/token-bucket.js";
import { EventQueue } from "./event-queue.js";
import { Random } from "../../../../tools/test/random.js";

/**
 * A seeded, deterministic network of mesh nodes, in the manner of the state
 * package's network simulator: the real mesh modules (broadcast tree, route
 * table, connection planner) over simulated links with random delays (so
 * messages overtake each other, on one link too), lost frames and killed
 * nodes. The links stand for the node's real ones, which are reliable
 * streams: a lost frame breaks its link (as a dead TCP connection does),
 * every frame still in flight on it is lost, and both ends notice after
 * `detectMs` (the heartbeat). The same seed replays the same run.
 */
export interface MeshSimOptions {
  seed: number;
  nodes: number;
  /** "tree": the broadcast tree; "flood": every node forwards to every neighbour (the baseline). */
  protocol: "tree" | "flood";
  /** "random": node i joins one or two earlier nodes; "chain": node i joins node i - 1. */
  topology?: "random" | "chain";
  /** Run the connection planner (dial learnt members up to the low water mark). @default true */
  manage?: boolean;
  lowWater?: number;
  highWater?: number;
  /** A frame's delay is drawn from [minDelayMs, maxDelayMs]. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Probability that a frame is lost (and its link breaks). */
  drop?: number;
  /** Time for both ends to notice a broken link or a dead peer. @default 1500 */
  detectMs?: number;
  /** Time to open a link. @default 30 */
  connectMs?: number;
  /** How often each node's connection planner runs. @default 500 */
  manageEveryMs?: number;
  hopLimit?: number;
  /**
   * How nodes learn whom to dial: "broadcast": every origin of a broadcast
   * delivered; "exchange": only from peer exchange (each node's own record
   * and the records it holds, sent on a new link and every `exchangeEveryMs`),
   * kept in the node's bounded address book, dialled within its dial budget.
   * @default "broadcast"
   */
  learn?: "broadcast" | "exchange";
  /** @default 30000 */
  exchangeEveryMs?: number;
  /** Nodes that advertise 32 made-up peers in every exchange, each "listening" at a victim's address. */
  liars?: number[];
  /** Timings of the broadcast tree. */
  tree?: Pick<PlumtreeOptions<string>, "missingTimeoutMs" | "graftRetryMs" | "lazyFlushMs" | "optimizeThreshold">;
}

/** What the simulated network counted. */
export interface MeshSimCounts {
  /** Whole broadcast copies sent over links. */
  payloadTx: number;
  /** IHAVE, GRAFT, PRUNE frames sent. */
  controlTx: number;
  /** First deliveries of broadcasts to handlers. */
  deliveries: number;
  /** Deliveries of a broadcast a node had already delivered (must stay 0). */
  duplicateDeliveries: number;
  /** Frames lost (dropped, on a broken link, or to a dead node). */
  lost: number;
  linkBreaks: number;
  dials: number;
  routedTx: number;
  /** Peer-exchange frames sent. */
  exchangeTx: number;
  /** Dials to the victim's host (made-up peers' addresses). */
  victimDials: number;
  /** Dials the budget refused. */
  budgetRefused: number;
}

type Frame = { readonly tree: TreeMessage<string> } | { readonly routed: Routed } | { readonly exchange: readonly PeerRecord[] };

/** The host of the victim whose address liars advertise. */
export const VICTIM_HOST = "victim";

interface Routed {
  readonly source: string;
  readonly destination: string;
  readonly id: number;
  readonly ttl: number;
  readonly hops: number;
}

interface Protocol {
  publish(id: number, payload: string): boolean;
  receive(from: string, message: TreeMessage<string>): void;
  neighborUp(peer: string): void;
  neighborDown(peer: string): void;
  readonly stats: TreeStats;
}

interface SimNode {
  readonly id: string;
  alive: boolean;
  readonly protocol: Protocol;
  readonly routes: RouteTable;
  readonly planner: ConnectionPlanner;
  readonly book: AddressBook;
  readonly budget: DialBudget;
  /** Per neighbour, the rate of its exchanges this node reads. */
  readonly exchangeRate: Map<string, TokenBucket>;
  readonly neighbors: Set<string>;
  /** Deliveries per broadcast key. */
  readonly delivered: Map<string, number>;
  nextId: number;
}

/** The outcome of one routed unicast. */
export interface UnicastResult {
  delivered: boolean;
  hops: number;
  /** Why it stopped short, when it did. */
  stopped?: string;
}

export class MeshSimulator {
  readonly queue = new EventQueue();
  readonly nodes: SimNode[] = [];
  readonly counts: MeshSimCounts = { payloadTx: 0, controlTx: 0, deliveries: 0, duplicateDeliveries: 0, lost: 0, linkBreaks: 0, dials: 0, routedTx: 0, exchangeTx: 0, victimDials: 0, budgetRefused: 0 };
  /** A running digest of everything that happened, to compare two runs of one seed. */
  trace = 0;
  readonly #o: Required<MeshSimOptions>;
  readonly #net: Random;
  readonly #byId = new Map<string, SimNode>();
  /** Open links by pair key, with the epoch of the connection (a reopened link is a new connection). */
  readonly #links = new Map<string, number>();
  #epoch = 0;
  readonly #unicasts = new Map<number, UnicastResult>();
  #unicastId = 0;

  constructor(options: MeshSimOptions) {
    this.#o = {
      topology: "random",
      manage: true,
      lowWater: 4,
      highWater: 12,
      minDelayMs: 2,
      maxDelayMs: 40,
      drop: 0,
      detectMs: 1500,
      connectMs: 30,
      manageEveryMs: 500,
      hopLimit: 64,
      learn: "broadcast",
      exchangeEveryMs: 30_000,
      liars: [],
      tree: {},
      ...options,
    };
    this.#net = new Random(options.seed);
    for (let i = 0; i < options.nodes; i++) this.#addNode(i);
    const topology = new Random(options.seed ^ 0x5bd1e995);
    for (let i = 1; i < options.nodes; i++) {
      if (this.#o.topology === "chain") this.#linkUp(this.nodes[i - 1]!, this.nodes[i]!);
      else {
        this.#linkUp(this.nodes[topology.int(i)]!, this.nodes[i]!);
        if (i > 1 && topology.chance(0.5)) this.#linkUp(this.nodes[topology.int(i)]!, this.nodes[i]!);
      }
    }
    if (this.#o.manage) {
      for (const node of this.nodes) this.queue.after(topology.int(this.#o.manageEveryMs), () => this.#manage(node));
    }
    if (this.#o.learn === "exchange") {
      for (const node of this.nodes) this.queue.after(topology.int(this.#o.exchangeEveryMs), () => this.#exchangeRound(node));
    }
  }

  /** Runs simulated time forward. */
  run(ms: number): void {
    this.queue.runUntil(this.queue.now + ms);
  }

  /** Node `index` broadcasts; returns the broadcast's key. */
  broadcast(index: number): string {
    const node = this.nodes[index]!;
    const id = ++node.nextId;
    node.protocol.publish(id, `${node.id}:${id}`);
    this.#mix(1, index, id);
    return messageKey(node.id, id);
  }

  /** Starts a routed unicast from node `from` to node `to`; read its result after running. */
  unicast(from: number, to: number): UnicastResult {
    const result: UnicastResult = { delivered: false, hops: 0 };
    const id = ++this.#unicastId;
    this.#unicasts.set(id, result);
    this.#route(this.nodes[from]!, "", { source: this.nodes[from]!.id, destination: this.nodes[to]!.id, id, ttl: this.#o.hopLimit, hops: 0 });
    return result;
  }

  /** Kills nodes at once (as SIGKILL: no goodbye); their neighbours notice after `detectMs`. */
  kill(indices: readonly number[]): void {
    for (const i of indices) {
      const node = this.nodes[i]!;
      node.alive = false;
      for (const peer of [...node.neighbors]) this.#linkBroken(node, this.#byId.get(peer)!);
    }
  }

  alive(): SimNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** How many times each live node other than the origin delivered a broadcast. */
  deliveryCounts(key: string): number[] {
    const origin = key.slice(0, key.indexOf("#"));
    return this.alive()
      .filter((n) => n.id !== origin)
      .map((n) => n.delivered.get(key) ?? 0);
  }

  /** Mean number of links per live node. */
  meanDegree(): number {
    const alive = this.alive();
    return alive.reduce((sum, n) => sum + n.neighbors.size, 0) / alive.length;
  }

  resetCounts(): void {
    for (const key of Object.keys(this.counts) as (keyof MeshSimCounts)[]) this.counts[key] = 0;
  }

  #addNode(index: number): void {
    const id = `n${String(index).padStart(3, "0")}`;
    const timers = this.queue.timers();
    const routes = new RouteTable({ self: id });
    const delivered = new Map<string, number>();
    const send = (to: string, message: TreeMessage<string>): void => this.#transmit(node, to, { tree: message });
    const deliver = (origin: string, mid: number, _payload: string, from: string, hops: number): void => {
      const key = messageKey(origin, mid);
      const count = (delivered.get(key) ?? 0) + 1;
      delivered.set(key, count);
      if (count === 1) this.counts.deliveries++;
      else this.counts.duplicateDeliveries++;
      routes.learn(origin, from, hops, mid, this.queue.now);
      if (this.#o.learn === "broadcast") node.planner.learn(origin);
      this.#mix(2, index, mid);
    };
    const protocol: Protocol =
      this.#o.protocol === "tree" ? new Plumtree<string>({ ...this.#o.tree, self: id, timers, send, deliver, hopLimit: this.#o.hopLimit }) : new Flood(id, send, deliver);
    const jitter = new Random(this.#o.seed * 31 + index);
    const planner = new ConnectionPlanner({ self: id, lowWater: this.#o.lowWater, highWater: this.#o.highWater, random: () => jitter.next() });
    const node: SimNode = { id, alive: true, protocol, routes, planner, book: new AddressBook(), budget: new DialBudget(), exchangeRate: new Map(), neighbors: new Set(), delivered, nextId: 0 };
    this.nodes.push(node);
    this.#byId.set(id, node);
  }

  #transmit(from: SimNode, to: string, frame: Frame): void {
    if ("tree" in frame) {
      if (frame.tree.type === "gossip") this.counts.payloadTx++;
      else this.counts.controlTx++;
    } else if ("routed" in frame) this.counts.routedTx++;
    else this.counts.exchangeTx++;
    const key = pairKey(from.id, to);
    const epoch = this.#links.get(key);
    const target = this.#byId.get(to)!;
    if (epoch === undefined || !from.alive) {
      this.counts.lost++;
      return;
    }
    if (this.#net.chance(this.#o.drop)) {
      this.counts.lost++;
      this.#linkBroken(from, target);
      return;
    }
    const delay = this.#o.minDelayMs + this.#net.next() * (this.#o.maxDelayMs - this.#o.minDelayMs);
    this.queue.after(delay, () => {
      if (this.#links.get(key) !== epoch || !target.alive) {
        this.counts.lost++;
        return;
      }
      if ("tree" in frame) target.protocol.receive(from.id, frame.tree);
      else if ("routed" in frame) this.#route(target, from.id, frame.routed);
      else this.#onExchange(target, from.id, frame.exchange);
    });
  }

  #route(node: SimNode, arrivedFrom: string, message: Routed): void {
    const result = this.#unicasts.get(message.id)!;
    if (message.destination === node.id) {
      result.delivered = true;
      result.hops = message.hops;
      this.#mix(3, message.id, message.hops);
      return;
    }
    if (message.ttl <= 0) {
      result.stopped = "hop limit";
      return;
    }
    const next = node.routes.nextHop(message.destination, arrivedFrom, this.queue.now);
    if ("none" in next) {
      result.stopped = `${next.none} at ${node.id}`;
      return;
    }
    this.#transmit(node, next.via, { routed: { ...message, ttl: message.ttl - 1, hops: message.hops + 1 } });
  }

  #linkUp(a: SimNode, b: SimNode): void {
    const key = pairKey(a.id, b.id);
    if (this.#links.has(key) || a === b) return;
    this.#links.set(key, ++this.#epoch);
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      x.neighbors.add(y.id);
      x.routes.neighborUp(y.id);
      x.planner.connected(y.id, this.queue.now);
      x.protocol.neighborUp(y.id);
      if (this.#o.learn === "exchange") this.#sendExchange(x, y.id);
    }
    this.#mix(4, this.nodes.indexOf(a), this.nodes.indexOf(b));
  }

  /** The link is gone at once (frames in flight are lost); each live end notices after `detectMs`. */
  #linkBroken(a: SimNode, b: SimNode): void {
    const key = pairKey(a.id, b.id);
    const epoch = this.#links.get(key);
    if (epoch === undefined) return;
    this.#links.delete(key);
    this.counts.linkBreaks++;
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      this.queue.after(this.#o.detectMs, () => {
        // Reopened in the meantime? Then that connection is what the node sees.
        if (!x.alive || this.#links.has(key)) return;
        x.neighbors.delete(y.id);
        x.routes.neighborDown(y.id);
        x.planner.disconnected(y.id, this.queue.now);
        x.protocol.neighborDown(y.id);
      });
    }
  }

  #manage(node: SimNode): void {
    if (!node.alive) return;
    const plan = node.planner.plan(this.queue.now);
    for (const peer of plan.dial) {
      let address = `sim://${peer}`;
      if (this.#o.learn === "exchange") {
        // As the node's connection manager: the peer's advertised address, within the dial budget.
        const known = node.book.get(peer);
        const host = known?.addresses[0]?.startsWith(`sim://${VICTIM_HOST}`) ? VICTIM_HOST : peer;
        if (known === undefined || !node.budget.take(known.addresses[0]!, host, this.queue.now)) {
          if (known !== undefined) this.counts.budgetRefused++;
          node.planner.disconnected(peer, this.queue.now);
          continue;
        }
        address = known.addresses[0]!;
        if (host === VICTIM_HOST) this.counts.victimDials++;
      }
      this.counts.dials++;
      const target = address === `sim://${peer}` ? this.#byId.get(peer) : undefined;
      this.queue.after(this.#o.connectMs, () => {
        if (!node.alive) return;
        if (target === undefined || !target.alive) node.planner.disconnected(peer, this.queue.now);
        else if (!node.neighbors.has(peer)) this.#linkUp(node, target);
        else node.planner.connected(peer, this.queue.now);
      });
    }
    for (const peer of plan.trim) {
      const target = this.#byId.get(peer)!;
      // A clean close: both ends know at once.
      this.#links.delete(pairKey(node.id, peer));
      for (const [x, y] of [
        [node, target],
        [target, node],
      ] as const) {
        x.neighbors.delete(y.id);
        x.routes.neighborDown(y.id);
        x.planner.disconnected(y.id, this.queue.now);
        x.protocol.neighborDown(y.id);
      }
    }
    this.queue.after(this.#o.manageEveryMs, () => this.#manage(node));
  }

  /** Every `exchangeEveryMs`, a node tells each neighbour what it knows. */
  #exchangeRound(node: SimNode): void {
    if (!node.alive) return;
    for (const peer of node.neighbors) this.#sendExchange(node, peer);
    this.queue.after(this.#o.exchangeEveryMs, () => this.#exchangeRound(node));
  }

  /** As the peer-exchange room: the node's own record first, then its neighbours', then others; at most 32. A liar sends made-up peers. */
  #sendExchange(node: SimNode, to: string): void {
    const index = this.nodes.indexOf(node);
    let records: PeerRecord[];
    if (this.#o.liars.includes(index)) {
      records = Array.from({ length: 32 }, () => {
        const fake = `fake-${index}-${this.#fakes++}`;
        return simRecord(fake, `sim://${VICTIM_HOST}:${this.#fakes % 8}`, this.queue.now);
      });
    } else records = [simRecord(node.id, `sim://${node.id}`, this.queue.now), ...recordsToPass(node.book, 31, node.neighbors, new Set([to]))];
    this.#transmit(node, to, { exchange: records });
  }

  #fakes = 0;

  #onExchange(node: SimNode, from: string, records: readonly PeerRecord[]): void {
    let rate = node.exchangeRate.get(from);
    if (rate === undefined) node.exchangeRate.set(from, (rate = new TokenBucket(1, 3, this.queue.now)));
    if (!rate.take(1, this.queue.now)) return;
    for (const record of records) {
      if (record.peerId === node.id) continue;
      const fromItself = record.peerId === from;
      const added = node.book.add({ peerId: record.peerId, addresses: record.addresses, learnt: fromItself ? "neighbour" : "exchange", informant: fromItself ? "" : from, record, time: record.time });
      if (added) node.planner.learn(record.peerId);
    }
  }

  #mix(...values: number[]): void {
    let h = this.trace ^ Math.floor(this.queue.now * 1000);
    for (const v of values) h = Math.imul(h ^ v, 0x01000193) >>> 0;
    this.trace = h;
  }
}

/** The baseline: forward every new broadcast to every neighbour but the sender. */
class Flood implements Protocol {
  readonly stats: TreeStats = { pushed: 0, control: 0, duplicates: 0, hopLimited: 0, grafts: 0, prunes: 0, pulled: 0, announced: 0, late: 0 };
  readonly #seen = new Set<string>();
  readonly #neighbors = new Set<string>();

  constructor(
    readonly self: string,
    readonly send: (to: string, message: TreeMessage<string>) => void,
    readonly deliver: (origin: string, id: number, payload: string, from: string, hops: number) => void,
  ) {}

  publish(id: number, payload: string): boolean {
    this.#seen.add(messageKey(this.self, id));
    for (const peer of this.#neighbors) this.send(peer, { type: "gossip", origin: this.self, id, round: 0, payload });
    return true;
  }

  receive(from: string, m: TreeMessage<string>): void {
    if (m.type !== "gossip") return;
    const key = messageKey(m.origin, m.id);
    if (this.#seen.has(key) || m.origin === this.self) return;
    this.#seen.add(key);
    this.deliver(m.origin, m.id, m.payload, from, m.round + 1);
    for (const peer of this.#neighbors) if (peer !== from) this.send(peer, { ...m, round: m.round + 1 });
  }

  neighborUp(peer: string): void {
    this.#neighbors.add(peer);
  }

  neighborDown(peer: string): void {
    this.#neighbors.delete(peer);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** A record as the simulation passes it: the signature is checked by the node's own tests (test/peer-exchange.test.ts), not here. */
function simRecord(peerId: string, address: string, time: number): PeerRecord {
  return { peerId, addresses: [address], time, signature: new Uint8Array(0) };
}
