/**
 * A chat room on Bun: the page at `/` and its WebSocket at `/ws` on one port (listen's fetch fallback
 * serves the page), each line encoded once and broadcast to every member; a member that stops reading is
 * closed (1008). The Node chat (examples/chat.ts) with `@sansws/bun`: the same page, the same behaviour.
 *
 * Run: `bun --conditions=source examples/bun/chat.ts` (PORT, default 8080) and open the URL it prints in two
 * tabs.
 */

import {
  broadcast,
  CloseError,
  type Conn,
  type HttpRequest,
  listen,
  PreparedMessage,
  Upgrader,
} from '@sansws/bun';
import { CHAT_PAGE } from '../chat-page.ts';

const members = new Set<Conn>();
let guests = 0;
const say = (line: string): void => {
  void broadcast(members, new PreparedMessage('text', line), { policy: 'close', limit: 256 * 1024 });
};

async function join(conn: Conn, request: HttpRequest): Promise<void> {
  if (new URL(request.target, 'http://localhost').pathname !== '/ws') {
    await conn.close(1008, 'the chat socket is at /ws');
    return;
  }
  let name = `guest-${++guests}`;
  members.add(conn);
  say(`* ${name} joined (${members.size} here)`);
  try {
    for await (const message of conn) {
      if (message.type !== 'text') break;
      const text = message.data.trim();
      const nick = /^\/nick\s+(\S{1,24})$/.exec(text);
      if (nick !== null) {
        say(`* ${name} is now ${nick[1]}`);
        name = nick[1]!;
      } else if (text !== '') say(`${name}: ${text}`);
    }
  } catch (error) {
    if (!(error instanceof CloseError)) throw error;
  } finally {
    members.delete(conn);
    say(`* ${name} left`);
  }
}

const listener = await listen({
  port: Number(Bun.env.PORT ?? 8080),
  upgrader: new Upgrader({ maxMessageSize: 4000 }),
  handler: join,
  fetch: (request) =>
    new URL(request.url).pathname === '/'
      ? new Response(CHAT_PAGE, { headers: { 'Content-Type': 'text/html; charset=utf-8' } })
      : new Response('Not Found\n', { status: 404 }),
});
console.log(`chat at ${listener.url.replace('ws', 'http')}`);
process.on('SIGINT', () => void listener.shutdown({ reason: 'server stopping' }).then(() => process.exit(0)));
