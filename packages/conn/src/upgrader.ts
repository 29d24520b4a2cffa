/**
 * The server side: {@link Upgrader} turns a handshake request into a {@link Conn} (gorilla/websocket's
 * `Upgrader`: a configuration value with safe defaults), over a raw transport or a request that an HTTP
 * server already parsed.
 *
 * @module
 */

import {
  acceptRequest,
  type HandshakeError,
  type HeaderField,
  type HttpRequest,
  type Masker,
  rejectResponse,
  RequestHeadParser,
  serializeResponse,
  ServerConnection,
  type ServerConnectionOptions,
  type ServerHandshakeOptions,
  UsageError,
} from '@sansws/core';
import { type ServerCompressionOptions, serverPerMessageDeflate } from '@sansws/core/deflate';
import {
  Conn,
  connOpened,
  type ConnOptions,
  type ConnSettings,
  connSettings,
  connWhenClosed,
  DEFAULT_PING_INTERVAL,
} from './conn.ts';
import { CloseError, ConnError } from './errors.ts';
import type { Timers, Transport } from './transport.ts';
import { abortReason, type AbortSignalLike } from './web.ts';

/** A custom answer to a refused handshake. */
export interface Refusal {
  /** HTTP status, 400–599. */
  readonly status: number;
  /** Response body (short; text is sent as UTF-8). Default: a one-line text. */
  readonly body?: string | Uint8Array;
  /** Extra response headers (e.g. `Content-Type`, `WWW-Authenticate`). */
  readonly headers?: readonly HeaderField[];
}

/** Options of an {@link Upgrader}. Every field has a safe default. */
export interface UpgraderOptions extends ConnOptions {
  /** Time source; adapters provide it. */
  readonly timers: Timers;
  /**
   * Origin policy (RFC 6455 §10.2): return false to refuse with 403. Receives the `Origin` header (absent
   * for non-browser clients). Default: same-origin, as gorilla/websocket — no `Origin`, or one whose host
   * and port equal the `Host` header. Browsers always send `Origin`, so this default blocks cross-site
   * WebSocket hijacking; allow other origins explicitly.
   */
  readonly checkOrigin?: (origin: string | undefined, request: HttpRequest) => boolean;
  /** Subprotocols we speak, in our order of preference: the first one the client also offered wins. */
  readonly subprotocols?: readonly string[];
  /** A custom subprotocol choice (takes precedence over `subprotocols`): one of `offered`, or null. */
  readonly selectSubprotocol?: (offered: readonly string[], request: HttpRequest) => string | null;
  /**
   * permessage-deflate (RFC 7692), through the core's `serverPerMessageDeflate`: a codec (e.g. `zlibCodec` from
   * `@sansws/zlib`) and the negotiation settings. Default `false`: compression costs memory per connection
   * (about 112 KiB with the core's default window) and CPU, and mixing secrets with attacker-chosen text
   * in one compressed stream leaks them (CRIME/BREACH).
   */
  readonly compression?: ServerCompressionOptions | false;
  /**
   * Longest time from the first byte of the connection (or from the call with a parsed request) to the
   * completed handshake, in ms; then the transport is destroyed (slowloris). Default 10 000.
   */
  readonly handshakeTimeout?: number;
  /** Largest handshake request head, in bytes; bigger → 431. Default 8 KiB. */
  readonly maxHandshakeSize?: number;
  /** Extra headers for the 101 response: a list, or a function of the request. */
  readonly headers?: readonly HeaderField[] | ((request: HttpRequest) => readonly HeaderField[]);
  /**
   * Answers a refused handshake (bad origin, version, key…) with its own status, body and headers instead
   * of the default text response; return `undefined` to keep the default. It sees the core's
   * `HandshakeError` (with the status it would have sent). Requests that cannot be parsed (400, 431) always
   * get the default answer.
   */
  readonly onRefuse?: (error: HandshakeError, request: HttpRequest) => Refusal | undefined;
  /**
   * Faster UTF-8 validation of text received and of text written as bytes, if the runtime has one (e.g.
   * node:buffer `isUtf8`); see the core's `ConnectionOptions.validateUtf8`.
   */
  readonly validateUtf8?: (bytes: Uint8Array) => boolean;
  /**
   * Allocates the buffers received messages are assembled in, if the runtime has an unzeroed allocator
   * (e.g. over node:buffer `Buffer.allocUnsafeSlow`); see the core's `ConnectionOptions.allocate`.
   */
  readonly allocate?: (byteLength: number) => Uint8Array;
  /**
   * Takes back a buffer `allocate` gave once nothing uses it, so that an adapter can use the memory again (a
   * `BufferPool`, as the adapters pass with their `allocate`): a text message's once decoded to a string
   * (unless `releaseDecodedText` is false), and a message's the application gave back with `Conn.release`
   * once the transport's writes made before that no longer hold it.
   */
  readonly releaseMessage?: (bytes: Uint8Array) => void;
  /**
   * Whether a text message's buffer goes to `releaseMessage` once decoded to a string. False keeps the
   * bytes with the string instead, so that writing that string back as text sends them without encoding it
   * again (where encoding costs more than a new buffer: the Node and Deno adapters). Default `true`.
   */
  readonly releaseDecodedText?: boolean;
  /**
   * Allocates the buffers outgoing frames are built in, for an adapter whose transport tells it when their
   * bytes were consumed, so that it can use that memory again (a `FrameRing`, as the Bun and Deno
   * adapters pass); see the core's `ConnectionOptions.allocateFrame`.
   */
  readonly allocateFrame?: (byteLength: number) => Uint8Array;
  /**
   * Sends strings of more than 65,536 UTF-16 units, when uncompressed, as fragments of at most that many
   * units, each encoded and copied into a frame of `allocateFrame`, not encoded whole into a fresh buffer
   * (the core's `fragment` send option; the Bun adapter set it until `releaseFrame` took its place: there
   * every such buffer was faulted in again page by page). `releaseFrame`, when given, takes precedence.
   * Default `false`.
   */
  readonly fragmentLongText?: boolean;
  /**
   * Takes back bytes `allocateFrame` gave that will never be written (a `FrameRing`'s `release`, as the Bun
   * and Deno adapters pass). With both, a string of 65,537 to 1,048,576 UTF-16 units sent uncompressed is
   * encoded straight into one frame of `allocateFrame` memory, which the transport gives back once written,
   * instead of into a fresh buffer of its size (and `fragmentLongText` does not apply); the bytes the encoding
   * did not need come back here at once. On Bun, a message handler echoing 1 MiB text took 0.88–0.91× the CPU
   * per message of fragments (`fragmentLongText`) at 1×1, 1×64 and 100×8 (docs/performance-log.md, round 21).
   * `undefined` turns an adapter's default off.
   */
  readonly releaseFrame?: ((bytes: Uint8Array) => void) | undefined;
  /**
   * A faster masking routine for pieces of payload of 8 KiB or more, if the runtime has one (e.g.
   * bufferutil's native `mask` on Node and Bun); see the core's `ConnectionOptions.mask`.
   */
  readonly mask?: Masker | undefined;
}

