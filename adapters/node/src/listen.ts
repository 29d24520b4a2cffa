/**
 * A standalone WebSocket server on node:net or node:tls, without node:http: the core parses each request
 * head; WebSocket handshakes go to an {@link Upgrader}, anything else to an optional fetch-style handler
 * (one request per connection), so that a page and its socket are served from one port.
 *
 * @module
 */

import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { type Conn, readRequestHead, type ShutdownOptions, type Transport } from '@sansws/conn';
import { getHeaderValues, type HttpRequest } from '@sansws/core';
import { NodeTransport } from './transport.ts';
import { Upgrader } from './upgrader.ts';

/** Options of {@link listen}. */
export interface ListenOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Serve TLS (`wss://`, `https://`) with these node:tls options (`key`, `cert`, …). */
  readonly tls?: TlsOptions;
  /** Handshake policy and connection settings. Default: `new Upgrader()`. */
  readonly upgrader?: Upgrader;
  /** Called with each open connection and its request. A rejection closes the connection with 1011. */
  readonly handler: (conn: Conn, request: HttpRequest) => void | Promise<void>;
  /**
   * Answers requests that are not WebSocket handshakes (Request in, Response out; one request per
   * connection). Without it, a GET gets 426 Upgrade Required and anything else 404.
   */
  readonly fetch?: (request: Request) => Response | Promise<Response>;
  /** Largest request body passed to `fetch`, in bytes; bigger → 413. Default 1 MiB. */
  readonly maxBodySize?: number;
  /** Sees failures that have nobody else to report to (refused handshakes, handler errors). */
  readonly onError?: (error: unknown) => void;
}

