/**
 * An echo server on Bun, and a client that talks to it: `bun examples/bun/echo.ts` (from a clone, add
 * `--conditions=source` to run the workspace's TypeScript). Every message comes back; compression is on.
 */

import { dial, listen, Upgrader } from '@sansws/bun';

const server = await listen({
  port: Number(Bun.env.PORT ?? 0),
  upgrader: new Upgrader({ compression: true }),
  handler: async (conn) => {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  },
});
console.log(`echo server at ${server.url}`);

const { conn } = await dial(server.url, { compression: true });
await conn.writeMessage('text', 'hello from Bun');
console.log('echoed:', (await conn.readMessage()).data);
console.log('round trip:', (await conn.ping()).toFixed(2), 'ms');
await conn.close(1000, 'done');
await server.shutdown();
