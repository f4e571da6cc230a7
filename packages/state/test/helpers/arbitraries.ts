import fc from "fast-check";
import { SharedState, type MergeFunction, type StateUpdate, type StateValue } from "../../src/index.js";

/** Plain data of the kinds a state holds, kept small. */
export const valueArb: fc.Arbitrary<StateValue> = fc.letrec<{ value: StateValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -3, max: 3 }),
    fc.double({ noDefaultInfinity: false }),
    fc.string({ maxLength: 4 }),
    fc.uint8Array({ maxLength: 3 }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(
      fc.string({ maxLength: 3 }).filter((k) => k !== "__proto__"),
      tie("value"),
      { maxKeys: 3 },
    ),
  ),
})).value;

/** One step of a small replicated history. */
export type Op =
  | { kind: "set"; replica: number; key: string; value: StateValue }
  | { kind: "delete"; replica: number; key: string }
  | { kind: "send"; replica: number; to: number; snapshot: boolean };

const REPLICAS = 3;
const replicaArb = fc.integer({ min: 0, max: REPLICAS - 1 });
const keyArb = fc.constantFrom("a", "b", "c");

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), replica: replicaArb, key: keyArb, value: valueArb }),
  fc.record({ kind: fc.constant("delete" as const), replica: replicaArb, key: keyArb }),
  fc.record({ kind: fc.constant("send" as const), replica: replicaArb, to: replicaArb, snapshot: fc.boolean() }),
);

/**
 * Plays a history on three replicas and returns every update sent (sends
 * deliver at once, so versions climb and ties happen), plus each replica's
 * final snapshot.
 */
export function playHistory(ops: readonly Op[], merge?: MergeFunction): StateUpdate[] {
  const replicas = Array.from({ length: REPLICAS }, (_, i) => new SharedState({ replicaId: `r${i}`, merge }));
  const sent = replicas.map(() => 0);
  const updates: StateUpdate[] = [];
  for (const op of ops) {
    const replica = replicas[op.replica] as SharedState;
    if (op.kind === "set") replica.set(op.key, op.value);
    else if (op.kind === "delete") replica.delete(op.key);
    else {
      const update = op.snapshot ? replica.snapshot() : replica.delta(sent[op.replica] as number);
      sent[op.replica] = update.seq;
      updates.push(update);
      if (op.to !== op.replica) (replicas[op.to] as SharedState).apply(structuredClone(update));
    }
  }
  for (const replica of replicas) updates.push(replica.snapshot());
  return updates;
}
