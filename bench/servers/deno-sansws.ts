/**
 * sansws on Deno: `@sansws/deno`'s `listen` with an echo handler. `--compress` enables permessage-deflate.
 * Prints one JSON line when listening; SIGUSR2 runs a full GC (`--v8-flags=--expose-gc`) for memory readings.
 *
 * The echo iterates messages (text decoded to a string and encoded again on send), not `readMessageBytes` as
 * the Node echo does: `Deno.upgradeWebSocket` hands text to its echo as a string (`event.data`, as the WHATWG
 * WebSocket does) and `socket.send(string)` encodes it again, so both sides do the same work; on Node `ws`
 * echoes text as bytes. `--handler`: the same echo from a message handler (`setMessageHandler`, returning the
 * write's promise) instead of `for await`, which gives each binary message's memory back once echoed
 * (`Conn.release`); `BENCH_RELEASE=0` leaves that out, for A/B runs.
 */

import { CloseError, listen, type MessageHandler, Upgrader } from '@sansws/deno';

const compress = Deno.args.includes('--compress');
const useHandler = Deno.args.includes('--handler');
/** The `--handler` echo: one function for every connection (the handler gets the connection too). */
const echo: MessageHandler = Deno.env.get('BENCH_RELEASE') !== '0'
  ? (message, conn) => {
    // A binary message's memory given back, used again once its echo is written (`Conn.release`);
    // BENCH_RELEASE=0 leaves that out, for A/B runs.
    const written = conn.writeMessage(message.type, message.data);
    if (message.type === 'binary') conn.release(message.data);
    return written;
  }
  : (message, conn) => conn.writeMessage(message.type, message.data);
const server = await listen({
  port: 0,
  host: '127.0.0.1',
  upgrader: new Upgrader({ compression: compress }),
  handler: useHandler ? (conn) => conn.setMessageHandler(echo) : async (conn) => {
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
