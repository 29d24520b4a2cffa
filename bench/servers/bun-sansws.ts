/**
 * sansws on Bun: `@sansws/bun`'s `listen` with an echo handler. `--compress` enables permessage-deflate.
 * Prints one JSON line when listening; SIGUSR2 runs a full GC (`Bun.gc(true)`) for memory readings.
 *
 * The echo iterates messages (text decoded to a string and encoded again on send), not `readMessageBytes` as
 * the Node echo does: `Bun.serve` hands text to its echo as a string (`binaryType` applies to binary messages
 * only) and `ws.send(string)` encodes it again, so both sides do the same work; on Node `ws` echoes text as
 * bytes. `--handler`: the same echo from a message handler (`setMessageHandler`, returning the write's promise),
 * which gives each binary message's memory back once echoed (`Conn.release`); `BENCH_RELEASE=0` leaves that
 * out, for A/B runs.
 */

import { CloseError, listen, type MessageHandler, Upgrader } from '@sansws/bun';

const compress = process.argv.includes('--compress');
const useHandler = process.argv.includes('--handler');
// BENCH_CORE_MASK=1: the core's own masking instead of bufferutil's (`mask: undefined`), for A/B runs.
const coreMask = process.env['BENCH_CORE_MASK'] === '1';
// BENCH_FRAGMENT_LONG_TEXT=1: long strings in fragments (`fragmentLongText`, before round 21) rather than
// encoded into one frame of the adapter's ring (`releaseFrame`), for A/B runs.
const fragments = process.env['BENCH_FRAGMENT_LONG_TEXT'] === '1'
  ? { releaseFrame: undefined, fragmentLongText: true }
  : {};
/** The `--handler` echo: one function for every connection (the handler gets the connection too). */
const echo: MessageHandler = process.env['BENCH_RELEASE'] !== '0'
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
  upgrader: new Upgrader({ compression: compress, ...(coreMask ? { mask: undefined } : {}), ...fragments }),
  handler: useHandler ? (conn) => conn.setMessageHandler(echo) : async (conn) => {
    try {
      for await (const message of conn) await conn.writeMessage(message.type, message.data);
    } catch (error) {
      if (!(error instanceof CloseError)) throw error;
    }
  },
});
process.on('SIGUSR2', () => Bun.gc(true));
console.log(JSON.stringify({ ready: true, port: server.port, compress }));
process.on('SIGTERM', () => process.exit(0)); // lets bun --cpu-prof write its profile
