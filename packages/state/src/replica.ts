/**
 * What a replicated data type exposes to whatever carries it between peers
 * (the `@xppg/node` package). The carrier moves updates as plain data and
 * never learns the merge rules; the data type never learns the network.
 *
 * Protocol: send `snapshot()` to a peer when it connects (and from time to
 * time, as anti-entropy); remember its `seq`; later send
 * `delta(rememberedSeq)` and remember that update's `seq`. Hand everything
 * received to `apply(update, peerId)`; if it throws, the peer sent bad data
 * (except the codes the implementation documents as local).
 *
 * Implementations must converge: replicas that applied the same set of
 * updates, in any order, any number of times, hold the same state.
 */
export interface Replica<TUpdate extends { readonly seq: number } = { readonly seq: number }, TChange = unknown> {
  /** This replica's id (the node sets it to its peer id). */
  readonly replicaId: string;
  /** The local sequence number: it grows by one with every operation that changes what is held. */
  readonly seq: number;
  /** An update holding everything, deletes included, stamped with the current `seq`. */
  snapshot(): TUpdate;
  /**
   * An update holding what changed (locally or remotely) after `sinceSeq`,
   * stamped with the current `seq`. With `except`, what came from that
   * origin unchanged may be left out (the carrier passes the peer it syncs
   * with).
   */
  delta(sinceSeq: number, except?: unknown): TUpdate;
  /** Cuts an update into pieces that each fit in one message; applying all of them equals applying the whole. */
  splitUpdate(update: TUpdate, limits: { maxEntries?: number; maxBytes?: number }): TUpdate[];
  /** Checks decoded network data; returns it as an update or throws. */
  validateUpdate(input: unknown): TUpdate;
  /** Merges a received update, all of it or none of it; returns (and emits) the changes it made. */
  apply(input: unknown, origin?: unknown): readonly TChange[];
  /**
   * The snapshot cut into pieces as it is read, so a carrier can send a
   * large state a piece at a time and yield in between. Optional: without
   * it the carrier cuts `snapshot()` with `splitUpdate`.
   */
  snapshotPieces?(limits: { maxEntries?: number; maxBytes?: number }): Iterable<TUpdate>;
  /**
   * When (ms since the epoch) received updates set aside for later (dated
   * ahead of this replica's clock) may be applied with `releasePending`;
   * `undefined` when none wait. Optional.
   */
  readonly pendingUntil?: number | undefined;
  /** Applies what was set aside and is now due; returns (and emits) the changes. Optional. */
  releasePending?(): readonly TChange[];
  /** Calls `listener` with every batch of changes; returns a function that removes it. */
  on(event: "change", listener: (changes: readonly TChange[]) => void): () => void;
}