/** A running {@link listen} server. */
export interface Listener {
  /** The bound port. */
  readonly port: number;
  /** The bound address. */
  readonly host: string;
  /** `ws://host:port/` or `wss://host:port/`. */
  readonly url: string;
  /** The node:net or node:tls server. */
  readonly server: Server;
  /**
   * Graceful shutdown: stops accepting, closes every WebSocket with `code` (1001) and `reason`, waits up to
   * `timeout` (5 s) for the closing handshakes, then destroys every connection left.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/** Starts a server; resolves once it is listening. */
export async function listen(options: ListenOptions): Promise<Listener> {
  const upgrader = options.upgrader ?? new Upgrader();
  const onError = options.onError ?? (() => {});
  const sockets = new Set<Socket>();
  const serve = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // reported through the transport; never an uncaught 'error'
    handleSocket(socket, upgrader, options).catch(onError);
  };
  const server: Server = options.tls === undefined
    ? createNetServer(serve)
    : createTlsServer(options.tls, serve);
  if (options.tls !== undefined) server.on('tlsClientError', (error) => onError(error));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    port: address.port,
    host: address.address,
    url: `${options.tls === undefined ? 'ws' : 'wss'}://${host}:${address.port}/`,
    server,
    async shutdown(shutdownOptions: ShutdownOptions = {}): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await upgrader.shutdown(shutdownOptions);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function handleSocket(socket: Socket, upgrader: Upgrader, options: ListenOptions): Promise<void> {
  const transport = new NodeTransport(socket);
  const settings = upgrader.options;
  const { request, rest } = await readRequestHead(transport, {
    timers: settings.timers,
    ...(settings.maxHandshakeSize !== undefined ? { maxHandshakeSize: settings.maxHandshakeSize } : {}),
    timeout: settings.handshakeTimeout ?? 10_000,
  });
  const isWebSocket = getHeaderValues(request.headers, 'upgrade')
    .some((value) => value.split(',').some((token) => token.trim().toLowerCase() === 'websocket'));
  if (!isWebSocket && options.fetch !== undefined) {
    await serveFetch(transport, request, rest, options, socket);
    return;
  }
  if (!isWebSocket && request.method !== 'GET') {
    respond(
      transport,
      404,
      [['Content-Type', 'text/plain; charset=utf-8']],
      new TextEncoder().encode('Not Found\n'),
    );
    return;
  }
  // A GET without Upgrade is answered 426 by the core, as are all other invalid handshakes.
  const conn = await upgrader.upgradeParsedRequest(request, transport, rest);
  try {
    await options.handler(conn, request);
  } catch (error) {
    conn.close(1011, 'internal error').catch(() => conn.terminate());
    throw error;
  }
}

/** One HTTP request to the fetch-style handler, then close. */
async function serveFetch(
  transport: Transport,
  head: HttpRequest,
  rest: Uint8Array,
  options: ListenOptions,
  socket: Socket,
): Promise<void> {
  const maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY;
  const text = (status: number, message: string): void =>
    respond(
      transport,
      status,
      [['Content-Type', 'text/plain; charset=utf-8']],
      new TextEncoder().encode(message),
    );
  if (getHeaderValues(head.headers, 'transfer-encoding').length > 0) {
    // One request per connection and no chunked bodies: ask for a length.
    text(411, 'Length Required\n');
    return;
  }
  const lengths = getHeaderValues(head.headers, 'content-length');
  const length = lengths.length === 0 ? 0 : Number(lengths[0]);
  if (lengths.length > 1 || !/^\d+$/.test(lengths[0] ?? '0') || !Number.isSafeInteger(length)) {
    text(400, 'Bad Request\n');
    return;
  }
  if (length > maxBody) {
    text(413, 'Content Too Large\n');
    return;
  }
  const body = await readBody(transport, rest, length);
  if (body === null) return;
  const hostHeader = getHeaderValues(head.headers, 'host')[0] ?? 'localhost';
  const scheme = options.tls === undefined ? 'http' : 'https';
  let request: Request;
  try {
    const headers = new Headers();
    for (const [name, value] of head.headers) headers.append(name, value);
    const hasBody = head.method !== 'GET' && head.method !== 'HEAD';
    request = new Request(`${scheme}://${hostHeader}${head.target}`, {
      method: head.method,
      headers,
      ...(hasBody ? { body: body } : {}),
    });
  } catch {
    text(400, 'Bad Request\n');
    return;
  }
  let response: Response;
  try {
    response = await options.fetch!(request);
  } catch (error) {
    text(500, 'Internal Server Error\n');
    throw error;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const fields: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) {
      fields.push([name, value]);
    }
  });
  const noBody = head.method === 'HEAD' || response.status === 204 || response.status === 304;
  respond(
    transport,
    response.status,
    fields,
    noBody ? new Uint8Array(0) : bytes,
    bytes.length,
    response.statusText,
  );
  void socket;
}

/** Reads `length` body bytes (the first ones in `rest`); null if the peer went away. */
function readBody(transport: Transport, rest: Uint8Array, length: number): Promise<Uint8Array | null> {
  if (rest.length >= length) return Promise.resolve(rest.subarray(0, length));
  return new Promise((resolve) => {
    const body = new Uint8Array(length);
    body.set(rest);
    let filled = rest.length;
    transport.start({
      data: (chunk) => {
        if (filled >= length) return;
        const take = Math.min(chunk.length, length - filled);
        body.set(chunk.subarray(0, take), filled);
        filled += take;
        if (filled === length) resolve(body);
      },
      end: () => resolve(null),
      drain: () => {},
      closed: () => resolve(null),
    }, { writeHighWaterMark: 64 * 1024 });
    transport.resume();
  });
}

function respond(
  transport: Transport,
  status: number,
  headers: ReadonlyArray<readonly [string, string]>,
  body: Uint8Array,
  contentLength = body.length,
  reason = '',
): void {
  let head = `HTTP/1.1 ${status} ${reason || REASONS[status] || ''}`.trimEnd() + '\r\n';
  for (const [name, value] of headers) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${contentLength}\r\nConnection: close\r\n\r\n`;
  transport.start({ data: () => {}, end: () => {}, drain: () => {}, closed: () => {} }, {
    writeHighWaterMark: 64 * 1024,
  });
  transport.resume();
  transport.write(new TextEncoder().encode(head));
  if (body.length > 0) transport.write(body);
  transport.end();
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  411: 'Length Required',
  413: 'Content Too Large',
  500: 'Internal Server Error',
};
