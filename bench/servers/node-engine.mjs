// @ts-check
/**
 * A diagnostic echo server, not one of the harness's: `@sansws/core`'s engine alone on a node:net socket,
 * without Conn, the Upgrader or `listen`, to tell what those layers cost against the engine itself
 * (`bench/ab-node.mjs --script-b bench/servers/node-engine.mjs`). Two ways:
 *
 * - default: the engine's output written from the socket's `'data'` handler, every message answered at once
 *   (a synchronous echo, as `ws`' is);
 * - `BENCH_ENGINE_PULL=1`: over `@sansws/node`'s `NodeTransport`, each message handed through a promise to
 *   an async loop that awaits it and writes the answer, as an application's `readMessageBytes` loop does
 *   (one promise per message, the write flushed by the transport at the end of the tick).
 *
 * Binary and text are echoed as they came; anything else (close, ping) is left to the engine, which answers
 * a ping and a close itself. Prints one JSON line when listening.
 */

import net from 'node:net';
import { ServerConnection } from '@sansws/core';
import { NodeTransport } from '@sansws/node';

const pull = process.env['BENCH_ENGINE_PULL'] === '1';

/** @param {net.Socket} socket */
function serveSync(socket) {
  socket.setNoDelay(true);
  const engine = new ServerConnection();
  socket.on('data', (chunk) => {
    engine.receiveData(chunk, performance.now());
    for (const event of engine.takeEvents()) {
      if (event.type === 'request') engine.accept();
      else if (event.type === 'binary') engine.sendBinary(event.data);
      else if (event.type === 'text') engine.sendText(event.bytes, { validated: true });
    }
    for (const chunk of engine.takeOutput()) socket.write(chunk);
    if (engine.transportAction !== 'none') socket.end();
  });
  socket.on('error', () => {});
}

/** @param {net.Socket} socket */
function servePull(socket) {
  const transport = new NodeTransport(socket);
  const engine = new ServerConnection();
  /** @type {Array<{ type: 'text' | 'binary', data: Uint8Array }>} */
  const inbox = [];
  /** @type {((message: { type: 'text' | 'binary', data: Uint8Array } | null) => void) | null} */
  let waiting = null;
  let closed = false;
  /** @param {{ type: 'text' | 'binary', data: Uint8Array } | null} message */
  const deliver = (message) => {
    if (waiting === null) {
      if (message !== null) inbox.push(message);
      return;
    }
    const wake = waiting;
    waiting = null;
    wake(message);
  };
  const flush = () => {
    for (const chunk of engine.takeOutput()) transport.write(chunk);
    if (engine.transportAction !== 'none' && !closed) {
      closed = true;
      transport.end();
      deliver(null);
    }
  };
  transport.start({
    data(chunk) {
      engine.receiveData(chunk, performance.now());
      for (const event of engine.takeEvents()) {
        if (event.type === 'request') engine.accept();
        else if (event.type === 'binary') deliver({ type: 'binary', data: event.data });
        else if (event.type === 'text') deliver({ type: 'text', data: event.bytes });
      }
      flush();
    },
    end() {
      engine.receiveEof();
      flush();
    },
    drain() {},
    closed() {
      closed = true;
      deliver(null);
    },
  }, { writeHighWaterMark: 64 * 1024 });
  /** @returns {Promise<{ type: 'text' | 'binary', data: Uint8Array } | null>} */
  const read = () => {
    const message = inbox.shift();
    if (message !== undefined || closed) return Promise.resolve(message ?? null);
    return new Promise((resolve) => (waiting = resolve));
  };
  void (async () => {
    for (let message = await read(); message !== null; message = await read()) {
      if (message.type === 'binary') engine.sendBinary(message.data);
      else engine.sendText(message.data, { validated: true });
      flush();
      await Promise.resolve(); // as `await conn.writeMessage(…)` with room in the transport
    }
  })();
}

const server = net.createServer(pull ? servePull : serveSync);
server.listen(0, '127.0.0.1', () => {
  const address = /** @type {net.AddressInfo} */ (server.address());
  console.log(JSON.stringify({ ready: true, port: address.port, pull }));
});
process.on('SIGTERM', () => process.exit(0)); // lets node --cpu-prof write its profile
