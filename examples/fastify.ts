/**
 * WebSockets beside a Fastify app, on the same port: Fastify answers HTTP routes as usual, and its node
 * server's `'upgrade'` event hands WebSocket handshakes for `/ws` to `upgrader.upgrade(req, socket, head)`
 * — no plugin needed.
 *
 * Run: `npm run build && node examples/dist/fastify.js` (PORT, default 8080).
 */

import { realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { CloseError, type Conn, Upgrader } from '@sansws/node';

/** A running example server. */
export interface FastifyExample {
  /** `http://host:port/`. */
  readonly url: string;
  /** `ws://host:port/ws`. */
  readonly socketUrl: string;
  /** Closes every WebSocket (1001), then Fastify. */
  close(): Promise<void>;
}

/** Echoes every message until the peer closes. */
async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch (error) {
    if (!(error instanceof CloseError)) throw error;
  }
}

/** Starts Fastify with an HTTP route (`/api/hello`) and a WebSocket echo (`/ws`) on one port. */
export async function startFastifyExample(port = 8080, host = '127.0.0.1'): Promise<FastifyExample> {
  const app = Fastify();
  app.get<{ Querystring: { name?: string } }>('/api/hello', (request) => ({
    hello: request.query.name ?? 'world',
    from: 'fastify',
  }));

  const upgrader = new Upgrader();
  app.server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    upgrader.upgrade(req, socket, head).then(echo, () => {});
  });
  await app.listen({ port, host });

  const { address, port: bound } = app.server.address() as AddressInfo;
  return {
    url: `http://${address}:${bound}/`,
    socketUrl: `ws://${address}:${bound}/ws`,
    close: async () => {
      await upgrader.shutdown({ timeout: 2000 }); // upgraded sockets are ours, not Fastify's
      await app.close();
    },
  };
}

/** Whether this file is the program being run (`node examples/dist/…js`), rather than imported. */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false; // not a file: `node -e`, a REPL
  }
}

if (isMain()) {
  const example = await startFastifyExample(Number(process.env['PORT'] ?? 8080));
  console.log(`fastify on ${example.url}api/hello, WebSocket echo on ${example.socketUrl}`);
  const stop = (): void => void example.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
