/**
 * An echo server on Deno, and a client that talks to it: `deno run --allow-net --allow-env=PORT
 * examples/deno/echo.ts` (from a clone: the workspace's deno.json maps `@sansws/deno`). Every message comes
 * back; compression is on.
 */

import { dial, listen, Upgrader } from '@sansws/deno';

const server = await listen({
  port: Number(Deno.env.get('PORT') ?? 0),
  upgrader: new Upgrader({ compression: true }),
  handler: async (conn) => {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  },
});
console.log(`echo server at ${server.url}`);

const { conn } = await dial(server.url, { compression: true });
await conn.writeMessage('text', 'hello from Deno');
console.log('echoed:', (await conn.readMessage()).data);
console.log('round trip:', (await conn.ping()).toFixed(2), 'ms');
await conn.close(1000, 'done');
await server.shutdown();
