import { expect } from "vitest";
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyPairKeyObjectResult } from "node:crypto";
import { SharedState, signingBytes, STATE_ERROR_CODES, versionAtTime, type MergeFunction, type StateUpdate, type StateValue } from "../../src/index.js";
import { Random } from "../../../../tools/test/random.js";
import { sameState } from "./canonical.js";

/** Knobs of one simulated run. */
export interface SimulationOptions {
  seed: number;
  replicas: number;
  steps: number;
  keys: number;
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a delivered message stays in flight to be delivered again. */
  duplicate: number;
  merge?: MergeFunction;
  maxTiedWrites?: number;
  /**
   * With a value: every replica reads a clock that advances one ms per
   * step, offset by a random amount below this (their `maxClockSkewMs`), and
   * some steps a hostile peer writes a key at the very edge of one replica's
   * clock; the others, whose clocks are behind, must hold it back, not refuse it.
   */
  clockSkewMs?: number;
  /**
   * Ownership on: every replica signs its writes to `@r<i>/...` keys and
   * verifies others'; half the writes go to the writer's own namespace, and
   * some steps a replica forges a write to another's key, which must be
   * refused (`WRITE_NOT_ALLOWED`) with nothing changed.
   */
  ownership?: boolean;
  /** Tombstones are collected this many ms (steps) after their delete. */
  tombstoneTtlMs?: number;
}

interface Message {
  to: number;
  from: number;
  update: StateUpdate;
}

const VALUES: readonly StateValue[] = [
  null,
  true,
  false,
  0,
  1,
  -1,
  2.5,
  Number.NaN,
  "",
  "a",
  "b",
  "zebra",
  "ünï😀",
  new Uint8Array([]),
  new Uint8Array([1, 2]),
  [1, 2],
  [2, 1],
  { x: 1 },
  { x: 1, y: [true, null] },
  { y: 1 },
];

/**
 * The wire: updates travel as copies (as MessagePack would deliver them),
 * never as shared objects.
 */
function overTheWire(update: StateUpdate): unknown {
  return structuredClone(update);
}

/**
 * A seeded network of replicas, in the manner of Yjs's test helper: random
 * local writes and deletes, deltas pushed to random peers and delivered in
 * random order, some lost, some delivered twice; then every message still
 * in flight is lost and one anti-entropy round of snapshots runs. Returns
 * the replicas, which must all hold the same state.
 */
/** What happened during a run, to show the run exercised what it claims to. */
export interface SimulationStats {
  delivered: number;
  dropped: number;
  duplicated: number;
  /** Deliveries that met a write of equal version by another writer. */
  ties: number;
  /** Writes by the hostile peer at the edge of a replica's clock. */
  edgeWrites: number;
  /** Deliveries after which the receiver held writes back for its clock to catch up. */
  heldBack: number;
  /** Forged writes refused. */
  forgeriesRefused: number;
}

