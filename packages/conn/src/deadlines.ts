/**
 * The deadlines of many connections behind one runtime timer: a binary min-heap of small entries per
 * {@link Timers}, and one timer set for the earliest. An idle connection's keepalive deadline then costs
 * one entry (three fields) instead of a runtime timer object with its callback and closure context (on
 * Node a `Timeout`, about 120 bytes, plus about 100 for the callback).
 *
 * An owner whose deadline moves later keeps its entry: it fires early, and the owner, finding nothing due,
 * schedules the new deadline then. So the common case — keepalive pushed back by every message — touches
 * neither the heap nor the runtime's timers.
 *
 * @module
 */

import type { TimerHandle, Timers } from './transport.ts';

/** A scheduled deadline. `index` is its place in the heap, -1 once it fired or was removed. */
export interface Deadline<T> {
  readonly at: number;
  readonly owner: T;
  index: number;
}

/** The deadlines of many owners over one {@link Timers}; `fire(owner, at)` runs when one is due. */
export class Deadlines<T> {
  readonly #timers: Timers;
  readonly #fire: (owner: T, at: number) => void;
  readonly #heap: Deadline<T>[] = [];
  #timer: TimerHandle | undefined;
  /** When the runtime timer is due (Infinity: none set). */
  #timerAt = Infinity;

  constructor(timers: Timers, fire: (owner: T, at: number) => void) {
    this.#timers = timers;
    this.#fire = fire;
  }

  /** Schedules `owner` at `at` (a time of `timers.now()`). */
  add(owner: T, at: number): Deadline<T> {
    const deadline: Deadline<T> = { at, owner, index: this.#heap.length };
    this.#heap.push(deadline);
    this.#up(deadline.index);
    if (at < this.#timerAt) this.#arm();
    return deadline;
  }

  /** Unschedules a deadline (a no-op for one that fired or was removed). */
  remove(deadline: Deadline<T>): void {
    const index = deadline.index;
    if (index < 0) return;
    deadline.index = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (last !== deadline) {
      heap[index] = last;
      last.index = index;
      this.#down(index);
      this.#up(last.index);
    }
    // An earlier timer than needed only fires early; the one of an empty heap is cleared.
    if (heap.length === 0) this.#clear();
  }

  /** Sets the runtime timer for the earliest deadline. */
  #arm(): void {
    this.#clear();
    const first = this.#heap[0];
    if (first === undefined) return;
    this.#timerAt = first.at;
    this.#timer = this.#timers.setTimeout(
      this.#run,
      Math.max(0, Math.ceil(first.at - this.#timers.now())),
    );
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /**
   * The runtime timer fired: every deadline up to the one it was set for is due (a timer may fire a little
   * before its time by the clock; the owner is told the deadline, as if it had not).
   */
  readonly #run = (): void => {
    const due = Math.max(this.#timerAt, this.#timers.now());
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= due) {
      const first = heap[0]!;
      this.remove(first);
      this.#fire(first.owner, first.at);
    }
    if (this.#timer === undefined) this.#arm();
  };

  #up(index: number): void {
    const heap = this.#heap;
    const item = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.at <= item.at) break;
      heap[index] = parent;
      parent.index = index;
      index = parentIndex;
    }
    heap[index] = item;
    item.index = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const item = heap[index]!;
    const length = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && heap[child + 1]!.at < heap[child]!.at) child++;
      const smaller = heap[child]!;
      if (item.at <= smaller.at) break;
      heap[index] = smaller;
      smaller.index = index;
      index = child;
    }
    heap[index] = item;
    item.index = index;
  }
}
