/**
 * sansws on Deno: `@sansws/deno`'s `listen` with an echo handler. `--compress` enables permessage-deflate.
 * Prints one JSON line when listening; SIGUSR2 runs a full GC (`--v8-flags=--expose-gc`) for memory readings.
 */

import { CloseError, listen, Upgrader } from '@sansws/deno';

const compress = Deno.args.includes('--compress');
const server = await listen({
  port: 0,
  host: '127.0.0.1',
  upgrader: new Upgrader({ compression: compress }),
  handler: async (conn) => {
    try {
      for await (const message of conn) await conn.writeMessage(message.type, message.data);
    } catch (error) {
      if (!(error instanceof CloseError)) throw error;
    }
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
Deno.addSignalListener('SIGUSR2', () => gc?.());
console.log(JSON.stringify({ ready: true, port: server.port, compress }));