/** Options of {@link Upgrader.shutdown}. */
export interface ShutdownOptions {
  /** Close code sent to every connection. Default 1001 (going away). */
  readonly code?: number;
  /** Close reason. Default `'server shutting down'`. */
  readonly reason?: string;
  /** How long to wait for closing handshakes before destroying what is left, in ms. Default 5 000. */
  readonly timeout?: number;
}

/** The result of {@link readRequestHead}. */
export interface RequestHead {
  /** The parsed request head. */
  readonly request: HttpRequest;
  /** Bytes that followed the head (a body, or early WebSocket frames). */
  readonly rest: Uint8Array;
}

/** Options of {@link readRequestHead}. */
export interface ReadRequestHeadOptions {
  readonly timers: Timers;
  /** Largest head, in bytes; bigger → 431. Default 8 KiB. */
  readonly maxHandshakeSize?: number;
  /** Destroys the transport when the head takes longer than this, in ms. Default 10 000; 0: no limit. */
  readonly timeout?: number;
  readonly signal?: AbortSignalLike;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/**
 * Server-side handshake policy and connection settings, applied to every connection it upgrades. It also
 * tracks its open connections, for {@link Upgrader.shutdown}.
 */
export class Upgrader {
  /** The options, as given. */
  readonly options: Readonly<UpgraderOptions>;
  readonly #settings: ConnSettings;
  readonly #conns = new Set<Conn>();
  /** Forgets a closed connection: one function for all of them (see #track). */
  readonly #untrack = (conn: Conn): void => {
    this.#conns.delete(conn);
  };

  constructor(options: UpgraderOptions) {
    if (typeof options?.timers?.setTimeout !== 'function') {
      throw new UsageError('INVALID_ARGUMENT', 'an Upgrader needs timers (adapters provide them)');
    }
    this.options = options;
    this.#settings = connSettings(options);
  }

