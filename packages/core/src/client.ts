/**
 * The client role: builds and sends the handshake request, checks the response, then runs the frame
 * protocol.
 */

import type { ClientCompression } from './compression.ts';
import { Connection, type ConnectionOptions } from './connection.ts';
import { type HeaderField, usageError } from './errors.ts';
import { buildRequest, generateKey, SEC_WEBSOCKET_EXTENSIONS, validateResponse } from './handshake.ts';
import { getHeader, type HttpRequest, type HttpResponse, ResponseParser, serializeRequest } from './http.ts';

/** Options of a client connection. */
export interface ClientConnectionOptions extends ConnectionOptions {
  /** The endpoint: `ws://` or `wss://` (`http://` and `https://` are taken as their WebSocket twins). */
  url: string;
  /** An `Origin` header to send, as browsers do. */
  origin?: string;
  /** Subprotocols to offer, in order of preference. */
  subprotocols?: readonly string[];
  /** Extra request headers (e.g. Authorization). Handshake headers cannot be overridden. */
  headers?: readonly HeaderField[];
  /** Largest body of a refusal response kept for the error. Default 64 KiB. */
  maxResponseBodySize?: number;
  /**
   * A compression extension to offer, such as `clientPerMessageDeflate({ codec })` from
   * `@sansws/core/deflate` (RFC 7692). Off when absent.
   */
  compression?: ClientCompression | undefined;
}

/** Where a WebSocket URL points. */
export interface WebSocketTarget {
  /** True for wss:// (TLS). */
  readonly secure: boolean;
  /** Host name or IP address to connect to (IPv6 without brackets). */
  readonly hostname: string;
  /** TCP port. */
  readonly port: number;
  /** Value of the `Host` header. */
  readonly host: string;
  /** Request target: path and query. */
  readonly path: string;
}

interface UrlLike {
  protocol: string;
  hostname: string;
  port: string;
  host: string;
  pathname: string;
  search: string;
  hash: string;
}
const UrlClass = (globalThis as unknown as { URL: new (url: string) => UrlLike }).URL;

/** Parses a WebSocket URL (RFC 6455 §3). Throws UsageError for anything else. */
export function parseWebSocketUrl(url: string): WebSocketTarget {
  const invalid = (why: string) => usageError(`invalid WebSocket URL ${url}: ${why}`);
  let parsed: UrlLike;
  try {
    parsed = new UrlClass(url);
  } catch {
    throw invalid('not a URL');
  }
  const scheme = parsed.protocol;
  const secure = scheme === 'wss:' || scheme === 'https:';
  if (!secure && scheme !== 'ws:' && scheme !== 'http:') throw invalid('the scheme is not ws: or wss:');
  // RFC 6455 §3: fragment identifiers MUST NOT be used in WebSocket URIs.
  if (parsed.hash !== '' || url.includes('#')) throw invalid('a fragment is not allowed');
  if (parsed.hostname === '') throw invalid('no host');
  const port = parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port);
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { secure, hostname, port, host: parsed.host, path: (parsed.pathname || '/') + parsed.search };
}

/**
 * A client-side connection. The handshake request is in `takeOutput()` right after construction; feed
 * the server's bytes to `receiveData`. The `response` event, then `open` (or `closed`), follow.
 */
export class ClientConnection extends Connection {
  readonly role = 'client' as const;
  /** Where this connection goes. */
  readonly target: WebSocketTarget;
  /** The handshake request sent. */
  readonly request: HttpRequest;
  readonly #key: string;
  readonly #subprotocols: readonly string[];
  /** Dropped once the response is read (the connection then leaves `connecting`, where it is used). */
  #parser: ResponseParser | null;
  readonly #compression: ClientCompression | undefined;
  #response: HttpResponse | null = null;

  constructor(options: ClientConnectionOptions) {
    super(options);
    this.target = parseWebSocketUrl(options.url);
    this.#subprotocols = options.subprotocols ?? [];
    this.#key = generateKey(this.randomBytes(16));
    const compression = this.#compression = options.compression;
    this.request = buildRequest(
      {
        host: this.target.host,
        target: this.target.path,
        subprotocols: this.#subprotocols,
        origin: options.origin,
        headers: options.headers,
        extensionsHeader: compression?.offer,
      },
      this.#key,
    );
    this.#parser = new ResponseParser(
      this.settings.maxHandshakeSize,
      options.maxResponseBodySize ?? 64 * 1024,
    );
    this.write(serializeRequest(this.request));
  }

  /** The handshake response, once received. */
  get response(): HttpResponse | null {
    return this.#response;
  }

  protected receiveHandshake(data: Uint8Array): void {
    this.#handle(this.#parser!.push(data));
  }

  protected handshakeEof(): void {
    this.#handle(this.#parser!.end());
  }

  #handle(result: ReturnType<ResponseParser['push']>): void {
    if (result.kind === 'incomplete') return;
    this.#parser = null;
    if (result.kind === 'error') {
      this.handshakeFailed(result.error, null);
      return;
    }
    const response = result.response;
    this.#response = response;
    this.emit({ type: 'response', response });
    const check = validateResponse(response, {
      key: this.#key,
      subprotocols: this.#subprotocols,
      acceptExtensions: this.#compression?.accept,
    });
    if (!check.ok) {
      this.handshakeFailed(check.error, null);
      return;
    }
    const compression = this.#compression;
    const compressor = compression === undefined || check.extensions == null
      ? null
      : compression.compressor(check.extensions);
    this.opened(
      check.subprotocol,
      compressor === null ? null : getHeader(response.headers, SEC_WEBSOCKET_EXTENSIONS) ?? null,
      compressor,
      result.rest,
    );
  }
}
