/**
 * The {@link Transport} over a node:net or node:tls socket (or any node stream.Duplex, such as the socket
 * of a node:http `'upgrade'` event).
 *
 * Writes are coalesced: `write` only collects the chunk, and the first one of a tick schedules a flush
 * (`process.nextTick`, so it runs after the promise jobs of the same tick, where an application answers
 * the messages of one read). The flush hands the socket one buffer for all small chunks (a view, when they
 * lie one after another in the engine's shared buffer for small frames), or, with large payloads among
 * them, the large ones as they are (never copied) and the small runs merged between them, under `cork()`,
 * so that node writes them with one `writev`. One read of 64 pipelined messages is thus
 * answered with one system call instead of 64, and one Buffer instead of one per frame.
 *
 * Write backpressure uses our own high-water mark, not the socket's (fixed at creation, 16 KiB): `write`
 * compares the collected bytes plus `writableLength` with it, and the callback of each flush's last write
 * (called once it reached the kernel) checks whether the buffer fell below it again, which works for
 * marks below and above node's.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import type { ClientTlsOptions, NetAddress, Transport, TransportHandler } from '@sansws/conn';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

type NodeSocket = Duplex & Partial<Pick<Socket, 'setNoDelay' | 'setTimeout'>> & {
  localAddress?: string | undefined;
  localPort?: number | undefined;
  localFamily?: string | undefined;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  remoteFamily?: string | undefined;
};

/** Where the shared listeners find a socket's transport. */
const TRANSPORT: unique symbol = Symbol('sansws transport');
type TaggedSocket = NodeSocket & { [TRANSPORT]?: NodeTransport | undefined };

/** Runs a transport's scheduled flush (a module function: one shared callback, no closure per transport). */
let flushTransport: (transport: NodeTransport) => void;
let setSocketClosed: (transport: NodeTransport, callback: (socket: Duplex) => void) => void;

/**
 * Package-internal: `callback(socket)` runs when the socket closes, after the transport's handler heard of
 * it. `listen` tracks its sockets this way: a second 'close' listener would turn node's one listener into
 * an array per socket.
 */
export function onSocketClosed(transport: NodeTransport, callback: (socket: Duplex) => void): void {
  setSocketClosed(transport, callback);
}

/** A node socket as a sansws Transport. */
export class NodeTransport implements Transport {
  readonly #socket: NodeSocket;
  #handler: TransportHandler | null = null;
  /** Chunks (or EOF / close) that arrived before `start`. */
  #early: Array<Uint8Array | 'end' | 'closed'> | null = null;
  /** Chunks written since the last flush (null: none, and no flush scheduled). */
  #pending: Uint8Array[] | null = null;
  #pendingBytes = 0;
  #highWaterMark = 64 * 1024;
  /** NEED_DRAIN, DETACHED (one number rather than two fields on every transport). */
  #flags = 0;
  #socketClosed: ((socket: Duplex) => void) | undefined;

