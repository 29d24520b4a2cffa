/**
 * A standalone WebSocket server on node:net or node:tls, without node:http: the core parses each request
 * head; WebSocket handshakes go to an {@link Upgrader}, anything else to an optional fetch-style handler
 * (one request per connection), so that a page and its socket are served from one port. The per-connection
 * logic is `@sansws/conn`'s `serveTransport`, shared with the Bun and Deno listeners.
 *
 * @module
 */

import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { type Conn, serveTransport, type ShutdownOptions, type Transport } from '@sansws/conn';
import type { HttpRequest } from '@sansws/core';
import { NodeTransport, onSocketClosed } from './transport.ts';
import type { Duplex } from 'node:stream';
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

/** Starts a server; resolves once it is listening. */
export async function listen(options: ListenOptions): Promise<Listener> {
  const upgrader = options.upgrader ?? new Upgrader();
  const onError = options.onError ?? (() => {});
  /** Sockets not (yet) upgraded: the Upgrader keeps the open WebSocket connections for shutdown. */
  const sockets = new Set<Socket>();
  const settings = {
    upgrader,
    handler: options.handler,
    secure: options.tls !== undefined,
    // A handler's failure is reported from the handler's own promise, not through serveTransport's.
    onHandlerError: onError,
    onUpgraded: (transport: Transport): void => {
      sockets.delete(transport.raw as Socket);
    },
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.maxBodySize !== undefined ? { maxBodySize: options.maxBodySize } : {}),
  };
  // Shared by every socket (no closure per connection); the transport's own listeners report the socket's
  // close and take its errors (never an uncaught 'error'), so no listener of ours is added here.
  const forget = (socket: Duplex): void => {
    sockets.delete(socket as Socket);
  };
  const serve = (socket: Socket): void => {
    sockets.add(socket);
    const transport = new NodeTransport(socket);
    onSocketClosed(transport, forget);
    serveTransport(transport, settings).catch(onError);
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
