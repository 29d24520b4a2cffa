/**
 * The {@link Transport} over a Bun socket (`Bun.listen` / `Bun.connect`, plain or TLS).
 *
 * Theory of operation. Bun's sockets have no write buffer of their own: `socket.write` hands what it can
 * to the kernel (or the TLS layer) at once — one `sendto` per call — and returns how many bytes that was,
 * possibly fewer than given (or -1 when the socket is closed). So the write buffer is ours, in two parts:
 *
 * - the batch: chunks written during one turn of the event loop (an engine's output for one read, the
 *   replies an application makes to every message of that read, each in its own microtask) are collected and
 *   handed to Bun together at the end of the turn (`setImmediate`), small ones joined into one
 *   `socket.write`, so N pipelined echoes cost one system call, not N (measured with `strace -c`: one
 *   `sendto` per echoed 16 B message before, one per read after). A turn can be long: Bun delivers every
 *   ready socket's data in one turn, and 100 connections each compressing 8 messages of 64 KiB kept every
 *   reply back for most of a second (the benchmark saw no echo at all in its 250 ms windows). So a batch also
 *   goes out as soon as it holds {@link FLUSH_BYTES} or its first chunk has waited {@link FLUSH_DELAY_MS} ms.
 *   A chunk of {@link WRITE_DIRECT} bytes or more goes out at once (after the batch before it): joining it
 *   would copy it, and one more system call is cheap beside its size;
 * - the queue: the unwritten remainder of a partial write, and every chunk after it, in order; Bun's
 *   `drain` handler (the socket is writable again) writes from it until it is empty or Bun takes less again.
 *
 * `bufferedAmount` is the size of both and `write` returns whether it is below the high-water mark; `drain`
 * is reported to our handler once it falls below again. `end` hands the batch over, then waits for the
 * queue to empty before Bun's `end()` sends the FIN.
 *
 * Sockets are opened with `allowHalfOpen: true`, so that the peer's FIN only reports `end` and our own
 * FIN waits until everything we wrote was sent, as the Transport contract (and a closing handshake)
 * needs. Bun hands every `data` call a fresh buffer (checked: chunks are never reused), which the engine
 * may keep and unmask in place. Bun calls `close` synchronously from `terminate()`; we report it from a
 * microtask, like node's `'close'`, so that `destroy()` never re-enters its caller.
 *
 * @module
 */

import type { Socket, SocketHandler } from 'bun';
import type { ClientTlsOptions, NetAddress, Transport, TransportHandler } from '@sansws/conn';

/** What we keep on each Bun socket (`socket.data`). */
export interface BunSocketData {
  /** The transport, once created. */
  transport: BunTransport | null;
  /** Client sockets: called once the connection (and TLS handshake) is ready, or failed. */
  ready?: ((socket: Socket<BunSocketData>, error: Error | null) => void) | undefined;
  /** Client TLS sockets: refuse a certificate that does not verify. */
  verify?: boolean | undefined;
}

type BunSocket = Socket<BunSocketData>;

/** Chunks this big or bigger are written at once, never copied into a batch. */
const WRITE_DIRECT = 16 * 1024;
/** A batch is joined into buffers of at most this many bytes. */
const JOIN_LIMIT = 256 * 1024;
/** A batch goes out at once when it holds this many bytes, or when its first chunk waited this long. */
const FLUSH_BYTES = 64 * 1024;
const FLUSH_DELAY_MS = 1;

/** A Bun socket as a sansws Transport. */
export class BunTransport implements Transport {
  readonly #socket: BunSocket;
  #handler: TransportHandler | null = null;
  /** Chunks (or EOF / close) that arrived before `start`. */
  #early: Array<Uint8Array | 'end' | 'closed'> = [];
  #highWaterMark = 64 * 1024;
  /** Chunks written in this turn of the event loop, handed to Bun together at its end (see above). */
  #batch: Uint8Array[] = [];
  #batched = 0;
  #flushScheduled = false;
  /** When the batch's first chunk was written (`performance.now()`). */
  #batchStart = 0;
  /** Bytes Bun did not take yet, in order; the first may be the remainder of a partial write. */
  #queue: Uint8Array[] = [];
  #queued = 0;
  #needDrain = false;
  #ending = false;
  #ended = false;
  #closed = false;
  #error: unknown = undefined;

  /** Wraps a connected socket; it becomes `socket.data.transport`. */
  constructor(socket: BunSocket) {
    this.#socket = socket;
    socket.data.transport = this;
    socket.setNoDelay(true);
  }

