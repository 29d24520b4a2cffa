/**
 * The client side: {@link dial} opens a connection over a transport an adapter connects, optionally
 * through an HTTP CONNECT proxy, and resolves with the connection and the handshake response
 * (gorilla/websocket's `Dialer.Dial`).
 *
 * @module
 */

import {
  ClientConnection,
  type ClientConnectionOptions,
  type HeaderField,
  type HttpResponse,
  type Masker,
  parseWebSocketUrl,
  UsageError,
} from '@sansws/core';
import { type ClientCompressionOptions, clientPerMessageDeflate } from '@sansws/core/deflate';
import { Conn, connOpened, type ConnOptions, connSettings, DEFAULT_PING_INTERVAL } from './conn.ts';
import { CloseError, ConnError } from './errors.ts';
import type { ClientTlsOptions, Timers, Transport } from './transport.ts';
import { abortReason, type AbortSignalLike, base64, utf8Decoder, utf8Encoder } from './web.ts';

/** Where an adapter should connect. */
export interface ConnectTarget {
  /** Host name or IP address (IPv6 without brackets). */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
  /** TLS settings for a TLS connection, or null for plain TCP. */
  readonly tls: (ClientTlsOptions & { readonly servername: string }) | null;
  /** Aborts the connection attempt. */
  readonly signal: AbortSignalLike;
}

/** Opens a transport; adapters provide it. */
export type Connect = (target: ConnectTarget) => Promise<Transport>;

/** Options of {@link dial}. */
export interface DialOptions extends ConnOptions {
  /** Opens TCP (or TLS) connections; adapters provide it. */
  readonly connect: Connect;
  /** Time source; adapters provide it. */
  readonly timers: Timers;
  /** Extra request headers (e.g. `Authorization`); the handshake's own headers cannot be overridden. */
  readonly headers?: readonly HeaderField[];
  /** Subprotocols to offer, in order of preference. */
  readonly subprotocols?: readonly string[];
  /** An `Origin` header, as browsers send. Default: none. */
  readonly origin?: string;
  /**
   * permessage-deflate (RFC 7692), through the core's `clientPerMessageDeflate`: a codec (e.g. `zlibCodec` from
   * `@sansws/zlib`) and what to offer. Default `false`.
   */
  readonly compression?: ClientCompressionOptions | false;
  /** Longest time for the whole dial: connect, proxy tunnel, TLS and handshake, in ms. Default 10 000. */
  readonly handshakeTimeout?: number;
  /** Aborts the dial (not the connection once open). */
  readonly signal?: AbortSignalLike;
  /** TLS settings for `wss://` (custom CA, `rejectUnauthorized`, SNI `servername`). */
  readonly tls?: ClientTlsOptions;
  /**
   * An HTTP CONNECT proxy URL, `http://` or `https://`, with optional `user:password@` for basic auth.
   * `null` or absent: connect directly. (Reading `HTTPS_PROXY`/`NO_PROXY` is the adapter's job.)
   */
  readonly proxy?: string | null;
  /** TLS settings for an `https://` proxy. */
  readonly proxyTls?: ClientTlsOptions;
  /** Largest handshake response head, in bytes. Default 8 KiB. */
  readonly maxHandshakeSize?: number;
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
   * Sends long strings as fragments encoded into frames of `allocateFrame`; see
   * `UpgraderOptions.fragmentLongText`.
   */
  readonly fragmentLongText?: boolean;
  /**
   * Takes back bytes `allocateFrame` gave that will never be written; see `UpgraderOptions.releaseFrame`.
   */
  readonly releaseFrame?: ((bytes: Uint8Array) => void) | undefined;
  /**
   * A faster masking routine for pieces of payload of 8 KiB or more, if the runtime has one (e.g.
   * bufferutil's native `mask` on Node and Bun); see the core's `ConnectionOptions.mask`.
   */
  readonly mask?: Masker | undefined;
  /** Largest body of a refusal kept for the error. Default 64 KiB. */
  readonly maxResponseBodySize?: number;
  /** Source of random bytes (masking keys, the handshake key). Default `crypto.getRandomValues`. */
  readonly randomBytes?: (buffer: Uint8Array) => void;
}

