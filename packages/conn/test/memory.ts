/**
 * Test doubles: a virtual clock and an in-memory transport pair with TCP-like backpressure. Delivery is
 * asynchronous (microtasks), deterministic, and can be held to model a peer that stops reading or vanishes.
 */

import { setImmediate } from 'node:timers/promises';
import {
  type Conn,
  dial,
  type DialOptions,
  type Timers,
  type Transport,
  type TransportHandler,
  Upgrader,
  type UpgraderOptions,
} from '../src/mod.ts';

/** Timers on a clock that only moves when told to. */
export class VirtualClock implements Timers {
  #now = 1000;
  #next = 1;
  #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }
  setTimeout(callback: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  /** Number of armed timers. */
  get pending(): number {
    return this.#timers.size;
  }
  /** Moves time forward by `ms`, firing due timers in order (and letting async work settle between). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      let first: [number, { at: number; callback: () => void }] | undefined;
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

/** Lets every pending microtask and I/O callback run (not a sleep: no time passes). */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await setImmediate();
}

/** One end of an in-memory byte pipe. */
export class MemoryTransport implements Transport {
  peer!: MemoryTransport;
  handler: TransportHandler | null = null;
  highWaterMark = 16 * 1024;
  /** Reading paused by our user (read backpressure). */
  paused = false;
  /** Delivery of what we write is held (the network stalls, or the peer vanished). */
  held = false;
  ended = false;
  destroyed = false;
  closed = false;
  peerEnded = false;
  pauseCount = 0;
  readonly written: Uint8Array[] = [];
  #outgoing: Uint8Array[] = [];
  #buffered = 0;
  #needDrain = false;
  #scheduled = false;
  #endPending = false;

  constructor(readonly name: string) {}

  static pair(): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport('server');
    const b = new MemoryTransport('client');
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  start(handler: TransportHandler, options: { writeHighWaterMark: number }): void {
    this.handler = handler;
    this.highWaterMark = options.writeHighWaterMark;
  }
  write(chunk: Uint8Array): boolean {
    if (this.destroyed || this.ended) return false;
    const copy = chunk.slice();
    this.written.push(copy);
    this.#outgoing.push(copy);
    this.#buffered += copy.length;
    this.#schedule();
    const below = this.#buffered < this.highWaterMark;
    if (!below) this.#needDrain = true;
    return below;
  }
  get bufferedAmount(): number {
    return this.#buffered;
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
  get localAddress() {
    return { address: '127.0.0.1', port: this.name === 'server' ? 80 : 50000, family: 'IPv4' };
  }
  get remoteAddress() {
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
  #close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler?.closed();
  }
}

export interface Pair {
  server: Conn;
  client: Conn;
  clock: VirtualClock;
  serverTransport: MemoryTransport;
  clientTransport: MemoryTransport;
  upgrader: Upgrader;
}

/** A server Conn and a client Conn connected in memory, on a virtual clock. */
export async function openPair(
  serverOptions: Partial<UpgraderOptions> = {},
  clientOptions: Partial<DialOptions> = {},
): Promise<Pair> {
  const clock = new VirtualClock();
  const [serverTransport, clientTransport] = MemoryTransport.pair();
  const upgrader = new Upgrader({ timers: clock, ...serverOptions });
  const serverPromise = upgrader.upgradeTransport(serverTransport);
  const { conn: client } = await dial('ws://example.com/chat', {
    timers: clock,
    connect: () => Promise.resolve(clientTransport),
    ...clientOptions,
  });
  const server = await serverPromise;
  return { server, client, clock, serverTransport, clientTransport, upgrader };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
