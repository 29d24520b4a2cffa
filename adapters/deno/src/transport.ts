/**
 * The {@link Transport} over a Deno connection (`Deno.listen` / `Deno.connect`, `Deno.listenTls` /
 * `Deno.connectTls` / `Deno.startTls`).
 *
 * Theory of operation. Reading: one loop calls `conn.read` into a buffer, and the engine takes ownership of
 * what it is handed (it unmasks in place and hands out views). A read that filled the buffer is handed on in
 * it, and the next read gets a new one; a smaller read is copied out and the buffer kept (so no read
 * allocates more than it hands on). The buffer's size follows the traffic ({@link ReadSizer}): it doubles
 * while reads fill it, up to 256 KiB, and halves after reads that used less than a quarter of it, down to
 * 2 KiB, so an idle connection's pending read holds 2 KiB (after bulk traffic, until a few small reads).
 * Large reads make most 64 KiB frames lie within one chunk, which the engine delivers as a view, where 64 KiB
 * reads made every such frame span two chunks and be assembled in a new buffer; handing the buffer on saves
 * the copy (both zero-filled allocations and copies showed in perf: docs/performance-log.md, "Deno: large
 * messages"). Read backpressure is simply not calling `read`: `pause()` stops the loop after the read in
 * flight (whose chunk may still arrive), `resume()` restarts it. Writing: `conn.write` resolves once Deno
 * accepted some bytes (possibly fewer than given), so the write buffer is ours: chunks wait in a queue that
 * one write loop drains in order, retrying the unwritten remainder. The loop starts from `process.nextTick`,
 * which Deno (like Node) runs, when it was queued from a microtask, once the microtask queue is empty; a Conn
 * writes from microtasks (continuations of the awaited read, the application's replies), so what the engine
 * produced for one read and the replies to each of its messages leave together (`strace -c` on the echo
 * server, 16 B messages 64 in flight: one `sendto` per read, where starting the loop at the first write made
 * about one per message). A turn can be long, though: Deno resolves every ready connection's read in one
 * turn, so with 100 connections compressing 64 KiB messages the replies of the first would wait for the work
 * of all; so the loop starts at once when 64 KiB wait or the first waited 1 ms. A lone chunk is written as it
 * is; several waiting chunks are copied into one `conn.write`: into a new buffer when they total less than
 * 16 KiB, else into the transport's 128 KiB gather buffer (filled to the end, the chunk that does not fit
 * cut), which is reused until a write loop run no longer needs it. A frame's header and its payload thus
 * leave in one write, and a queue of large messages in 128 KiB writes, where writing each chunk as it was
 * made two writes (and a 10-byte TCP segment) per large message. `bufferedAmount` is the queue's size,
 * `write` returns whether it is below the high-water mark, and `drain` is reported once the loop brings it
 * below again. `end()` lets the queue empty, then `closeWrite()` sends the FIN. The connection is closed once
 * both directions are done (`read` saw EOF and our FIN went out), on `destroy()` or on an error; `closed` is
 * reported once.
 *
 * @module
 */

import process from 'node:process';
import {
  BufferPool,
  type ClientTlsOptions,
  FrameRing,
  type NetAddress,
  type Transport,
  type TransportHandler,
} from '@sansws/conn';

/** Several queued chunks totalling less than this are joined into one new buffer for one `conn.write`. */
const GATHER_FROM = 16 * 1024;
/**
 * From {@link GATHER_FROM} bytes, queued chunks are copied into the transport's gather buffer, of this size,
 * for one `conn.write` (a chunk that does not fit is cut); a first chunk this big is written as it is.
 */
const GATHER_SIZE = 128 * 1024;
/** Writing starts at once when this many bytes wait, or when the first of them waited this long. */
const FLUSH_BYTES = 64 * 1024;
const FLUSH_DELAY_MS = 1;
const EMPTY = new Uint8Array(0);
/**
 * The queue of every transport with nothing to write (frozen: nothing is ever added to it), so that an idle
 * connection holds no empty array of its own.
 */
const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/**
 * Where the engines of the Deno Upgrader and dial cut their outgoing frames (their `allocateFrame`): memory
 * used again once every frame cut from it was consumed, which every DenoTransport reports for each chunk it
 * is given: once `conn.write` has written all of it, or once it is copied into a joined write (a chunk cut at
 * the end of the gather buffer: the part copied at once, the rest once written). Binary 4 KiB echoes, 16 in
 * flight: about 0.8× the CPU per echo of fresh 64 KiB slabs (docs/performance-log.md, round 10).
 */
export const frames: FrameRing = new FrameRing();

