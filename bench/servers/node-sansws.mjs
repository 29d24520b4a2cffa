// @ts-check
/**
 * sansws on Node: `@sansws/node`'s `listen` with an echo handler. `--compress` enables permessage-deflate;
 * `BENCH_CORE_MASK=1` in the environment makes the engine mask with the core's own kernel rather than
 * bufferutil's (as for the Bun server).
 * Prints one JSON line when listening; SIGUSR2 runs a full GC (node --expose-gc) for memory readings.
 *
 * The echo reads each message as bytes (`readMessageBytes`) and writes them back with their type, as ws's
 * echo does: text is not decoded to a string only to be encoded again. `--handler`: the same echo from a
 * message handler (`setMessageHandler(…, { bytes: true })`, returning the write's promise) instead of a loop
 * of reads, which gives each message's memory back once echoed (`Conn.release`, as the guide shows for
 * servers that want the most of large messages); `BENCH_RELEASE=0` leaves that out, for A/B runs.
 */

import { CloseError, listen, Upgrader } from '@sansws/node';

const compress = process.argv.includes('--compress');
const useHandler = process.argv.includes('--handler');
// BENCH_CORE_MASK=1: the core's own masking instead of bufferutil's (`mask: undefined`), for A/B runs.
const coreMask = process.env['BENCH_CORE_MASK'] === '1';
/**
 * The `--handler` echo: one function for every connection (the handler gets the connection too).
 * @type {import('@sansws/node').MessageHandler<import('@sansws/node').MessageBytes>}
 */
const echo = process.env['BENCH_RELEASE'] !== '0'
  ? (message, conn) => {
    // Each message's memory given back, used again once its echo is written (`Conn.release`).
    const written = conn.writeMessage(message.type, message.data);
    conn.release(message.data);
    return written;
  }
  : (message, conn) => conn.writeMessage(message.type, message.data);
const server = await listen({
  port: 0,
  host: '127.0.0.1',
  upgrader: new Upgrader({ compression: compress, ...(coreMask ? { mask: undefined } : {}) }),
  handler: useHandler ? (conn) => conn.setMessageHandler(echo, { bytes: true }) : async (conn) => {
    try {
      for (;;) {
        const message = await conn.readMessageBytes();
        await conn.writeMessage(message.type, message.data);
      }
    } catch (error) {
      if (!(error instanceof CloseError)) throw error;
    }
  },
});
process.on('SIGUSR2', () => globalThis.gc?.());
console.log(JSON.stringify({ ready: true, port: server.port, compress }));
process.on('SIGTERM', () => process.exit(0)); // lets node --cpu-prof write its profile
