/**
 * An echo server (gorilla/websocket's examples/echo, server half) on the standalone listener: every
 * message comes back as it was sent, text as text and binary as binary, in order. Compression is offered
 * to clients that ask for it.
 *
 * Run: `npm run build && node examples/dist/echo-server.js` (PORT, default 8080; `ECHO_STYLE=callback` for
 * the message-handler echo), then `node examples/dist/echo-client.js`.
 */

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  CloseError,
  type Conn,
  listen,
  type Listener,
  type MessageBytes,
  type MessageHandler,
  Upgrader,
} from '@sansws/node';

/** Writes every message back until the peer closes. */
export async function echo(conn: Conn): Promise<void> {
  try {
    // `for await` ends quietly on a normal close; each write waits while the peer is slow to read
    // (write backpressure), so a client cannot make us buffer more than one message beyond the mark.
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch (error) {
    if (!(error instanceof CloseError)) throw error; // a peer that vanished (1006) is not our error
  }
}

/**
 * The same echo as a message handler: each message is handed to it as it arrives, without a loop of reads.
 * Returning the write's promise keeps the backpressure: the next message waits until the write is accepted.
 * One function serves every connection (the handler gets its connection).
 */
export const echoMessage: MessageHandler<MessageBytes> = (message, conn) =>
  conn.writeMessage(message.type, message.data);

/** Options of {@link startEchoServer}. */
export interface EchoServerOptions {
  /** `'loop'` (default): {@link echo}, a loop of reads; `'callback'`: {@link echoMessage}, a message handler. */
  readonly style?: 'loop' | 'callback';
  /** TCP port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`. */
  readonly host?: string;
}

/** Starts the echo server. */
export function startEchoServer(options: EchoServerOptions = {}): Promise<Listener> {
  return listen({
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    upgrader: new Upgrader({
      compression: true,
      // Echo is harmless to any origin; a real application keeps the same-origin default.
      checkOrigin: () => true,
    }),
    handler: options.style === 'callback'
      ? (conn) => conn.setMessageHandler(echoMessage, { bytes: true })
      : echo,
    fetch: () =>
      new Response('This is a WebSocket echo server: connect with ws://, e.g. examples/echo-client.ts.\n', {
        status: 426,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' },
      }),
  });
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
  const listener = await startEchoServer({
    port: Number(process.env['PORT'] ?? 8080),
    style: process.env['ECHO_STYLE'] === 'callback' ? 'callback' : 'loop',
  });
  console.log(`echo server on ${listener.url}; Ctrl-C to stop`);
  const stop = (): void => void listener.shutdown({ timeout: 2000 }).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
