/**
 * The {@link Transport} over a node:net or node:tls socket (or any node stream.Duplex, such as the socket
 * of a node:http `'upgrade'` event).
 *
 * Writes are coalesced: `write` only collects the chunk, and the first one of a tick schedules a flush
 * (`process.nextTick`, so it runs after the promise jobs of the same tick, where an application answers
 * the messages of one read). The flush hands the socket every run of chunks that lie one after another in
 * one buffer and hold 4 KiB or more as a view of it, never copied (a large payload the engine passed
 * through, or frames it cut one after another from its shared slab), and what lies between such runs merged
 * into one buffer; several pieces go under `cork()`, so that node writes them with one `writev`. One read of
 * 64 pipelined messages is thus answered with one system call instead of 64, and no Buffer of its own.
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
import {
  BufferPool,
  type ClientTlsOptions,
  type NetAddress,
  type Transport,
  type TransportHandler,
} from '@sansws/conn';
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
  /** `afterWrites` callbacks waiting for the next flush's writes (null: none). */
  #afterFlush: Array<() => void> | null = null;

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

  afterWrites(callback: () => void): void {
    if (this.#pending !== null) {
      // Called by the last write of the coming flush: node completes writes in order.
      (this.#afterFlush ??= []).push(callback);
      return;
    }
    const socket = this.#socket;
    if (socket.writableLength === 0 || socket.destroyed) return callback();
    // After end(), node writes what it holds, then closes.
    if (socket.writableEnded) socket.once('close', () => callback());
    // An empty write completes after those before it (with an error if the socket is destroyed first).
    else socket.write(EMPTY_BUFFER, () => callback());
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
    this.#pending = null;
    this.#pendingBytes = 0;
    const socket = this.#socket;
    const waiting = this.#afterFlush;
    this.#afterFlush = null;
    if (socket.destroyed || socket.writableEnded) return runAll(waiting);
    // Only the last write needs a callback: it completes after the earlier ones.
    const drain = this.#flags & NEED_DRAIN ? (this.#afterWrite ??= () => this.#checkDrain()) : undefined;
    const callback = waiting === null ? drain : () => (drain?.(), runAll(waiting));
    if (pending.length === 1) {
      socket.write(asBuffer(pending[0]!), callback);
      return;
    }
    const pieces = gather(pending);
    if (pieces.length === 1) {
      socket.write(pieces[0]!, callback);
      return;
    }
    socket.cork();
    for (let i = 0; i < pieces.length; i++) {
      socket.write(pieces[i]!, i === pieces.length - 1 ? callback : undefined);
    }
    socket.uncork();
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
    const waiting = this.#afterFlush;
    this.#afterFlush = null;
    runAll(waiting);
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
const EMPTY_BUFFER = Buffer.alloc(0);

function runAll(callbacks: Array<() => void> | null): void {
  if (callbacks !== null) { for (const callback of callbacks) callback(); }
}

/**
 * A run of chunks lying one after another in one buffer, from this many bytes, is written as a view of it
 * (a single chunk too: a large payload the engine passed through); smaller runs between them are copied
 * together. Below it, copying costs less than one more piece in the writev; above it, the copy would also
 * need a buffer of its own (node pools only allocations up to 4 KiB).
 */
const VIEW_MIN = 4 * 1024;

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
 * its buffer). Elsewhere than glibc it is only a short-lived allocation. See docs/performance-log.md, "Large
 * messages on the Node server (round 4)".
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

/**
 * Where the Node Upgrader and dial assemble received messages (their `allocate` and `releaseMessage`):
 * buffers of {@link allocateUnzeroed}, of the size asked for, used again once the application gave a message
 * back with `Conn.release` and the writes made before it completed. A decoded text message keeps its bytes
 * (`releaseDecodedText: false`), so that writing its string back sends them without encoding it again. Why:
 * masking a 64 KiB message into a new buffer took 10.4 µs and into a reused one 3.2 (docs/performance-log.md,
 * round 22).
 */
export const messages: BufferPool = new BufferPool({ round: false, fallback: allocateUnzeroed });

/**
 * V8 keeps typed arrays of up to this many bytes in its heap (the engine's frames of 64 bytes or less, a
 * small message's with its header): reading `.buffer` of one moves it out into an ArrayBuffer of its own
 * (about 0.3 µs), where copying it into node's pool costs less.
 */
const ON_HEAP_MAX = 64;

/** A Buffer of `chunk`'s bytes: over the same memory (node's `write` would make one anyway), or a copy. */
function asBuffer(chunk: Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk.length <= ON_HEAP_MAX) {
    const out = Buffer.allocUnsafe(chunk.length);
    out.set(chunk);
    return out;
  }
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * The buffers a flush hands the socket for `chunks`: each run of chunks that lie one after another in one
 * buffer (the engine cuts small frames from a shared slab in the order it makes them) and hold VIEW_MIN bytes
 * or more, as a view of it, never copied; what lies between such runs as one buffer (a view when it is one
 * run itself, else a copy).
 */
function gather(chunks: readonly Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0; // the first chunk of the runs not yet handed out
  let bytes = 0; // their bytes
  let runs = 0; // and their number
  for (let start = 0; start < chunks.length;) {
    // The run that begins at `start`. Offsets first: reading `.buffer` of a small array that V8 keeps on its
    // heap moves it out.
    const first = chunks[start]!;
    let end = start + 1;
    let runEnd = first.byteOffset + first.length;
    while (end < chunks.length) {
      const chunk = chunks[end]!;
      if (chunk.byteOffset !== runEnd || chunk.buffer !== first.buffer) break;
      runEnd += chunk.length;
      end++;
    }
    const runBytes = runEnd - first.byteOffset;
    if (runBytes >= VIEW_MIN) {
      if (runs > 0) out.push(between(chunks, from, start, bytes, runs));
      out.push(Buffer.from(first.buffer, first.byteOffset, runBytes));
      from = end;
      bytes = 0;
      runs = 0;
    } else {
      bytes += runBytes;
      runs++;
    }
    start = end;
  }
  if (runs > 0) out.push(between(chunks, from, chunks.length, bytes, runs));
  return out;
}

/** `chunks[from..to)`, `bytes` long in all and made of `runs` runs, as one Buffer: a view of one, else a copy. */
function between(
  chunks: readonly Uint8Array[],
  from: number,
  to: number,
  bytes: number,
  runs: number,
): Buffer {
  const first = chunks[from]!;
  if (to - from === 1) return asBuffer(first);
  if (runs === 1) return Buffer.from(first.buffer, first.byteOffset, bytes);
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