/** What {@link dial} resolves with. */
export interface DialResult {
  /** The open connection. */
  readonly conn: Conn;
  /** The server's 101 response (headers included). */
  readonly response: HttpResponse;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const MAX_PROXY_RESPONSE = 8 * 1024;

/**
 * Opens a WebSocket connection to `url` (`ws://` or `wss://`). Rejects with the core's `HandshakeError`
 * when the server refuses (its `status`, `headers` and `body` explain why), `ConnError('PROXY_FAILED')`
 * when a proxy refuses the tunnel, `ConnError('HANDSHAKE_TIMEOUT')`, the abort reason, or the adapter's
 * connection error.
 */
export async function dial(url: string, options: DialOptions): Promise<DialResult> {
  const target = parseWebSocketUrl(url);
  const timers = options.timers;
  const settings = connSettings(options);
  const engineOptions: ClientConnectionOptions = {
    url,
    streaming: true,
    pingInterval: options.pingInterval ?? DEFAULT_PING_INTERVAL,
    closeTimeout: settings.closeTimeout,
  };
  if (options.pongTimeout !== undefined) engineOptions.pongTimeout = options.pongTimeout;
  if (options.maxMessageSize !== undefined) engineOptions.maxMessageSize = options.maxMessageSize;
  if (options.maxHandshakeSize !== undefined) engineOptions.maxHandshakeSize = options.maxHandshakeSize;
  if (options.maxResponseBodySize !== undefined) {
    engineOptions.maxResponseBodySize = options.maxResponseBodySize;
  }
  if (options.headers !== undefined) engineOptions.headers = options.headers;
  if (options.subprotocols !== undefined) engineOptions.subprotocols = options.subprotocols;
  if (options.origin !== undefined) engineOptions.origin = options.origin;
  if (options.randomBytes !== undefined) engineOptions.randomBytes = options.randomBytes;
  if (options.validateUtf8 !== undefined) engineOptions.validateUtf8 = options.validateUtf8;
  if (options.allocate !== undefined) engineOptions.allocate = options.allocate;
  if (options.allocateFrame !== undefined) engineOptions.allocateFrame = options.allocateFrame;
  if (options.mask !== undefined) engineOptions.mask = options.mask;
  if (options.compression !== undefined && options.compression !== false) {
    engineOptions.compression = clientPerMessageDeflate(options.compression);
  }
  // Built first: it validates the URL, headers and subprotocols before any connection is made.
  const engine = new ClientConnection(engineOptions);

  // One controller for the whole dial: the caller's signal and the handshake timeout both abort it.
  const abort = new DialAbort(options.signal);
  const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  let timer: unknown;
  if (timeout > 0) {
    timer = timers.setTimeout(() => {
      abort.fire(new ConnError('HANDSHAKE_TIMEOUT', `the WebSocket handshake with ${target.host} timed out`));
    }, timeout);
  }
  let transport: Transport | undefined;
  try {
    abort.check();
    const tls = target.secure
      ? { ...options.tls, servername: options.tls?.servername ?? target.hostname }
      : null;
    let initialData: Uint8Array | undefined;
    if (options.proxy !== undefined && options.proxy !== null) {
      const proxy = parseProxy(options.proxy);
      transport = await abort.race(
        options.connect({
          hostname: proxy.hostname,
          port: proxy.port,
          tls: proxy.secure
            ? { ...options.proxyTls, servername: options.proxyTls?.servername ?? proxy.hostname }
            : null,
          signal: abort,
        }),
        (late) => late.destroy(),
      );
      initialData = await abort.race(
        tunnel(transport, target.hostname, target.port, proxy.authorization),
        () => {},
      );
      if (tls !== null) {
        if (initialData.length > 0) {
          throw new ConnError('PROXY_FAILED', 'the proxy sent data before the TLS handshake', 200);
        }
        if (transport.startTls === undefined) {
          throw new UsageError('INVALID_ARGUMENT', 'this adapter cannot start TLS through a proxy');
        }
        transport = await abort.race(transport.startTls(tls), (late) => late.destroy());
      }
    } else {
      transport = await abort.race(
        options.connect({ hostname: target.hostname, port: target.port, tls, signal: abort }),
        (late) => late.destroy(),
      );
    }
    abort.check();
    const conn = new Conn({
      engine,
      transport,
      timers,
      settings,
      ...(initialData !== undefined ? { initialData } : {}),
    });
    const onAbort = (): void => conn.terminate();
    abort.onFire(onAbort);
    try {
      await connOpened(conn);
    } catch (error) {
      abort.check();
      throw error instanceof CloseError
        ? new ConnError('TRANSPORT_CLOSED', 'the transport closed during the handshake', 0, error)
        : error;
    }
    abort.onFire(null);
    return { conn, response: conn.response! };
  } catch (error) {
    transport?.destroy();
    throw error;
  } finally {
    if (timer !== undefined) timers.clearTimeout(timer);
    abort.dispose();
  }
}

/** A minimal AbortSignal (the Web class may not exist under `lib: es2022`): the caller's, or a timeout. */
class DialAbort implements AbortSignalLike {
  aborted = false;
  reason: unknown = undefined;
  #listeners = new Set<() => void>();
  #onFire: (() => void) | null = null;
  readonly #outer: AbortSignalLike | undefined;
  readonly #onOuter = (): void => this.fire(abortReason(this.#outer!));

  constructor(outer: AbortSignalLike | undefined) {
    this.#outer = outer;
    if (outer?.aborted) this.fire(abortReason(outer));
    else outer?.addEventListener('abort', this.#onOuter, { once: true });
  }
  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.add(listener);
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }
  onFire(callback: (() => void) | null): void {
    this.#onFire = callback;
  }
  fire(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const listener of [...this.#listeners]) listener();
    this.#onFire?.();
  }
  check(): void {
    if (this.aborted) throw this.reason;
  }
  /** Rejects as soon as the dial is aborted; a value that arrives later is cleaned up with `late`. */
  race<T>(promise: Promise<T>, late: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const listener = (): void => reject(this.reason);
      if (this.aborted) listener();
      else this.#listeners.add(listener);
      promise.then(
        (value) => {
          this.#listeners.delete(listener);
          if (this.aborted) late(value);
          resolve(value);
        },
        (error: unknown) => {
          this.#listeners.delete(listener);
          reject(error);
        },
      );
    });
  }
  dispose(): void {
    this.#outer?.removeEventListener('abort', this.#onOuter);
    this.#listeners.clear();
    this.#onFire = null;
  }
}