export function simulate(options: SimulationOptions): { replicas: SharedState[]; stats: SimulationStats } {
  const stats: SimulationStats = { delivered: 0, dropped: 0, duplicated: 0, ties: 0, edgeWrites: 0, heldBack: 0, forgeriesRefused: 0 };
  const random = new Random(options.seed);
  const skew = options.clockSkewMs;
  let base = 1_800_000_000_000;
  const offsets = Array.from({ length: options.replicas }, () => (skew === undefined ? 0 : random.int(skew)));
  const keyPairs = options.ownership === true ? Array.from({ length: options.replicas }, () => generateKeyPairSync("ed25519")) : [];
  const verify = (writer: string, data: Uint8Array, sig: Uint8Array): boolean => {
    const pair = keyPairs[Number(writer.slice(1))];
    return pair !== undefined && /^r\d+$/.test(writer) && cryptoVerify(null, data, pair.publicKey, sig);
  };
  const signer = (i: number) => (data: Uint8Array) => new Uint8Array(cryptoSign(null, data, (keyPairs[i] as KeyPairKeyObjectResult).privateKey));
  const replicas = Array.from(
    { length: options.replicas },
    (_, i) =>
      new SharedState({
        replicaId: `r${i}`,
        merge: options.merge,
        maxTiedWrites: options.maxTiedWrites,
        ...(options.tombstoneTtlMs === undefined ? {} : { tombstoneTtlMs: options.tombstoneTtlMs, now: () => base }),
        ...(options.ownership === true ? { sign: signer(i), verify } : {}),
        ...(skew === undefined ? {} : { now: () => base + (offsets[i] as number), maxClockSkewMs: skew }),
      }),
  );
  // What each replica's change events say it holds; checked against the state at the end.
  const mirrors = replicas.map((replica) => {
    const mirror = new Map<string, StateValue>();
    replica.on("change", (changes) => {
      for (const change of changes) {
        expect(mirror.get(change.key)).toEqual(change.oldValue);
        if (change.value === undefined) mirror.delete(change.key);
        else mirror.set(change.key, change.value);
      }
    });
    return mirror;
  });
  // lastSent[from][to]: the seq of the last delta `from` pushed to `to`.
  const lastSent = replicas.map(() => replicas.map(() => 0));
  const inFlight: Message[] = [];
  const shared = (): string => `k${random.int(options.keys)}`;
  let writer = 0;
  const key = (): string => (options.ownership === true && random.chance(0.5) ? `@r${writer}/k${random.int(options.keys)}` : shared());

  for (let step = 0; step < options.steps; step++) {
    base++;
    const roll = random.next();
    const from = random.int(replicas.length);
    const replica = replicas[from] as SharedState;
    writer = from;
    if (options.ownership === true && random.chance(0.05)) {
      // A forger: a write to another replica's key, unsigned or signed with its own key, sent straight to a third.
      const victim = (from + 1) % replicas.length;
      const to = (from + 2) % replicas.length;
      const k = `@r${victim}/k0`;
      const version = versionAtTime(base) + 1000;
      const sig = random.chance(0.5) ? signer(from)(signingBytes(k, version, `r${victim}`, "forged")) : undefined;
      const target = replicas[to] as SharedState;
      const before = target.versionOf(k);
      expect(() => target.apply({ format: 3, seq: 1, entries: [[k, version, sig === undefined ? `r${victim}` : [`r${victim}`, sig], "forged"]] }, `r${from}`)).toThrow(
        expect.objectContaining({ code: STATE_ERROR_CODES.WRITE_NOT_ALLOWED }),
      );
      expect(target.versionOf(k)).toBe(before);
      stats.forgeriesRefused++;
    }
    if (skew !== undefined && random.chance(0.05)) {
      // The hostile peer: a write dated as far ahead as this replica accepts.
      const edge = versionAtTime(base + (offsets[from] as number) + skew) + 1023;
      replica.apply({ format: 3, seq: 1, entries: [[key(), edge, "mallory", random.pick(VALUES)]] }, "mallory");
      stats.edgeWrites++;
    }
    if (skew !== undefined) replica.releasePending();
    if (roll < 0.4) {
      replica.set(key(), random.pick(VALUES));
    } else if (roll < 0.5) {
      replica.delete(key());
    } else if (roll < 0.75) {
      const to = random.int(replicas.length);
      if (to === from) continue;
      const snapshot = random.chance(0.1);
      const update = snapshot ? replica.snapshot() : replica.delta(lastSent[from]![to]!);
      lastSent[from]![to] = update.seq; // optimistic, as a real node is: a lost delta is repaired by a later snapshot
      if (update.entries.length > 0) inFlight.push({ from, to, update });
    } else if (inFlight.length > 0) {
      const index = random.int(inFlight.length);
      const message = inFlight[index] as Message;
      if (random.chance(options.duplicate)) stats.duplicated++;
      else inFlight.splice(index, 1);
      if (random.chance(options.drop)) {
        stats.dropped++;
        continue;
      }
      const target = replicas[message.to] as SharedState;
      const held = new Set(target.snapshot().entries.map(([k, version, writer]) => `${k}\0${version}\0${writer}`));
      for (const [k, version, writer] of message.update.entries) {
        if (target.versionOf(k) === version && !held.has(`${k}\0${version}\0${writer}`)) stats.ties++;
      }
      target.apply(overTheWire(message.update), `r${message.from}`);
      stats.delivered++;
      if (target.pending > 0) stats.heldBack++;
    }
  }

  // Anti-entropy: whatever is still in flight is lost; everyone pulls everyone's snapshot, in random order.
  stats.dropped += inFlight.length;
  if (skew !== undefined) {
    // Every clock passes the writes held back; they are applied.
    base += 3 * skew;
    for (const replica of replicas) replica.releasePending();
  }
  const snapshots = replicas.map((replica) => replica.snapshot());
  for (const to of random.shuffle([...replicas.keys()])) {
    for (const from of random.shuffle([...replicas.keys()])) {
      if (from !== to) (replicas[to] as SharedState).apply(overTheWire(snapshots[from] as StateUpdate), `r${from}`);
    }
  }

  replicas.forEach((replica, i) => {
    expect([...(mirrors[i] as Map<string, StateValue>).entries()].sort()).toEqual([...replica.entries()].sort());
  });
  return { replicas, stats };
}

/** Asserts that every replica holds exactly what the first holds. */
export function expectConverged(replicas: readonly SharedState[], seed: number): void {
  const [first, ...rest] = replicas as [SharedState, ...SharedState[]];
  for (const other of rest) {
    expect(sameState(first, other), `seed ${seed}: ${first.replicaId} and ${other.replicaId} differ`).toBe(true);
  }
}
