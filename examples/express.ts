/**
 * WebSockets beside an Express app, on the same port: Express answers HTTP routes as usual, and the node
 * server's `'upgrade'` event (which Express never sees) hands WebSocket handshakes for `/ws` to
 * `upgrader.upgrade(req, socket, head)`. The same three lines work under any framework built on node:http.
 *
 * Run: `npm run build && node examples/dist/express.js` (PORT, default 8080).
 */

import type { Server } from 'node:http';
import { realpathSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { CloseError, type Conn, Upgrader } from '@sansws/node';

/** A running example server. */
export interface ExpressExample {
  /** `http://host:port/`. */
  readonly url: string;
  /** `ws://host:port/ws`. */
  readonly socketUrl: string;
  /** Closes every WebSocket (1001), then the HTTP server. */
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

/** Starts Express with an HTTP route (`/api/hello`) and a WebSocket echo (`/ws`) on one port. */
export async function startExpressExample(port = 8080, host = '127.0.0.1'): Promise<ExpressExample> {
  const app = express();
  app.get('/api/hello', (req, res) => {
    res.json({ hello: req.query['name'] ?? 'world', from: 'express' });
  });

  const upgrader = new Upgrader();
  const server: Server = app.listen(port, host);
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    // A refused handshake was answered (403, 426…) before the promise rejects.
    upgrader.upgrade(req, socket, head).then(echo, () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });

  const { address, port: bound } = server.address() as AddressInfo;
  const origin = `http://${address}:${bound}`;
  return {
    url: `${origin}/`,
    socketUrl: `ws://${address}:${bound}/ws`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await upgrader.shutdown({ timeout: 2000 }); // upgraded sockets are ours, not the HTTP server's
      server.closeIdleConnections();
      await closed;
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
  const example = await startExpressExample(Number(process.env['PORT'] ?? 8080));
  console.log(`express on ${example.url}api/hello, WebSocket echo on ${example.socketUrl}`);
  const stop = (): void => void example.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
