import type { MeshTimers } from "../../src/mesh/index.js";

interface Event {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
}

/**
 * Simulated time: a priority queue of events by time, ties in the order
 * they were scheduled, so a run depends on nothing but its seed.
 */
export class EventQueue {
  #heap: Event[] = [];
  #seq = 0;
  now = 0;
  /** Events run so far. */
  ran = 0;

  at(at: number, fn: () => void): Event {
    const event: Event = { at: Math.max(at, this.now), seq: this.#seq++, fn };
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return event;
  }

  after(ms: number, fn: () => void): Event {
    return this.at(this.now + ms, fn);
  }

  /** Runs every event up to `until` (simulated ms). */
  runUntil(until: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= until) {
      const event = this.#pop();
      this.now = event.at;
      const fn = event.fn;
      if (fn === undefined) continue;
      event.fn = undefined;
      this.ran++;
      fn();
    }
    this.now = Math.max(this.now, until);
  }

  /** Timers for one simulated node. */
  timers(): MeshTimers {
    return {
      now: () => this.now,
      setTimer: (ms, fn) => this.after(ms, fn),
      clearTimer: (handle) => {
        (handle as Event).fn = undefined;
      },
    };
  }

  #pop(): Event {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