/**
 * Where the engines of the Deno Upgrader and dial assemble received messages that span reads (their
 * `allocate` and `releaseMessage`): buffers of the size asked for, used again once the application gave a
 * message back with `Conn.release` and the writes made before it were written. Deno zero-fills every new
 * buffer (docs/performance-log.md, round 22), which a buffer used again skips. A decoded text message keeps its
 * bytes (`releaseDecodedText: false`): writing its string back then sends them, where Deno's `TextEncoder`
 * costs more than a new buffer (round 16).
 */
export const messages: BufferPool = new BufferPool({ round: false });

/** Bytes of the one buffer {@link primeAllocator} allocates and drops. */
const PRIME_BYTES = 16 * 1024 * 1024;
let allocatorPrimed = false;

/**
 * Allocates one large buffer and drops it, once per process (the first transport does it). It changes glibc's
 * malloc, which Deno's `ArrayBuffer`s come from, for the whole process: glibc serves the buffer with mmap
 * (above its default 128 KiB threshold), and when V8 frees it at a later collection, glibc raises its mmap
 * threshold to that size and its trim threshold to twice it (the dynamic threshold of mallopt(3)). Without
 * that, glibc gives the top of its heap back to the system each time V8 frees a batch of read buffers and
 * messages, and faults every page of the next ones in again: binary 1 KiB echoes, 64 in flight, took 2.9–4.5
 * µs of CPU each at 0.04–0.05 page faults, and 1.9–2.1 µs at none once primed (as with glibc's thresholds set
 * by `GLIBC_TUNABLES`; docs/performance-log.md, round 10). The buffer is never touched, so it costs no resident
 * memory itself; what it costs is freed heap that glibc no longer trims, up to 32 MiB. The Node adapter
 * primes only on a process's first large message, because node reads into its own pool and small echoes do
 * not fault there; Deno's reads and joins allocate from the heap at every size. Elsewhere than glibc it is
 * only a short-lived allocation. Returns whether this call primed.
 */
export function primeAllocator(): boolean {
  if (allocatorPrimed) return false;
  allocatorPrimed = true;
  void new Uint8Array(PRIME_BYTES);
  return true;
}

/**
 * The size of the next read's buffer: starts at {@link ReadSizer.MIN}, doubles (up to {@link ReadSizer.MAX})
 * after a read that filled it, halves (down to {@link ReadSizer.MIN}) after {@link ReadSizer.SHRINK_AFTER}
 * reads in a row that each used less than a quarter of it. Growing at once keeps bulk transfers at full-size
 * reads; shrinking only after several small reads keeps a connection whose reads vary in size from replacing
 * its buffer (a new, zeroed allocation) on every other read.
 */
class ReadSizer {
  static readonly MIN = 2 * 1024;
  static readonly MAX = 256 * 1024;
  static readonly SHRINK_AFTER = 4;
  #size = ReadSizer.MIN;
  #small = 0;

  /** Bytes to offer the next read. */
  get size(): number {
    return this.#size;
  }

  /** Records that a read of a {@link size}-byte buffer returned `n` bytes. */
  update(n: number): void {
    if (n >= this.#size) {
      this.#size = Math.min(this.#size * 2, ReadSizer.MAX);
      this.#small = 0;
    } else if (n >= this.#size / 4) {
      this.#small = 0;
    } else if (++this.#small >= ReadSizer.SHRINK_AFTER) {
      this.#size = Math.max(this.#size / 2, ReadSizer.MIN);
      this.#small = 0;
    }
  }
}