  /** Open connections upgraded by this Upgrader. */
  get connections(): ReadonlySet<Conn> {
    return this.#conns;
  }

  /**
   * Runs the whole handshake over a raw transport: parses the request from the first byte (the core's
   * strict HTTP/1.1 parser), validates it and answers 101, or an error status (and closes). Resolves with
   * the open connection; rejects with the core's `HandshakeError` (carrying the status sent) or a
   * `ConnError('HANDSHAKE_TIMEOUT')`.
   */
  upgradeTransport(transport: Transport, options: { readonly signal?: AbortSignalLike } = {}): Promise<Conn> {
    return this.#start(transport, null, undefined, options.signal);
  }

  /**
   * Completes the handshake of a request an HTTP server already parsed (node:http's `'upgrade'` event, or
   * {@link readRequestHead}); `head` holds the bytes that followed it. Resolves and rejects like
   * {@link Upgrader.upgradeTransport}.
   */
  upgradeParsedRequest(request: HttpRequest, transport: Transport, head?: Uint8Array): Promise<Conn> {
    return this.#start(transport, request, head, undefined);
  }

  /**
   * Graceful shutdown of the connections of this Upgrader: closes each with `code` (1001) and `reason`,
   * waits up to `timeout` for the closing handshakes, then terminates the rest. Stopping new connections is
   * the listener's job.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    const code = options.code ?? 1001;
    const reason = options.reason ?? 'server shutting down';
    const timeout = options.timeout ?? 5_000;
    const conns = [...this.#conns];
    const closing = Promise.all(conns.map((conn) => conn.close(code, reason).catch(() => conn.terminate())));
    let timer: unknown;
    const expired = new Promise<void>((resolve) => {
      timer = this.options.timers.setTimeout(resolve, timeout);
    });
    await Promise.race([closing, expired]);
    this.options.timers.clearTimeout(timer);
    for (const conn of conns) conn.terminate();
  }

  #start(
    transport: Transport,
    request: HttpRequest | null,
    head: Uint8Array | undefined,
    signal: AbortSignalLike | undefined,
  ): Promise<Conn> {
    if (signal?.aborted) {
      transport.destroy();
      return Promise.reject(abortReason(signal));
    }
    const options = this.options;
    const engine = new ServerConnection(this.#engineOptions());
    if (request !== null) engine.receiveRequest(request);
    const conn = new Conn({
      engine,
      transport,
      timers: options.timers,
      settings: this.#settings,
      onRequest: (_conn, received) => this.#answer(engine, received),
      ...(head !== undefined ? { initialData: head } : {}),
      handshakeTimeout: options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
    });
    if (conn.state === 'open' && signal === undefined) {
      // Answered in the constructor (a request handed over): no promise of the opening to wait for.
      this.#track(conn);
      return Promise.resolve(conn);
    }
    const onAbort = signal === undefined ? undefined : (): void => conn.terminate();
    if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
    return connOpened(conn).then(
      () => {
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        this.#track(conn);
        return conn;
      },
      (error: unknown) => {
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) throw abortReason(signal);
        throw error instanceof CloseError
          ? new ConnError('TRANSPORT_CLOSED', 'the transport closed during the handshake', 0, error)
          : error;
      },
    );
  }

  /**
   * Keeps an open connection for `shutdown` until it closes, through the Conn's package-internal close
   * callback: an idle connection holds no promise, reaction or closure for it.
   */
  #track(conn: Conn): void {
    this.#conns.add(conn);
    connWhenClosed(conn, this.#untrack);
  }