  constructor(socket: Duplex) {
    this.#socket = socket as NodeSocket;
    this.#socket.setNoDelay?.(true);
    this.#socket.setTimeout?.(0);
    // The listeners are shared by every transport (node calls them with the socket as `this`): an idle
    // connection holds no closure of ours.
    (socket as TaggedSocket)[TRANSPORT] = this;
    socket.on('data', NodeTransport.#onData);
    socket.on('end', NodeTransport.#onEnd);
    socket.on('close', NodeTransport.#onClose);
    socket.on('error', NodeTransport.#onError);
    socket.on('drain', NodeTransport.#onDrain);
    if (socket.destroyed) {
      queueMicrotask(() => {
        this.#closed();
        this.#socketClosed?.(socket);
      });
    }
  }

  start(handler: TransportHandler, options: { readonly writeHighWaterMark: number }): void {
    this.#handler = handler;
    this.#highWaterMark = options.writeHighWaterMark;
    const early = this.#early;
    this.#early = null;
    if (early === null) return;
    for (const item of early) {
      if (item === 'end') handler.end();
      else if (item === 'closed') handler.closed(this.#error());
      else handler.data(item);
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.#socket.destroyed || this.#socket.writableEnded) return false;
    if (this.#pending === null) {
      this.#pending = [chunk];
      process.nextTick(flushTransport, this);
    } else {
      this.#pending.push(chunk);
    }
    this.#pendingBytes += chunk.length;
    if (this.bufferedAmount < this.#highWaterMark) return true;
    this.#flags |= NEED_DRAIN;
    return false;
  }

  get bufferedAmount(): number {
    return this.#pendingBytes + this.#socket.writableLength;
  }

  end(): void {
    this.#flush();
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  destroy(): void {
    // What was written before is handed over first, as if it had been written at once: a close frame just
    // written still gets its chance to reach the peer, as it did when every write went straight out.
    this.#flush();
    this.#socket.destroy();
  }

  /** Hands the collected chunks to the socket (see the module's comment). */
  #flush(): void {
    const pending = this.#pending;
    if (pending === null) return;
    const total = this.#pendingBytes;
    this.#pending = null;
    this.#pendingBytes = 0;
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) return;
    // Only the last write needs a callback: it completes after the earlier ones.
    const callback = this.#flags & NEED_DRAIN ? (this.#afterWrite ??= () => this.#checkDrain()) : undefined;
    if (pending.length === 1) {
      socket.write(asBuffer(pending[0]!), callback);
    } else if (total <= MERGE_LIMIT) {
      socket.write(merge(pending, 0, pending.length, total), callback);
    } else {
      socket.cork();
      let from = 0;
      let runBytes = 0;
      for (let i = 0; i < pending.length; i++) {
        const chunk = pending[i]!;
        if (chunk.length < LARGE_CHUNK) {
          runBytes += chunk.length;
          continue;
        }
        if (from < i) socket.write(merge(pending, from, i, runBytes));
        socket.write(asBuffer(chunk), i === pending.length - 1 ? callback : undefined);
        from = i + 1;
        runBytes = 0;
      }
      if (from < pending.length) socket.write(merge(pending, from, pending.length, runBytes), callback);
      socket.uncork();
    }
  }

  static {
    flushTransport = (transport) => transport.#flush();
    setSocketClosed = (transport, callback) => (transport.#socketClosed = callback);
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  get localAddress(): NetAddress | null {
    const s = this.#socket;
    return s.localAddress === undefined || s.localPort === undefined
      ? null
      : address(s.localAddress, s.localPort, s.localFamily);
  }

  get remoteAddress(): NetAddress | null {
    const s = this.#socket;
    return s.remoteAddress === undefined || s.remotePort === undefined
      ? null
      : address(s.remoteAddress, s.remotePort, s.remoteFamily);
  }

  /** The node socket. */
  get raw(): Duplex {
    return this.#socket;
  }

  startTls(options: ClientTlsOptions & { readonly servername: string }): Promise<Transport> {
    this.#detach();
    return new Promise<Transport>((resolve, reject) => {
      const secure = tlsConnect({
        socket: this.#socket as Socket,
        ...tlsOptions(options),
      });
      const onError = (error: Error): void => {
        secure.destroy();
        reject(error);
      };
      secure.once('error', onError);
      secure.once('secureConnect', () => {
        secure.off('error', onError);
        resolve(new NodeTransport(secure));
      });
    });
  }

  /** Hands the socket over (to TLS): our listeners go. */
  #detach(): void {
    this.#flush();
    this.#flags |= DETACHED;
    this.#socket.off('data', NodeTransport.#onData);
    this.#socket.off('end', NodeTransport.#onEnd);
    this.#socket.off('close', NodeTransport.#onClose);
    this.#socket.off('error', NodeTransport.#onError);
    this.#socket.off('drain', NodeTransport.#onDrain);
    (this.#socket as TaggedSocket)[TRANSPORT] = undefined;
  }

  #received(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string'
      ? new TextEncoder().encode(chunk)
      : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#handler === null) (this.#early ??= []).push(bytes);
    else this.#handler.data(bytes);
  }
  #ended(): void {
    if (this.#handler === null) (this.#early ??= []).push('end');
    else this.#handler.end();
  }
  #closed(): void {
    if (this.#flags & DETACHED) return;
    this.#flags |= DETACHED;
    this.#pending = null;
    this.#pendingBytes = 0;
    if (this.#handler === null) (this.#early ??= []).push('closed');
    else this.#handler.closed(this.#error());
  }
  /** Created on the first write that waits for a drain. */
  #afterWrite: (() => void) | undefined;

  static #onData(this: TaggedSocket, chunk: Buffer | string): void {
    const transport = this[TRANSPORT];
    if (transport !== undefined) transport.#received(chunk);
  }
  static #onEnd(this: TaggedSocket): void {
    const transport = this[TRANSPORT];
    if (transport !== undefined) transport.#ended();
  }
  static #onClose(this: TaggedSocket): void {
    const transport = this[TRANSPORT];
    if (transport === undefined) return;
    transport.#closed();
    transport.#socketClosed?.(this);
  }
  static #onError(): void {
    // 'close' follows, and the socket keeps the error (`errored`, see #error); an error without a
    // listener would crash the process.
  }

  /** The error the socket ended with, if any: node keeps the first one (`errored`). */
  #error(): unknown {
    return this.#socket.errored ?? undefined;
  }
  static #onDrain(this: TaggedSocket): void {
    const transport = this[TRANSPORT];
    if (transport !== undefined) transport.#checkDrain();
  }

  #checkDrain(): void {
    if (!(this.#flags & NEED_DRAIN) || this.bufferedAmount >= this.#highWaterMark) return;
    this.#flags &= ~NEED_DRAIN;
    this.#handler?.drain();
  }
}

const NEED_DRAIN = 1;
const DETACHED = 2;

/** Collected bytes up to which a flush merges everything into one buffer. */
const MERGE_LIMIT = 64 * 1024;
/** Chunks from this size on are written as they are (views, never copied) when a flush cannot merge all. */
const LARGE_CHUNK = 16 * 1024;

/** Bytes of the one buffer `primeAllocator` allocates and drops. */
const PRIME_BYTES = 16 * 1024 * 1024;
/** Message buffers from this size on prime the allocator first (see `primeAllocator`). */
const PRIME_FROM = 64 * 1024;
let allocatorPrimed = false;

/**
 * Allocates one large buffer and drops it, once per process: from the first message buffer of at least
 * 64 KiB that `allocateUnzeroed` is asked for, so before the first large message is assembled, and never in
 * a process that only sees smaller messages. It changes glibc's malloc for the whole process: glibc serves
 * the buffer with mmap (above its default 128 KiB threshold), and when V8 frees it at a later GC, glibc
 * raises its mmap threshold to that size and its trim threshold to twice it (the dynamic threshold of
 * mallopt(3)), for good. Without that, a server whose messages stay below 128 KiB keeps trimming the top of
 * its heap each time V8 frees a batch of message and read buffers, and faults every page of the next ones
 * in again: in `bench/ab-node.mjs` runs of 64 KiB echoes, 3 of 8 fresh processes at 2.3–6.5 page faults and
 * up to three times the CPU per echo; primed with 4 MiB, none of 8 (16 MiB: none of 8; 1 MiB: 2 of 8). 16 MiB
 * (so a trim threshold of 32 MiB), because sixteen 1 MiB echoes in flight free more than 8 MiB at the heap's
 * top at once, which glibc trimmed after a 4 MiB priming (10 of 13 fresh processes at 2.0–54 faults per echo;
 * primed with 16 MiB, 0.3–1.2 in all 12). The buffer is never touched, so it costs no resident memory itself;
 * what it costs is the heap glibc no longer trims: a process that has handled large messages may keep up to
 * 32 MiB of freed heap resident. 64 KiB is the smallest message size measured in that state, and a masked
 * message that large never fits in one of node's 64 KiB reads, so a server always assembles it (and asks for
 * its buffer). Elsewhere than glibc it is only a short-lived allocation. See docs/performance.md.
 */
function primeAllocator(): void {
  allocatorPrimed = true;
  Buffer.allocUnsafeSlow(PRIME_BYTES);
}

/**
 * The engine's `allocate` on Node: message buffers from `Buffer.allocUnsafeSlow` (its own, unzeroed
 * ArrayBuffer: the engine writes every byte before delivering a message, so zero-filling it, as
 * `new Uint8Array` must, is wasted), as plain `Uint8Array`s like every other message the engine delivers.
 * The first one of 64 KiB or more primes glibc first (`primeAllocator`).
 */
export function allocateUnzeroed(byteLength: number): Uint8Array {
  if (byteLength >= PRIME_FROM && !allocatorPrimed) primeAllocator();
  return new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);
}

/** A Buffer over the same memory (node's `write` would make one anyway). */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * `chunks[from..to)`, `bytes` long in all, as one Buffer: the chunk itself when alone, a view when they lie
 * one after another in one buffer (the engine cuts small frames from a shared slab in the order it makes
 * them), else a copy.
 */
function merge(chunks: readonly Uint8Array[], from: number, to: number, bytes: number): Buffer {
  const first = chunks[from]!;
  if (to - from === 1) return asBuffer(first);
  // Offsets first: reading `.buffer` of a small array that V8 keeps on its heap moves it out.
  let i = from + 1;
  for (let end = first.byteOffset + first.length; i < to; i++) {
    const chunk = chunks[i]!;
    if (chunk.byteOffset !== end || chunk.buffer !== first.buffer) break;
    end += chunk.length;
  }
  if (i === to) return Buffer.from(first.buffer, first.byteOffset, bytes);
  const out = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let i = from; i < to; i++) {
    const chunk = chunks[i]!;
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function address(ip: string, port: number, family: string | undefined): NetAddress {
  return family === undefined ? { address: ip, port } : { address: ip, port, family };
}

/** node:tls connect options for sansws's ClientTlsOptions. */
export function tlsOptions(options: ClientTlsOptions & { readonly servername: string }): {
  servername?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[];
} {
  const out: ReturnType<typeof tlsOptions> = {};
  // RFC 6066 §3: SNI carries host names only, never IP literals.
  if (isIP(options.servername) === 0) out.servername = options.servername;
  if (options.ca !== undefined) {
    const toNode = (ca: string | Uint8Array): string | Buffer =>
      typeof ca === 'string' ? ca : Buffer.from(ca.buffer, ca.byteOffset, ca.byteLength);
    out.ca = Array.isArray(options.ca) ? options.ca.map(toNode) : toNode(options.ca as string | Uint8Array);
  }
  if (options.rejectUnauthorized !== undefined) out.rejectUnauthorized = options.rejectUnauthorized;
  if (options.alpnProtocols !== undefined) out.ALPNProtocols = [...options.alpnProtocols];
  return out;
}

export type { TLSSocket };
