/**
 * What a runtime adapter implements so that `Conn` can run over its sockets: a byte {@link Transport} with
 * backpressure both ways, and {@link Timers}. `@sansws/conn` touches no socket, timer or clock of its own;
 * everything runtime-specific comes in through these two interfaces.
 *
 * @module
 */

/** An IP endpoint. */
export interface NetAddress {
  /** IP address (IPv6 without brackets). */
  readonly address: string;
  /** TCP port. */
  readonly port: number;
  /** `'IPv4'` or `'IPv6'`, when known. */
  readonly family?: string;
}

/** What a transport reports to its user. Every callback is invoked from the runtime's event loop. */
export interface TransportHandler {
  /** Bytes arrived. The receiver takes the buffer: the transport must not reuse or modify it. */
  data(chunk: Uint8Array): void;
  /** The peer ended its side (EOF). */
  end(): void;
  /**
   * After `write` returned false: the buffered bytes fell below the write high-water mark again. Called
   * once per false return at most.
   */
  drain(): void;
  /** The transport is fully closed (after `end` from both sides, `destroy`, or an error). Called once. */
  closed(error?: unknown): void;
}

/** Client TLS settings, as an adapter understands them (`ca`, for instance, is runtime-specific). */
export interface ClientTlsOptions {
  /** SNI server name and the name the certificate is checked against. Default: the URL's host name. */
  readonly servername?: string;
  /** Trusted certificate authorities (PEM), replacing the runtime's default set. */
  readonly ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Set false to accept any certificate (tests only). Default true. */
  readonly rejectUnauthorized?: boolean;
  /** ALPN protocols to offer. Default: none. */
  readonly alpnProtocols?: readonly string[];
}

/**
 * A bidirectional byte stream, implemented by an adapter over a runtime's socket.
 *
 * Write backpressure: `write` always accepts the bytes (the transport buffers them) and returns whether its
 * buffer is still below the write high-water mark given to `start`; after a `false`, it calls
 * `handler.drain()` once the buffer falls below the mark. Read backpressure: after `pause()` the transport
 * stops reading from the socket (a few chunks already read may still arrive) until `resume()`.
 */
export interface Transport {
  /**
   * Starts delivering events to `handler`. May be called again to hand the transport to a new handler
   * (a proxy tunnel, then the WebSocket): later events go to the new one only.
   */
  start(handler: TransportHandler, options: { readonly writeHighWaterMark: number }): void;
  /** Queues bytes for writing. Returns whether the buffered bytes are still below the high-water mark. */
  write(chunk: Uint8Array): boolean;
  /** Bytes accepted by `write` but not yet handed to the operating system. */
  readonly bufferedAmount: number;
  /**
   * Calls `callback` once the transport holds none of the chunks passed to `write` before this call: their
   * bytes were handed to the operating system or copied, or dropped because the transport closed. It may be
   * called at once, from inside this call. Optional: `Conn.release` gives memory back only through it.
   */
  afterWrites?(callback: () => void): void;
  /** Half-closes: flushes what was written, then sends EOF (TCP FIN). */
  end(): void;
  /** Closes at once, discarding buffered bytes. `handler.closed` follows. */
  destroy(): void;
  /** Stops reading from the socket (read backpressure). */
  pause(): void;
  /** Reads again after `pause()`. */
  resume(): void;
  /** The local endpoint, when the transport is a network socket. */
  readonly localAddress: NetAddress | null;
  /** The remote endpoint, when the transport is a network socket. */
  readonly remoteAddress: NetAddress | null;
  /** The runtime's own socket object, as an escape hatch (e.g. a node:net `Socket`). */
  readonly raw: unknown;
  /**
   * Client side, for `wss://` through an HTTP CONNECT proxy: starts TLS over this (tunnelled) transport and
   * returns the encrypted transport. No handler may be started on this transport afterwards.
   */
  startTls?(options: ClientTlsOptions & { readonly servername: string }): Promise<Transport>;
}

/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * Time, injected by the adapter (a virtual clock in tests). `now` is any monotonic millisecond clock,
 * typically `performance.now()`.
 */
export interface Timers {
  /** The current time in milliseconds, monotonic. */
  now(): number;
  /** Calls `callback` once, after `ms` milliseconds. Timers should not keep a process alive on their own. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for one that already fired or was cleared. */
  clearTimeout(handle: TimerHandle): void;
}