  /** The engine options of every connection: one object per Upgrader (each engine keeps a reference). */
  #engineOptions(): ServerConnectionOptions {
    return this.#engineOptionsCache ??= this.#makeEngineOptions();
  }
  #engineOptionsCache: ServerConnectionOptions | undefined;

  #makeEngineOptions(): ServerConnectionOptions {
    const o = this.options;
    const engine: ServerConnectionOptions = {
      streaming: true,
      pingInterval: o.pingInterval ?? DEFAULT_PING_INTERVAL,
      closeTimeout: this.#settings.closeTimeout,
    };
    if (o.pongTimeout !== undefined) engine.pongTimeout = o.pongTimeout;
    if (o.maxMessageSize !== undefined) engine.maxMessageSize = o.maxMessageSize;
    if (o.maxHandshakeSize !== undefined) engine.maxHandshakeSize = o.maxHandshakeSize;
    if (o.validateUtf8 !== undefined) engine.validateUtf8 = o.validateUtf8;
    if (o.allocate !== undefined) engine.allocate = o.allocate;
    if (o.allocateFrame !== undefined) engine.allocateFrame = o.allocateFrame;
    if (o.mask !== undefined) engine.mask = o.mask;
    if (o.checkOrigin !== undefined) engine.checkOrigin = o.checkOrigin;
    if (o.subprotocols !== undefined) engine.subprotocols = o.subprotocols;
    if (o.selectSubprotocol !== undefined) engine.selectSubprotocol = o.selectSubprotocol;
    if (o.compression !== undefined && o.compression !== false) {
      engine.compression = serverPerMessageDeflate(o.compression);
    }
    return engine;
  }

  /** The `request` event: validate, let `onRefuse` answer a refusal, or accept. */
  #answer(engine: ServerConnection, request: HttpRequest): void {
    const o = this.options;
    const accept: ServerHandshakeOptions = {};
    if (o.headers !== undefined) {
      accept.headers = typeof o.headers === 'function' ? o.headers(request) : o.headers;
    }
    if (o.onRefuse !== undefined) {
      // A dry run of the core's checks (pure), so that the hook can answer before anything is written.
      // Compression negotiation is left to accept() below.
      const { checkOrigin, subprotocols, selectSubprotocol } = this.#engineOptions();
      const check = acceptRequest(request, {
        ...(checkOrigin !== undefined ? { checkOrigin } : {}),
        ...(subprotocols !== undefined ? { subprotocols } : {}),
        ...(selectSubprotocol !== undefined ? { selectSubprotocol } : {}),
        ...accept,
      });
      if (!check.ok) {
        const refusal = o.onRefuse(check.error, request);
        if (refusal !== undefined) {
          engine.reject(refusal.status, refusal.body, refusal.headers);
          return;
        }
      }
    }
    engine.accept(accept);
  }
}

/** The core's default limit on a request head (8 KiB). */
const DEFAULT_MAX_HANDSHAKE = 8 * 1024;

/**
 * Reads one HTTP/1.1 request head from a transport with the core's strict parser, for listeners that
 * serve both WebSocket and plain HTTP on one port. An unparsable or oversized head is answered (400, 431)
 * and the transport closed; the promise then rejects with the core's `HandshakeError`. A head slower than
 * `timeout` destroys the transport (`ConnError('HANDSHAKE_TIMEOUT')`). Hand the transport on afterwards
 * (e.g. to {@link Upgrader.upgradeParsedRequest} with `rest`).
 */
export function readRequestHead(transport: Transport, options: ReadRequestHeadOptions): Promise<RequestHead> {
  const timers = options.timers;
  const parser = new RequestHeadParser(options.maxHandshakeSize ?? DEFAULT_MAX_HANDSHAKE);
  return new Promise<RequestHead>((resolve, reject) => {
    let done = false;
    let timer: unknown;
    const signal = options.signal;
    const finish = (error: unknown, head?: RequestHead): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (head !== undefined) {
        transport.pause();
        resolve(head);
      } else reject(error);
    };
    const onAbort = (): void => {
      transport.destroy();
      finish(abortReason(signal!));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = options.timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    if (timeout > 0) {
      timer = timers.setTimeout(() => {
        timer = undefined;
        transport.destroy();
        finish(new ConnError('HANDSHAKE_TIMEOUT', 'the request head was not received in time'));
      }, timeout);
    }
    // The core's incremental parser stops at the end of the head and hands back what followed it.
    const feed = (chunk: Uint8Array): void => {
      const result = parser.push(chunk);
      if (result.kind === 'done') {
        finish(undefined, { request: result.request, rest: result.rest.slice() });
      } else if (result.kind === 'error') {
        const status = result.error.status;
        transport.write(serializeResponse(rejectResponse(status, result.error.message)));
        transport.end();
        finish(result.error);
      }
    };
    transport.start({
      data: (chunk) => {
        if (!done) feed(chunk);
      },
      end: () => finish(new ConnError('TRANSPORT_CLOSED', 'the transport closed before a request arrived')),
      drain: () => {},
      closed: () =>
        finish(new ConnError('TRANSPORT_CLOSED', 'the transport closed before a request arrived')),
    }, { writeHighWaterMark: 64 * 1024 });
  });
}
