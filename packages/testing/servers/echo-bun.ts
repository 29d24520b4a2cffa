/**
 * An echo server on `@sansws/bun`'s `listen`, run under Bun by the fuzz tests (test/fuzz.test.ts; kept out of test/ because it is not type-checked with node types): prints its URL on the first
 * line of stdout, and exits when stdin closes. `--compression` turns permessage-deflate on.
 */

import process from 'node:process';
import { type Conn, listen, Upgrader } from '@sansws/bun';

async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // An error close: nothing to echo.
  }
}

const listener = await listen({
  upgrader: new Upgrader({ compression: process.argv.includes('--compression'), pingInterval: 0 }),
  handler: echo,
});
console.log(listener.url);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
