/**
 * A standalone WebSocket server on `Bun.listen` (plain or TLS): the core parses each request head;
 * WebSocket handshakes go to an {@link Upgrader}, anything else to an optional fetch-style handler (one
 * request per connection), so that a page and its socket are served from one port. The same options and
 * behaviour as `@sansws/node`'s `listen` (the per-connection logic is `@sansws/conn`'s `serveTransport`).
 *
 * @module
 */

import type { TCPSocketListener, TLSOptions } from 'bun';
import { type Conn, serveTransport, type ShutdownOptions } from '@sansws/conn';
import type { HttpRequest } from '@sansws/core';
import { type BunSocketData, BunTransport } from './transport.ts';
import { Upgrader } from './upgrader.ts';

/** Options of {@link listen}. */
export interface ListenOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Serve TLS (`wss://`, `https://`) with these Bun TLS options (`key`, `cert`, …). */
  readonly tls?: TLSOptions;
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
  /** The `Bun.listen` listener. */
  readonly server: TCPSocketListener<BunSocketData>;
  /**
   * Graceful shutdown: stops accepting, closes every WebSocket with `code` (1001) and `reason`, waits up to
   * `timeout` (5 s) for the closing handshakes, then destroys every connection left.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

/** Starts a server; resolves once it is listening. */
export function listen(options: ListenOptions): Promise<Listener> {
  const upgrader = options.upgrader ?? new Upgrader();
  const onError = options.onError ?? (() => {});
  const transports = new Set<BunTransport>();
  let allClosed: (() => void) | null = null;
  const serve = {
    upgrader,
    handler: options.handler,
    secure: options.tls !== undefined,
    // A handler's failure is reported from the handler's own promise, not through serveTransport's.
    onHandlerError: onError,
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.maxBodySize !== undefined ? { maxBodySize: options.maxBodySize } : {}),
  };
  let server: TCPSocketListener<BunSocketData>;
  try {
    server = Bun.listen<BunSocketData>({
      hostname: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      allowHalfOpen: true,
      data: { transport: null },
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      socket: BunTransport.serverHandler(
        (transport) => {
          transports.add(transport);
          serveTransport(transport, serve).catch(onError);
        },
        (transport) => {
          transports.delete(transport);
          if (transports.size === 0) allClosed?.();
        },
      ),
    });
  } catch (error) {
    return Promise.reject(error);
  }
  const host = server.hostname.includes(':') ? `[${server.hostname}]` : server.hostname;
  return Promise.resolve({
    port: server.port,
    host: server.hostname,
    url: `${options.tls === undefined ? 'ws' : 'wss'}://${host}:${server.port}/`,
    server,
    async shutdown(shutdownOptions: ShutdownOptions = {}): Promise<void> {
      server.stop(false);
      await upgrader.shutdown(shutdownOptions);
      if (transports.size === 0) return;
      const closed = new Promise<void>((resolve) => (allClosed = resolve));
      for (const transport of transports) transport.destroy();
      await closed;
    },
  });
}
