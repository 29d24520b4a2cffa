/**
 * The {@link Transport} over a Bun socket (`Bun.listen` / `Bun.connect`, plain or TLS).
 *
 * Theory of operation. Bun's sockets have no write buffer of their own: `socket.write` hands what it can
 * to the kernel (or the TLS layer) at once and returns how many bytes that was, possibly fewer than given
 * (or -1 when the socket is closed). So the write buffer is ours: the unwritten remainder of a chunk, and
 * every chunk after it, wait in a queue in order, and Bun's `drain` handler (the socket is writable again)
 * writes from the queue until it is empty or Bun takes less again. `bufferedAmount` is the queue's size and
 * `write` returns whether it is below the high-water mark; `drain` is reported to our handler once the
 * queue falls below it again. `end` waits for the queue to empty before Bun's `end()` sends the FIN.
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

/** A Bun socket as a sansws Transport. */
export class BunTransport implements Transport {
  readonly #socket: BunSocket;
  #handler: TransportHandler | null = null;
  /** Chunks (or EOF / close) that arrived before `start`. */
  #early: Array<Uint8Array | 'end' | 'closed'> = [];
  #highWaterMark = 64 * 1024;
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
    if (this.#queue.length === 0 && chunk.length > 0) {
      const written = this.#socket.write(chunk);
      if (written < 0) return false; // closed under us: `close` follows
      if (written < chunk.length) this.#push(chunk.subarray(written));
    } else if (chunk.length > 0) {
      this.#push(chunk);
    }
    if (this.#queued < this.#highWaterMark) return true;
    this.#needDrain = true;
    return false;
  }

  get bufferedAmount(): number {
    return this.#queued;
  }

  end(): void {
    if (this.#ending || this.#closed) return;
    this.#ending = true;
    if (this.#queue.length === 0) this.#sendEnd();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#queue = [];
    this.#queued = 0;
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
      this.#handler = null;
      this.#closed = true;
      this.#socket.upgradeTLS<BunSocketData>({
        data,
        tls: bunTlsOptions(options),
        socket: BunTransport.clientHandler,
      });
    });
  }

  #push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
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
    if (this.#needDrain && this.#queued < this.#highWaterMark) {
      this.#needDrain = false;
      this.#handler?.drain();
    }
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
    this.#queue = [];
    this.#queued = 0;
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