interface ProxyTarget {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly authorization: string | null;
}

interface UrlLike {
  protocol: string;
  hostname: string;
  port: string;
  username: string;
  password: string;
}
const UrlClass = (globalThis as unknown as { URL: new (url: string) => UrlLike }).URL;

/** Parses an `http://` or `https://` proxy URL, with optional basic-auth credentials. */
function parseProxy(proxy: string): ProxyTarget {
  let url: UrlLike;
  try {
    url = new UrlClass(proxy.includes('://') ? proxy : `http://${proxy}`);
  } catch {
    throw new UsageError('INVALID_ARGUMENT', `not a proxy URL: ${proxy}`);
  }
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') {
    throw new UsageError('INVALID_ARGUMENT', `a proxy URL needs http: or https:, got ${url.protocol}`);
  }
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  let authorization: string | null = null;
  if (url.username !== '' || url.password !== '') {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    authorization = `Basic ${base64(utf8Encoder.encode(credentials))}`;
  }
  return { secure, hostname, port, authorization };
}

/**
 * Opens an HTTP CONNECT tunnel (RFC 9110 §9.3.6) to `host:port` through a connected proxy transport and
 * resolves with any bytes that came after the proxy's 2xx response head.
 */
function tunnel(
  transport: Transport,
  hostname: string,
  port: number,
  authorization: string | null,
): Promise<Uint8Array> {
  const authority = hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (authorization !== null) head += `Proxy-Authorization: ${authorization}\r\n`;
  head += '\r\n';
  return new Promise<Uint8Array>((resolve, reject) => {
    let received = new Uint8Array(0);
    let done = false;
    const fail = (error: ConnError): void => {
      if (done) return;
      done = true;
      transport.destroy();
      reject(error);
    };
    transport.start({
      data: (chunk) => {
        if (done) return;
        const joined = new Uint8Array(received.length + chunk.length);
        joined.set(received);
        joined.set(chunk, received.length);
        received = joined;
        const end = indexOfHeadEnd(received);
        if (end < 0) {
          if (received.length > MAX_PROXY_RESPONSE) {
            fail(new ConnError('PROXY_FAILED', 'proxy response too large'));
          }
          return;
        }
        const text = utf8Decoder.decode(received.subarray(0, end));
        const status = /^HTTP\/1\.[01] ([0-9]{3})(?: |$)/.exec(text);
        if (status === null) {
          fail(new ConnError('PROXY_FAILED', 'the proxy sent an invalid response'));
          return;
        }
        const code = Number(status[1]);
        if (code < 200 || code > 299) {
          fail(new ConnError('PROXY_FAILED', `the proxy refused the tunnel with status ${code}`, code));
          return;
        }
        done = true;
        transport.pause();
        resolve(received.slice(end));
      },
      end: () => fail(new ConnError('PROXY_FAILED', 'the proxy closed the connection')),
      drain: () => {},
      closed: () => fail(new ConnError('PROXY_FAILED', 'the proxy closed the connection')),
    }, { writeHighWaterMark: 64 * 1024 });
    transport.write(utf8Encoder.encode(head));
  });
}

/** The offset just past the first CRLF CRLF, or -1. */
function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1;
  }
  return -1;
}

/**
 * The proxy for `url` per the environment conventions of curl and most HTTP clients: `https_proxy` /
 * `HTTPS_PROXY` (falling back to the http ones) for `wss://`, `http_proxy` / `HTTP_PROXY` for `ws://`; `null`
 * when none is set or `no_proxy` / `NO_PROXY` lists the host (`*`, a host, a `.domain` or `domain` suffix,
 * optionally with `:port`). Adapters pass their runtime's environment.
 */
export function proxyFromEnv(url: string, env: Readonly<Record<string, string | undefined>>): string | null {
  const target = parseWebSocketUrl(url);
  const pick = (...names: string[]): string | undefined =>
    names.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const proxy = target.secure
    ? pick('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY')
    : pick('http_proxy', 'HTTP_PROXY');
  if (proxy === undefined) return null;
  const host = target.hostname.toLowerCase();
  for (const raw of (pick('no_proxy', 'NO_PROXY') ?? '').split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return null;
    let port: number | undefined;
    const withPort = /^(.*):(\d+)$/.exec(entry);
    if (
      withPort !== null && !entry.endsWith(']') && (withPort[1]!.includes(']') || !withPort[1]!.includes(':'))
    ) {
      entry = withPort[1]!;
      port = Number(withPort[2]);
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (port !== undefined && port !== target.port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return null;
  }
  return proxy;
}
