/**
 * A chat room (`npm start`): the page at `/` and its WebSocket at `/ws`, on one port, with nothing but
 * `@sansws/node`. `listen` parses every request head itself; WebSocket handshakes go to the Upgrader, any
 * other request to the fetch-style handler that serves the page. Each line said in the room is encoded once
 * as a `PreparedMessage` and written to every member by `broadcast`; a member that stops reading is closed
 * (1008) instead of making the server buffer for it.
 *
 * Run: `npm start`, or `PORT=9000 node examples/dist/chat.js` after `npm run build`; open the URL it prints
 * in two browser tabs.
 */

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  broadcast,
  CloseError,
  type Conn,
  ConnError,
  HandshakeError,
  type HttpRequest,
  listen,
  type Listener,
  PreparedMessage,
  Upgrader,
} from '@sansws/node';
import { CHAT_PAGE } from './chat-page.ts';

/** Options of {@link startChat}. */
export interface ChatOptions {
  /** TCP port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Address to bind. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Buffered bytes above which a member counts as too slow and is closed. Default 256 KiB. */
  readonly slowConsumerLimit?: number;
}

/** A running chat room. */
export interface Chat {
  /** The page's address, `http://host:port/`. */
  readonly url: string;
  /** The WebSocket endpoint, `ws://host:port/ws`. */
  readonly socketUrl: string;
  /** The listener underneath. */
  readonly listener: Listener;
  /** Members currently in the room. */
  readonly members: ReadonlySet<Conn>;
  /** Says goodbye to every member (1001) and stops. */
  close(): Promise<void>;
}

const MAX_LINE = 1000;

/** Starts a chat room; resolves once it is listening. */
export async function startChat(options: ChatOptions = {}): Promise<Chat> {
  const members = new Set<Conn>();
  const limit = options.slowConsumerLimit ?? 256 * 1024;
  let guests = 0;

  /** Encodes the line once and writes it to every member; slow members are closed, not waited for. */
  const say = (line: string): void => {
    void broadcast(members, new PreparedMessage('text', line), { policy: 'close', limit });
  };

  const join = async (conn: Conn, request: HttpRequest): Promise<void> => {
    if (new URL(request.target, 'http://localhost').pathname !== '/ws') {
      await conn.close(1008, 'the chat socket is at /ws');
      return;
    }
    let name = `guest-${++guests}`;
    members.add(conn);
    say(`* ${name} joined (${members.size} here)`);
    try {
      for await (const message of conn) {
        if (message.type !== 'text') {
          await conn.close(1003, 'text messages only');
          break;
        }
        const text = message.data.trim();
        const nick = /^\/nick\s+(\S{1,24})$/.exec(text);
        if (nick !== null) {
          say(`* ${name} is now ${nick[1]}`);
          name = nick[1]!;
        } else if (text !== '') {
          say(`${name}: ${text}`);
        }
      }
    } catch (error) {
      // A member that vanished (1006) or broke the protocol simply leaves; anything else is a bug.
      if (!(error instanceof CloseError)) throw error;
    } finally {
      members.delete(conn);
      say(`* ${name} left`);
    }
  };

  const listener = await listen({
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    // The defaults are right for a page served from this very origin: same-origin check, no compression.
    upgrader: new Upgrader({ maxMessageSize: 4 * MAX_LINE }),
    handler: join,
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return new Response('Method Not Allowed\n', { status: 405, headers: { Allow: 'GET, HEAD' } });
      }
      if (path !== '/') return new Response('Not Found\n', { status: 404 });
      return new Response(CHAT_PAGE, {
        headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' },
      });
    },
    // Failures nobody else can report land here. Browsers open spare connections and close them unused
    // (ConnError before any request): routine, not worth a line. Refused handshakes are worth one.
    onError: (error) => {
      if (error instanceof ConnError) return;
      if (error instanceof HandshakeError) {
        console.warn(`chat: refused a handshake: ${error.status} ${error.message}`);
      } else console.error('chat:', error);
    },
  });
  const origin = `http://${
    listener.host.includes(':') ? `[${listener.host}]` : listener.host
  }:${listener.port}`;
  return {
    url: `${origin}/`,
    socketUrl: `${origin.replace('http', 'ws')}/ws`,
    listener,
    members,
    close: () => listener.shutdown({ reason: 'the chat is closing', timeout: 2000 }),
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
  const port = Number(process.env['PORT'] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a TCP port number, got ${JSON.stringify(process.env['PORT'])}`);
    process.exit(2);
  }
  const chat = await startChat({ port });
  console.log(`sansws chat: open ${chat.url} (WebSocket at ${chat.socketUrl}); Ctrl-C to stop`);
  const stop = (): void => {
    console.log('closing the chat…');
    chat.close().then(() => process.exit(0), (error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
