// @ts-check
/**
 * Client benchmark: the runtime's built-in WHATWG `WebSocket` (Node's undici one behind
 * `--experimental-websocket` on Node 20, Bun's, Deno's). Usage: <runtime> builtin.mjs <url> <cells JSON>
 */

import { runClientCells } from './common.mjs';

/** @type {{ Deno?: { args: string[], exit(code: number): never } }} */
const g = /** @type {any} */ (globalThis);
const args = g.Deno ? g.Deno.args : process.argv.slice(2);
const [url = '', cells = '[]'] = args;
await runClientCells(
  async () => {
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return {
      send: (data) => socket.send(data),
      onMessage: (listener) => {
        socket.onmessage = (event) =>
          listener(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
      },
      close: () =>
        new Promise((resolve) => {
          socket.onclose = () => resolve();
          socket.close(1000);
        }),
    };
  },
  JSON.parse(cells),
);
if (g.Deno) g.Deno.exit(0);
else process.exit(0);
