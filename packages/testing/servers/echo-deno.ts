/**
 * An echo server on `@sansws/deno`'s `listen`, run under Deno by the fuzz tests (test/fuzz.test.ts; kept out of test/ because it is not type-checked with node types): prints its URL on the
 * first line of stdout, and exits when stdin closes. `--compression` turns permessage-deflate on.
 */

import { type Conn, listen, Upgrader } from '@sansws/deno';

async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // An error close: nothing to echo.
  }
}

const listener = await listen({
  upgrader: new Upgrader({ compression: Deno.args.includes('--compression'), pingInterval: 0 }),
  handler: echo,
});
console.log(listener.url);
for await (const _ of Deno.stdin.readable) { /* wait for stdin to close */ }
Deno.exit(0);
