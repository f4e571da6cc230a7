import { compareValues, type StateUpdate, type StateValue, type UpdateEntry } from "../../src/index.js";

/** The parts of a SharedState of any value type these helpers read. */
interface Readable {
  snapshot(): StateUpdate;
  entries(): Iterable<[string, StateValue]>;
}

/** A row's writer as text: the id, and the signature's bytes for a signed row. */
export function writerText(writer: UpdateEntry[2]): string {
  return typeof writer === "string" ? writer : `${writer[0]}\0${Buffer.from(writer[1]).toString("hex")}`;
}

/**
 * Everything a replica holds, in an order that does not depend on arrival
 * order: rows sorted by key, then writer. Two replicas hold the same state
 * exactly when these are equal.
 */
export function canonical(state: Readable): UpdateEntry[] {
  return [...state.snapshot().entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : writerText(a[2]) < writerText(b[2]) ? -1 : writerText(a[2]) > writerText(b[2]) ? 1 : 0));
}

/** The visible contents, sorted by key. */
export function visible(state: Readable): [string, StateValue][] {
  return [...state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** True when both replicas hold the same rows and show the same values (NaN included). */
export function sameState(a: Readable, b: Readable): boolean {
  const ra = canonical(a);
  const rb = canonical(b);
  if (ra.length !== rb.length) return false;
  for (let i = 0; i < ra.length; i++) {
    const x = ra[i] as UpdateEntry;
    const y = rb[i] as UpdateEntry;
    if (x[0] !== y[0] || x[1] !== y[1] || writerText(x[2]) !== writerText(y[2]) || x.length !== y.length) return false;
    if (x.length === 4 && compareValues(x[3], y[3] as StateValue) !== 0) return false;
  }
  const va = visible(a);
  const vb = visible(b);
  return va.length === vb.length && va.every(([k, v], i) => vb[i]?.[0] === k && compareValues(v, vb[i]?.[1]) === 0);
}
