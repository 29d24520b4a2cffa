/**
 * Test doubles for `@sansws/conn`: a {@link VirtualClock} implementing `Timers`, and an in-memory
 * {@link MemoryTransport} pair with TCP-like backpressure. Delivery is asynchronous (microtasks),
 * deterministic, and can be held to model a network that stalls or a peer that vanishes. Runtime-neutral:
 * no sockets, no real timers except the zero-delay yield in {@link settle}.
 *
 * @module
 */

import type { TimerHandle, Timers, Transport, TransportHandler } from '@sansws/conn';

interface VirtualTimer {
  readonly at: number;
  readonly callback: () => void;
}

/**
 * `Timers` on a clock that moves only when the test says so: `advance(ms)` fires every timer that falls
 * due, in deadline order (ties in the order they were set), letting pending async work settle before each
 * one. A 30-second keepalive test takes as long as its callbacks, and never depends on the machine's speed.
 */
export class VirtualClock implements Timers {
  #now: number;
  #next = 1;
  #timers = new Map<number, VirtualTimer>();

  /** Starts at `start` milliseconds (default 1000, so that 0 is never a valid "now"). */
  constructor(start = 1000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }
  /** Number of armed timers. */
  get pending(): number {
    return this.#timers.size;
  }
  /** The earliest deadline armed, or undefined. */
  get nextDeadline(): number | undefined {
    let first: number | undefined;
    for (const timer of this.#timers.values()) if (first === undefined || timer.at < first) first = timer.at;
    return first;
  }
  /** Moves time forward by `ms`, firing due timers in order and letting async work settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      let first: [number, VirtualTimer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (first === undefined || entry[1].at < first[1].at)) first = entry;
      }
      if (first === undefined) break;
      this.#timers.delete(first[0]);
      this.#now = Math.max(this.#now, first[1].at);
      first[1].callback();
    }
    this.#now = end;
    await settle();
  }
}

const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (callback: () => void) => unknown };
  const immediate = g.setImmediate;
  if (typeof immediate === 'function') return () => new Promise<void>((resolve) => void immediate(resolve));
  return () => new Promise<void>((resolve) => void setTimeout(resolve, 0));
})();

/**
 * Lets every pending microtask and I/O callback run, `rounds` times over (not a sleep: no virtual time
 * passes, and nothing waits on the real clock beyond one turn of the event loop per round).
 */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await yieldToEventLoop();
}

/**
 * One end of an in-memory byte pipe, a `Transport`. Writes are copied, recorded in {@link written}, and
 * delivered to the peer in a microtask; `write` returns false above the high-water mark and `drain`
 * follows once the peer has taken the bytes. `pause()` stops delivery to this end (read backpressure).
 * `hold(true)` stops delivery of what this end writes, as a stalled network or a vanished peer would.
 * `afterWrites` callbacks run once what was written before them is delivered (or dropped by `destroy`),
 * as a socket's run once the bytes were handed to the operating system.
 */
export class MemoryTransport implements Transport {
  /** The other end. */
  peer!: MemoryTransport;
  /** The current handler (after `start`). */
  handler: TransportHandler | null = null;
  /** The write high-water mark given to `start`. */
  highWaterMark = 16 * 1024;
  /** Reading paused by our user (read backpressure). */
  paused = false;
  /** Delivery of what we write is held (the network stalls, or the peer vanished). */
  held = false;
  /** `end()` was called. */
  ended = false;
  /** `destroy()` was called. */
  destroyed = false;
  /** `handler.closed` was called. */
  closed = false;
  /** The peer's EOF arrived. */
  peerEnded = false;
  /** How many times `pause()` was called. */
  pauseCount = 0;
  /** Every chunk written, in order (copies). */
  readonly written: Uint8Array[] = [];
  #outgoing: Uint8Array[] = [];
  #buffered = 0;
  /** Bytes ever accepted by `write`. */
  #accepted = 0;
  /** `afterWrites` callbacks, each with the count of accepted bytes it waits for. */
  #waiting: { readonly at: number; readonly callback: () => void }[] = [];
  #needDrain = false;
  #scheduled = false;
  #endPending = false;

  /** `name` is `'server'` or `'client'`; it only picks the fake addresses. */
  constructor(readonly name: string) {}

  /** A connected pair: `[server end, client end]`. */
  static pair(): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport('server');
    const b = new MemoryTransport('client');
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  start(handler: TransportHandler, options: { readonly writeHighWaterMark: number }): void {
    this.handler = handler;
    this.highWaterMark = options.writeHighWaterMark;
  }
  write(chunk: Uint8Array): boolean {
    if (this.destroyed || this.ended) return false;
    const copy = chunk.slice();
    this.written.push(copy);
    this.#outgoing.push(copy);
    this.#buffered += copy.length;
    this.#accepted += copy.length;
    this.#schedule();
    const below = this.#buffered < this.highWaterMark;
    if (!below) this.#needDrain = true;
    return below;
  }
  get bufferedAmount(): number {
    return this.#buffered;
  }
  afterWrites(callback: () => void): void {
    if (this.#buffered === 0 || this.closed) callback();
    else this.#waiting.push({ at: this.#accepted, callback });
  }
  end(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.#endPending = true;
    this.#schedule();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#outgoing = [];
    this.#buffered = 0;
    this.#settleWrites();
    queueMicrotask(() => {
      this.#close();
      this.peer.#close();
    });
  }
  pause(): void {
    this.paused = true;
    this.pauseCount++;
  }
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.peer.#schedule();
  }
  get localAddress(): { address: string; port: number; family: string } {
    return { address: '127.0.0.1', port: this.name === 'server' ? 80 : 50000, family: 'IPv4' };
  }
  get remoteAddress(): { address: string; port: number; family: string } {
    return this.peer.localAddress;
  }
  get raw(): unknown {
    return this;
  }
  /** Holds delivery of our writes (`true`) or releases it. */
  hold(held: boolean): void {
    this.held = held;
    if (!held) this.#schedule();
  }
  /** Bytes written and not yet delivered. */
  get undelivered(): number {
    return this.#buffered;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }
  #deliver(): void {
    if (this.destroyed || this.held) return;
    const peer = this.peer;
    while (this.#outgoing.length > 0 && !peer.paused && !peer.closed) {
      const chunk = this.#outgoing.shift()!;
      this.#buffered -= chunk.length;
      peer.handler?.data(chunk);
    }
    this.#settleWrites();
    if (this.#needDrain && this.#buffered < this.highWaterMark) {
      this.#needDrain = false;
      this.handler?.drain();
    }
    if (this.#endPending && this.#outgoing.length === 0) {
      this.#endPending = false;
      peer.peerEnded = true;
      peer.handler?.end();
      // Like a node socket without allowHalfOpen: once both sides ended, both are closed.
      if (peer.ended) {
        this.#close();
        peer.#close();
      }
    }
  }
  /** Runs the `afterWrites` callbacks whose bytes have all left. */
  #settleWrites(): void {
    const done = this.#accepted - this.#buffered;
    while (this.#waiting.length > 0 && this.#waiting[0]!.at <= done) this.#waiting.shift()!.callback();
  }
  #close(): void {
    if (this.closed) return;
    this.closed = true;
    // Nothing more leaves a closed end: what was waiting is dropped.
    for (const { callback } of this.#waiting.splice(0)) callback();
    this.handler?.closed();
  }
}
