/**
 * What every standalone listener does with one accepted connection, whatever the runtime: read the request
 * head with the core's strict parser, hand WebSocket handshakes to an {@link Upgrader} and the connection to
 * the application's handler, and answer anything else with an optional fetch-style handler (Request in,
 * Response out; one request per connection). Adapters only accept sockets and wrap them as transports
 * (`@sansws/bun` and `@sansws/deno` use it; `@sansws/node` has the same logic in its own `listen`), so
 * that the listeners behave identically by construction.
 *
 * The Web `Request`, `Response` and `Headers` classes come from the runtime's globals (Node ≥ 18, Bun,
 * Deno); they are typed structurally here, so that this package compiles without DOM or runtime types.
 *
 * @module
 */

import { getHeaderValues, type HeaderField, type HttpRequest } from '@sansws/core';
import type { Conn } from './conn.ts';
import { ConnError } from './errors.ts';
import type { TimerHandle, Timers, Transport } from './transport.ts';
import { readRequestHead, type Upgrader } from './upgrader.ts';
import { utf8Encoder } from './web.ts';

/** The part of a Web `Response` a listener reads. Any real `Response` fits. */
export interface FetchResponseLike {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { forEach(callback: (value: string, name: string) => void): void };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Options of {@link serveTransport}. */
export interface ServeTransportOptions {
  /** Handshake policy and connection settings. */
  readonly upgrader: Upgrader;
  /** Called with each open connection and its request. A rejection closes the connection with 1011. */
  readonly handler: (conn: Conn, request: HttpRequest) => void | Promise<void>;
  /**
   * Answers requests that are not WebSocket handshakes with a Web `Request` (built from the runtime's
   * global class) and returns a Web `Response`. Without it, a GET gets 426 Upgrade Required and anything
   * else 404. (Declared as a method so that a handler typed with the runtime's `Request` fits.)
   */
  fetch?(request: never): FetchResponseLike | Promise<FetchResponseLike>;
  /** Largest request body passed to `fetch`, in bytes; bigger → 413. Default 1 MiB. */
  readonly maxBodySize?: number;
  /** Whether the transport is TLS: the scheme of the URL handed to `fetch`. */
  readonly secure: boolean;
  /**
   * Sees a WebSocket handler's failure (the connection is closed with 1011 first). With it, the promise of
   * {@link serveTransport} resolves once the connection is handed to the handler instead of when the
   * handler returns, so that a long-lived connection holds no promise chain back to the listener (an idle
   * connection's memory); without it, the handler's failure rejects that promise.
   */
  readonly onHandlerError?: (error: unknown) => void;
  /**
   * Called with the transport once it carries an open WebSocket connection, before the handler runs. From
   * then on the Upgrader keeps the connection for its `shutdown`, so a listener that tracks its transports
   * for its own shutdown can let go of this one (an idle connection's memory).
   */
  readonly onUpgraded?: (transport: Transport) => void;
}

const DEFAULT_MAX_BODY = 1024 * 1024;
const HANDSHAKE_TIMEOUT = 10_000;

interface WebGlobals {
  Headers: new () => { append(name: string, value: string): void };
  Request: new (
    url: string,
    init: { method: string; headers: unknown; body?: Uint8Array },
  ) => unknown;
}

/**
 * Serves one accepted connection: a WebSocket handshake goes to `options.upgrader` and then
 * `options.handler`; any other request to `options.fetch` (or 426 / 404). Resolves when the handler
 * returned (for WebSockets) or the HTTP answer was written; rejects with what went wrong (a refused
 * handshake's `HandshakeError`, a timeout, a handler's error), for the listener's `onError`. The transport
 * is closed on every failure path.
 */
export async function serveTransport(transport: Transport, options: ServeTransportOptions): Promise<void> {
  const upgrader = options.upgrader;
  const settings = upgrader.options;
  const timers = settings.timers;
  let head: { request: HttpRequest; rest: Uint8Array };
  try {
    head = await readRequestHead(transport, {
      timers,
      ...(settings.maxHandshakeSize !== undefined ? { maxHandshakeSize: settings.maxHandshakeSize } : {}),
      timeout: settings.handshakeTimeout ?? HANDSHAKE_TIMEOUT,
    });
  } catch (error) {
    // An answered refusal (400, 431) was written and ended: the peer gets closeTimeout to go away.
    if (error instanceof ConnError) transport.destroy();
    else closeAfter(transport, timers, settings.closeTimeout ?? HANDSHAKE_TIMEOUT);
    throw error;
  }
  const { request, rest } = head;
  // Only a GET without fetch needs no look: the handshake checks it (a read of `request.headers` here would
  // make the handshake's own read build the fields a second time).
  if (options.fetch !== undefined || request.method !== 'GET') {
    const isWebSocket = getHeaderValues(request.headers, 'upgrade')
      .some((value) => value.split(',').some((token) => token.trim().toLowerCase() === 'websocket'));
    if (!isWebSocket) {
      if (options.fetch !== undefined) await serveFetch(transport, request, rest, options);
      else respond(transport, timers, 404, TEXT, utf8Encoder.encode('Not Found\n'));
      return;
    }
  }
  // A GET without Upgrade is answered 426 by the core, as are all other invalid handshakes.
  // A refusal was answered and the transport ended by the Conn, which also bounds the wait for the peer.
  const conn = await upgrader.upgradeParsedRequest(request, transport, rest);
  options.onUpgraded?.(transport);
  const report = options.onHandlerError;
  if (report !== undefined) {
    runHandler(options.handler, conn, request, report);
    return;
  }
  // Returned rather than awaited: this (large) frame ends here instead of living as long as the connection.
  return runHandler(options.handler, conn, request);
}

/**
 * Runs the application's handler; its failure closes the connection with 1011 and goes to `report`, or
 * rejects the returned promise.
 */
function runHandler(
  handler: ServeTransportOptions['handler'],
  conn: Conn,
  request: HttpRequest,
  report?: (error: unknown) => void,
): Promise<void> {
  // A bound shared function rather than a closure: it and its bound arguments are smaller than a closure
  // and its context, and an idle connection keeps this watch on its handler for as long as it is open.
  const fail = handlerFailed.bind(undefined, conn, report);
  try {
    return Promise.resolve(handler(conn, request)).catch(fail);
  } catch (error) {
    return Promise.reject(error).catch(fail);
  }
}

/** A handler failed: close its connection with 1011, then report the error (or rethrow it). */
function handlerFailed(conn: Conn, report: ((error: unknown) => void) | undefined, error: unknown): void {
  conn.close(1011, 'internal error').catch(() => conn.terminate());
  if (report === undefined) throw error;
  report(error);
}

const TEXT: readonly HeaderField[] = [['Content-Type', 'text/plain; charset=utf-8']];

/** One HTTP request to the fetch-style handler, then close. */
async function serveFetch(
  transport: Transport,
  head: HttpRequest,
  rest: Uint8Array,
  options: ServeTransportOptions,
): Promise<void> {
  const timers = options.upgrader.options.timers;
  const maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY;
  const text = (status: number, message: string): void =>
    respond(transport, timers, status, TEXT, utf8Encoder.encode(message));
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
  const body = await readBody(transport, rest, length, timers, options.upgrader.options.handshakeTimeout);
  if (body === null) return;
  const web = globalThis as unknown as WebGlobals;
  const hostHeader = getHeaderValues(head.headers, 'host')[0] ?? 'localhost';
  let request: unknown;
  try {
    const headers = new web.Headers();
    for (const [name, value] of head.headers) headers.append(name, value);
    const hasBody = head.method !== 'GET' && head.method !== 'HEAD';
    request = new web.Request(`${options.secure ? 'https' : 'http'}://${hostHeader}${head.target}`, {
      method: head.method,
      headers,
      ...(hasBody ? { body } : {}),
    });
  } catch {
    text(400, 'Bad Request\n');
    return;
  }
  let response: FetchResponseLike;
  try {
    response = await options.fetch!(request as never);
  } catch (error) {
    text(500, 'Internal Server Error\n');
    throw error;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const fields: HeaderField[] = [];
  response.headers.forEach((value, name) => {
    if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) {
      fields.push([name, value]);
    }
  });
  const noBody = head.method === 'HEAD' || response.status === 204 || response.status === 304;
  respond(
    transport,
    timers,
    response.status,
    fields,
    noBody ? new Uint8Array(0) : bytes,
    bytes.length,
    response.statusText,
  );
}

/** Reads `length` body bytes (the first ones in `rest`); null if the peer went away or was too slow. */
function readBody(
  transport: Transport,
  rest: Uint8Array,
  length: number,
  timers: Timers,
  timeout = HANDSHAKE_TIMEOUT,
): Promise<Uint8Array | null> {
  if (rest.length >= length) return Promise.resolve(rest.subarray(0, length));
  return new Promise((resolve) => {
    const body = new Uint8Array(length);
    body.set(rest);
    let filled = rest.length;
    let timer: TimerHandle | undefined;
    const finish = (value: Uint8Array | null): void => {
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      if (value === null) transport.destroy();
      resolve(value);
    };
    if (timeout > 0) timer = timers.setTimeout(() => finish(null), timeout);
    transport.start({
      data: (chunk) => {
        if (filled >= length) return;
        const take = Math.min(chunk.length, length - filled);
        body.set(chunk.subarray(0, take), filled);
        filled += take;
        if (filled === length) finish(body);
      },
      end: () => finish(null),
      drain: () => {},
      closed: () => finish(null),
    }, { writeHighWaterMark: 64 * 1024 });
    transport.resume();
  });
}

/** Writes a whole HTTP/1.1 response with `Connection: close`, then closes. */
function respond(
  transport: Transport,
  timers: Timers,
  status: number,
  headers: readonly HeaderField[],
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
  transport.write(utf8Encoder.encode(head));
  if (body.length > 0) transport.write(body);
  closeAfter(transport, timers, HANDSHAKE_TIMEOUT);
}

/**
 * Ends the transport (flushing what was written) and destroys it if the peer has not closed its side
 * within `ms`: a peer that never closes must not hold the socket forever.
 */
function closeAfter(transport: Transport, timers: Timers, ms: number): void {
  let timer: TimerHandle | undefined = timers.setTimeout(() => {
    timer = undefined;
    transport.destroy();
  }, ms);
  const done = (): void => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  transport.start({
    data: () => {},
    end: () => {}, // our end() is flushing; 'closed' follows
    drain: () => {},
    closed: done,
  }, { writeHighWaterMark: 64 * 1024 });
  transport.resume();
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