  start(handler: TransportHandler, options: { readonly writeHighWaterMark: number }): void {
    this.#handler = handler;
    this.#highWaterMark = options.writeHighWaterMark;
    const early = this.#early;
    this.#early = [];
    for (const item of early) {
      if (item === 'end') handler.end();
      else if (item === 'closed') handler.closed(this.#error);
      else handler.data(item);
    }
  }

  write(chunk: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false;
    if (chunk.length >= WRITE_DIRECT) {
      this.#writeBatch();
      this.#send(chunk);
    } else if (chunk.length > 0) {
      const now = performance.now();
      if (this.#batch.length === 0) this.#batchStart = now;
      this.#batch.push(chunk);
      this.#batched += chunk.length;
      if (this.#batched >= FLUSH_BYTES || now - this.#batchStart >= FLUSH_DELAY_MS) {
        this.#writeBatch();
      } else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flushBatch);
      }
    }
    if (this.#queued + this.#batched < this.#highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  get bufferedAmount(): number {
    return this.#queued + this.#batched;
  }

  end(): void {
    if (this.#ending || this.#closed) return;
    this.#writeBatch();
    this.#ending = true;
    if (this.#queue.length === 0) this.#sendEnd();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#discard();
    this.#socket.terminate();
  }

  pause(): void {
    if (!this.#closed) this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  get localAddress(): NetAddress | null {
    const s = this.#socket;
    return s.localAddress === undefined || this.#closed
      ? null
      : { address: s.localAddress, port: s.localPort, family: s.localFamily };
  }

  get remoteAddress(): NetAddress | null {
    const s = this.#socket;
    return s.remoteAddress === undefined || this.#closed
      ? null
      : { address: s.remoteAddress, port: s.remotePort, family: s.remoteFamily };
  }

  /** The Bun socket. */
  get raw(): Socket<BunSocketData> {
    return this.#socket;
  }

  /** Starts TLS over this (tunnelled) socket with Bun's `upgradeTLS`. */
  startTls(options: ClientTlsOptions & { readonly servername: string }): Promise<Transport> {
    return new Promise<Transport>((resolve, reject) => {
      const data: BunSocketData = {
        transport: null,
        verify: options.rejectUnauthorized !== false,
        ready: (tls, error) => {
          if (error !== null) reject(error);
          else resolve(new BunTransport(tls));
        },
      };
      // From here on the raw socket belongs to the TLS layer.
      this.#writeBatch();
      this.#handler = null;
      this.#closed = true;
      this.#socket.upgradeTLS<BunSocketData>({
        data,
        tls: bunTlsOptions(options),
        socket: BunTransport.clientHandler,
      });
    });
  }

  /** Hands a chunk to Bun, or to the queue behind an earlier partial write. */
  #send(chunk: Uint8Array): void {
    if (this.#queue.length === 0) {
      const written = this.#socket.write(chunk);
      if (written < 0) return; // closed under us: `close` follows
      if (written === chunk.length) return;
      chunk = chunk.subarray(written);
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
  }

  /** The end of the turn: the batch goes out, and a `drain` owed for its bytes is reported. */
  readonly #flushBatch = (): void => {
    this.#flushScheduled = false;
    if (this.#closed) return;
    this.#writeBatch();
    this.#drained();
  };

  /** Hands the batch to Bun: each run of chunks joined into one buffer (a lone chunk as it is). */
  #writeBatch(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batched = 0;
    let i = 0;
    while (i < batch.length) {
      let total = batch[i]!.length;
      let end = i + 1;
      while (end < batch.length && total + batch[end]!.length <= JOIN_LIMIT) total += batch[end++]!.length;
      if (end === i + 1) {
        this.#send(batch[i]!);
      } else {
        const joined = new Uint8Array(total);
        let offset = 0;
        for (let j = i; j < end; j++) {
          joined.set(batch[j]!, offset);
          offset += batch[j]!.length;
        }
        this.#send(joined);
      }
      i = end;
    }
  }

  #discard(): void {
    this.#batch = [];
    this.#batched = 0;
    this.#queue = [];
    this.#queued = 0;
  }

