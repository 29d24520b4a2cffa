/**
 * A standalone WebSocket server on `Deno.listen` or `Deno.listenTls`: the core parses each request head;
 * WebSocket handshakes go to an {@link Upgrader}, anything else to an optional fetch-style handler (one
 * request per connection), so that a page and its socket are served from one port. The same options and
 * behaviour as `@sansws/node`'s `listen` (the per-connection logic is `@sansws/conn`'s `serveTransport`).
 *
 * Permissions: `--allow-net` for the address bound; `--allow-read` only to read TLS key and certificate
 * files (the options take their PEM text).
 *
 * @module
 */

import { type Conn, serveTransport, type ShutdownOptions } from '@sansws/conn';
import type { HttpRequest } from '@sansws/core';
import { DenoTransport } from './transport.ts';
import { Upgrader } from './upgrader.ts';

/** TLS settings of a Deno listener: PEM text (read files with `Deno.readTextFile`). */
export interface ListenTlsOptions {
  /** The certificate chain, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
  /** ALPN protocols to accept. Default: none. */
  readonly alpnProtocols?: readonly string[];
}

/** Options of {@link listen}. */
export interface ListenOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Serve TLS (`wss://`, `https://`) with this certificate and key. */
  readonly tls?: ListenTlsOptions;
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
  /** The `Deno.listen` or `Deno.listenTls` listener. */
  readonly server: Deno.Listener;
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
  const transports = new Set<DenoTransport>();
  const serve = {
    upgrader,
    handler: options.handler,
    secure: options.tls !== undefined,
    // A handler's failure is reported from the handler's own promise, not through serveTransport's.
    onHandlerError: onError,
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
    ...(options.maxBodySize !== undefined ? { maxBodySize: options.maxBodySize } : {}),
  };
  const hostname = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  let server: Deno.Listener;
  try {
    server = options.tls === undefined ? Deno.listen({ hostname, port }) : Deno.listenTls({
      hostname,
      port,
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.tls.alpnProtocols !== undefined ? { alpnProtocols: [...options.tls.alpnProtocols] } : {}),
    });
  } catch (error) {
    return Promise.reject(error);
  }
  let stopping = false;
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await server.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        onError(error);
        continue;
      }
      const transport = new DenoTransport(conn);
      transports.add(transport);
      serveTransport(transport, serve).catch(onError);
      transport.closed.then(() => transports.delete(transport));
    }
  })();
  const addr = server.addr as Deno.NetAddr;
  const host = addr.hostname.includes(':') ? `[${addr.hostname}]` : addr.hostname;
  return Promise.resolve({
    port: addr.port,
    host: addr.hostname,
    url: `${options.tls === undefined ? 'ws' : 'wss'}://${host}:${addr.port}/`,
    server,
    async shutdown(shutdownOptions: ShutdownOptions = {}): Promise<void> {
      if (!stopping) {
        stopping = true;
        try {
          server.close();
        } catch {
          // already closed
        }
      }
      await accepting;
      await upgrader.shutdown(shutdownOptions);
      const left = [...transports];
      for (const transport of left) transport.destroy();
      await Promise.all(left.map((transport) => transport.closed));
    },
  });
}