/** A Deno connection as a sansws Transport. */
export class DenoTransport implements Transport {
  readonly #conn: Deno.Conn;
  #handler: TransportHandler | null = null;
  /** Chunks (or EOF / close) that arrived before `start` (null while there are none). */
  #early: Array<Uint8Array | 'end' | 'closed'> | null = null;
  #highWaterMark = 64 * 1024;
  readonly #readSize = new ReadSizer();
  /** Reused while the size stays the same and reads are small; replaced after a large read or a resize. */
  #readBuffer = EMPTY;
  #reading = false;
  #paused = false;
  #readDone = false;
  #queue: Uint8Array[] = NO_CHUNKS;
  #queued = 0;
  /** Reused by every gathered write; dropped after a write loop run that wrote without needing it. */
  #gather: Uint8Array | null = null;
  #gathered = false;
  #writing = false;
  /** The write loop will start from `process.nextTick`; since when (`performance.now()`). */
  #startScheduled = false;
  #scheduledAt = 0;
  #needDrain = false;
  /** Bytes ever accepted by `write` (what `afterWrites` callbacks wait for is counted in them). */
  #accepted = 0;
  /** `afterWrites` callbacks, each with the count of accepted bytes it waits for (null: none). */
  #afterWrites: Array<{ readonly at: number; readonly callback: () => void }> | null = null;
  #ending = false;
  #writeDone = false;
  #closed = false;
  #detached = false;
  #error: unknown = undefined;
  #resolveClosed!: () => void;
  /** Resolves once the connection is closed (for listeners that track their connections). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#resolveClosed = resolve));

  /** Wraps a connected (or accepted) connection and starts reading from it. */
  constructor(conn: Deno.Conn) {
    primeAllocator();
    this.#conn = conn;
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // not a TCP connection, or already closed
    }
    void this.#read();
  }

  start(handler: TransportHandler, options: { readonly writeHighWaterMark: number }): void {
    this.#handler = handler;
    this.#highWaterMark = options.writeHighWaterMark;
    const early = this.#early;
    this.#early = null;
    if (early === null) return;
    for (const item of early) {
      if (item === 'end') handler.end();
      else if (item === 'closed') handler.closed(this.#error);
      else handler.data(item);
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.#closed || this.#ending) {
      frames.release(chunk);
      return false;
    }
    if (chunk.length > 0) {
      if (this.#queue === NO_CHUNKS) this.#queue = [chunk];
      else this.#queue.push(chunk);
      this.#queued += chunk.length;
      this.#accepted += chunk.length;
      if (!this.#writing) {
        const now = performance.now();
        if (!this.#startScheduled) {
          this.#startScheduled = true;
          this.#scheduledAt = now;
          process.nextTick(DenoTransport.#startWriting, this);
        } else if (this.#queued >= FLUSH_BYTES || now - this.#scheduledAt >= FLUSH_DELAY_MS) {
          void this.#writeLoop();
        }
      }
    }
    if (this.#queued < this.#highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  afterWrites(callback: () => void): void {
    if (this.#closed || this.#queued === 0) return callback();
    (this.#afterWrites ??= []).push({ at: this.#accepted, callback });
  }

  /**
   * Runs the `afterWrites` callbacks whose bytes Deno has all written: bytes leave the queue in the order
   * they were written and count as queued until `conn.write` has written them (a chunk copied into a
   * gathered write still counts), so what is no longer queued of the accepted bytes has left.
   */
  #settleWrites(): void {
    const waiting = this.#afterWrites;
    if (waiting === null) return;
    const done = this.#accepted - this.#queued;
    while (waiting.length > 0 && waiting[0]!.at <= done) waiting.shift()!.callback();
    if (waiting.length === 0) this.#afterWrites = null;
  }

  end(): void {
    if (this.#ending || this.#closed) return;
    this.#ending = true;
    if (!this.#writing) void this.#writeLoop();
  }

  destroy(): void {
    this.#finish(undefined);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (!this.#reading) void this.#read();
  }

  get localAddress(): NetAddress | null {
    return netAddress(this.#conn.localAddr);
  }

  get remoteAddress(): NetAddress | null {
    return netAddress(this.#conn.remoteAddr);
  }

  /** The Deno connection. */
  get raw(): Deno.Conn {
    return this.#conn;
  }

  /**
   * Starts TLS over this (tunnelled) connection with `Deno.startTls`. The tunnel paused the transport
   * within the `data` call that completed the proxy's answer, so no read is in flight here.
   */
  async startTls(options: ClientTlsOptions & { readonly servername: string }): Promise<Transport> {
    this.#detached = true;
    this.#handler = null;
    const tls = await Deno.startTls(this.#conn as Deno.TcpConn, denoTlsOptions(options));
    await tls.handshake();
    return new DenoTransport(tls);
  }

  async #read(): Promise<void> {
    this.#reading = true;
    try {
      while (!this.#paused && !this.#closed && !this.#detached) {
        let n: number | null;
        if (this.#readBuffer.length !== this.#readSize.size) {
          this.#readBuffer = new Uint8Array(this.#readSize.size);
        }
        const buffer = this.#readBuffer;
        try {
          n = await this.#conn.read(buffer);
        } catch (error) {
          if (!this.#detached) this.#finish(error);
          return;
        }
        if (this.#closed || this.#detached) return;
        if (n === null) {
          this.#readDone = true;
          if (this.#handler === null) (this.#early ??= []).push('end');
          else this.#handler.end();
          if (this.#writeDone) this.#finish(undefined);
          return;
        }
        if (n === 0) continue;
        this.#readSize.update(n);
        // The engine owns what it is given: a read that filled the buffer is handed on in it (the next read
        // gets a new one), a smaller one is copied out and the buffer kept for the next read.
        let chunk: Uint8Array;
        if (n === buffer.length) {
          chunk = buffer;
          this.#readBuffer = EMPTY;
        } else {
          chunk = buffer.slice(0, n);
        }
        if (this.#handler === null) (this.#early ??= []).push(chunk);
        else this.#handler.data(chunk);
      }
    } finally {
      this.#reading = false;
    }
  }

  /** The write loop's start at the end of the turn (a shared function, not a closure per transport). */
  static #startWriting(transport: DenoTransport): void {
    transport.#startScheduled = false;
    if (!transport.#writing) void transport.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    this.#gathered = false;
    let wrote = false;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Written to the end before the next `#next()`, which may refill the gather buffer.
        const taken = this.#next();
        let chunk = taken;
        wrote = true;
        try {
          while (chunk.length > 0) {
            let written: number;
            try {
              written = await this.#conn.write(chunk);
            } catch (error) {
              this.#finish(error);
              return;
            }
            if (this.#closed) return;
            this.#queued -= written;
            this.#settleWrites();
            chunk = chunk.subarray(written);
            if (this.#needDrain && this.#queued < this.#highWaterMark) {
              this.#needDrain = false;
              this.#handler?.drain();
            }
          }
        } finally {
          // Deno no longer holds it: written, or the write failed.
          frames.release(taken);
        }
      }
      // Kept while every run that writes needs it (a run that finds the queue empty proves nothing).
      if (wrote && !this.#gathered) this.#gather = null;
      if (this.#queue.length === 0) this.#queue = NO_CHUNKS;
      if (this.#ending && !this.#writeDone && !this.#closed) {
        this.#writeDone = true;
        try {
          await this.#conn.closeWrite();
        } catch (error) {
          this.#finish(error);
          return;
        }
        if (this.#readDone) this.#finish(undefined);
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Takes the next bytes to write off the queue: a lone chunk, or a first one of {@link GATHER_SIZE} bytes
   * or more, as it is; else several chunks copied into one buffer (a new one below {@link GATHER_FROM} bytes,
   * else the gather buffer, filled up to its size by cutting the chunk that does not fit).
   */
  #next(): Uint8Array {
    const queue = this.#queue;
    const first = queue[0]!;
    if (queue.length === 1 || first.length >= GATHER_SIZE) return queue.shift()!;
    let out: Uint8Array;
    if (this.#queued < GATHER_FROM) {
      // Chunks that lie one after another in one buffer (small frames the engine cut from its slab, in the
      // order it made them) leave as one view of it, uncopied.
      let end = first.byteOffset + first.length;
      let i = 1;
      while (i < queue.length && queue[i]!.byteOffset === end && queue[i]!.buffer === first.buffer) {
        end += queue[i++]!.length;
      }
      if (i === queue.length) {
        queue.length = 0;
        return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
      }
      out = new Uint8Array(this.#queued);
    } else {
      out = (this.#gather ??= new Uint8Array(GATHER_SIZE)).subarray(0, Math.min(this.#queued, GATHER_SIZE));
      this.#gathered = true;
    }
    let at = 0;
    while (at < out.length) {
      const chunk = queue[0]!;
      const take = Math.min(chunk.length, out.length - at);
      if (take === chunk.length) {
        out.set(chunk, at);
        queue.shift();
        frames.release(chunk);
      } else {
        // The part copied is consumed; the rest waits as it is (a frame stays live until it is written).
        const part = chunk.subarray(0, take);
        out.set(part, at);
        frames.release(part);
        queue[0] = chunk.subarray(take);
      }
      at += take;
    }
    return out;
  }

  #finish(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error ??= error;
    for (const chunk of this.#queue) frames.release(chunk);
    this.#queue = NO_CHUNKS;
    this.#queued = 0;
    this.#settleWrites();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#resolveClosed();
    queueMicrotask(() => {
      if (this.#detached) return;
      if (this.#handler === null) (this.#early ??= []).push('closed');
      else this.#handler.closed(this.#error);
    });
  }
}

function netAddress(addr: Deno.Addr): NetAddress | null {
  if (addr.transport !== 'tcp') return null;
  return { address: addr.hostname, port: addr.port, family: addr.hostname.includes(':') ? 'IPv6' : 'IPv4' };
}

/** `Deno.startTls` / `Deno.connectTls` options for sansws's ClientTlsOptions. */
export function denoTlsOptions(options: ClientTlsOptions & { readonly servername: string }): {
  hostname: string;
  caCerts?: string[];
  alpnProtocols?: string[];
} {
  const out: ReturnType<typeof denoTlsOptions> = { hostname: options.servername };
  if (options.ca !== undefined) {
    const list = Array.isArray(options.ca) ? options.ca : [options.ca as string | Uint8Array];
    // Deno takes PEM text.
    out.caCerts = list.map((ca) => (typeof ca === 'string' ? ca : new TextDecoder().decode(ca)));
  }
  if (options.alpnProtocols !== undefined) out.alpnProtocols = [...options.alpnProtocols];
  // `rejectUnauthorized: false` has no per-connection equivalent in Deno: only the process-wide
  // `--unsafely-ignore-certificate-errors` flag disables verification (docs/runtimes.md).
  return out;
}