  /** Reports `drain` once everything buffered fell below the high-water mark after a `false`. */
  #drained(): void {
    if (this.#needDrain && this.#queued + this.#batched < this.#highWaterMark) {
      this.#needDrain = false;
      this.#handler?.drain();
    }
  }

  /** Bun's `drain`: write from the queue until it is empty or Bun takes less than offered. */
  #flush(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const chunk = this.#queue[0]!;
      const written = this.#socket.write(chunk);
      if (written < 0) return;
      this.#queued -= Math.max(0, written);
      if (written < chunk.length) {
        this.#queue[0] = chunk.subarray(written);
        break;
      }
      this.#queue.shift();
    }
    if (this.#queue.length === 0 && this.#ending) this.#sendEnd();
    this.#drained();
  }

  #sendEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.end();
  }

  #receive(chunk: Uint8Array): void {
    if (this.#closed) return;
    if (this.#handler === null) this.#early.push(chunk);
    else this.#handler.data(chunk);
  }

  #receiveEnd(): void {
    if (this.#closed) return;
    if (this.#handler === null) this.#early.push('end');
    else this.#handler.end();
  }

  #receiveClose(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error ??= error;
    this.#discard();
    queueMicrotask(() => {
      if (this.#handler === null) this.#early.push('closed');
      else this.#handler.closed(this.#error);
    });
  }

  /** Handlers of accepted sockets (`Bun.listen`); `open` is the listener's. */
  static serverHandler(
    open: (transport: BunTransport) => void,
    closed: (transport: BunTransport) => void,
  ): SocketHandler<BunSocketData> {
    return {
      open: (socket) => {
        socket.data = { transport: null };
        open(new BunTransport(socket));
      },
      data: (socket, chunk) => BunTransport.#on(socket, (t) => t.#receive(plain(chunk))),
      drain: (socket) => BunTransport.#on(socket, (t) => t.#flush()),
      end: (socket) => BunTransport.#on(socket, (t) => t.#receiveEnd()),
      close: (socket, error) => {
        const transport = socket.data.transport;
        if (transport === null) return;
        transport.#receiveClose(error);
        closed(transport);
      },
      error: (socket, error) => {
        const transport = socket.data.transport;
        if (transport !== null && !transport.#closed) transport.#error ??= error;
      },
    };
  }

  /**
   * Handlers of client sockets (`Bun.connect`, `upgradeTLS`): ready once connected, or for TLS once the
   * handshake verified the certificate (Bun reports an unverified one to `handshake` and carries on; we
   * refuse it unless `rejectUnauthorized` is false).
   */
  static readonly clientHandler: SocketHandler<BunSocketData> = {
    open: (socket) => {
      if (socket.data.verify === undefined) BunTransport.#ready(socket, null);
    },
    handshake: (socket, _success, authorizationError) => {
      BunTransport.#ready(socket, socket.data.verify === true ? authorizationError : null);
    },
    data: (socket, chunk) => BunTransport.#on(socket, (t) => t.#receive(plain(chunk))),
    drain: (socket) => BunTransport.#on(socket, (t) => t.#flush()),
    end: (socket) => BunTransport.#on(socket, (t) => t.#receiveEnd()),
    close: (socket, error) => {
      const transport = socket.data.transport;
      if (transport !== null) transport.#receiveClose(error);
      else BunTransport.#ready(socket, error ?? new Error('the connection closed before it was ready'));
    },
    error: (socket, error) => {
      const transport = socket.data.transport;
      if (transport !== null && !transport.#closed) transport.#error ??= error;
    },
    connectError: (socket, error) => BunTransport.#ready(socket, error),
  };

  static #on(socket: BunSocket, event: (transport: BunTransport) => void): void {
    const transport = socket.data.transport;
    if (transport !== null) event(transport);
  }

  static #ready(socket: BunSocket, error: Error | null): void {
    const ready = socket.data.ready;
    if (ready === undefined) return;
    socket.data.ready = undefined;
    if (error !== null) socket.terminate();
    ready(socket, error);
  }
}

/** Bun hands out Buffers; the engine's consumers are promised plain Uint8Arrays (same memory, no copy). */
function plain(chunk: Uint8Array): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Bun TLS options for sansws's ClientTlsOptions. */
export function bunTlsOptions(options: ClientTlsOptions & { readonly servername: string }): {
  serverName?: string;
  ca?: string | Uint8Array | Array<string | Uint8Array>;
  rejectUnauthorized: boolean;
  ALPNProtocols?: Uint8Array;
} {
  const out: ReturnType<typeof bunTlsOptions> = { rejectUnauthorized: options.rejectUnauthorized !== false };
  // RFC 6066 §3: SNI carries host names only, never IP literals.
  if (!isIpLiteral(options.servername)) out.serverName = options.servername;
  if (options.ca !== undefined) {
    out.ca = Array.isArray(options.ca) ? [...options.ca] : options.ca as string | Uint8Array;
  }
  if (options.alpnProtocols !== undefined) {
    // The TLS wire format (RFC 7301 §3.1): each protocol name prefixed with its length.
    const names = options.alpnProtocols.map((name) => new TextEncoder().encode(name));
    const wire = new Uint8Array(names.reduce((sum, name) => sum + 1 + name.length, 0));
    let offset = 0;
    for (const name of names) {
      wire[offset++] = name.length;
      wire.set(name, offset);
      offset += name.length;
    }
    out.ALPNProtocols = wire;
  }
  return out;
}

/** Whether `host` is an IPv4 or IPv6 literal (without brackets). */
export function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
