// @ts-check
/** Client benchmark: the `ws` client (bufferutil loaded). Usage: node node-ws.mjs <url> <cells JSON> */

import WebSocket from 'ws';
import { runClientCells } from './common.mjs';

const [url = '', cells = '[]'] = process.argv.slice(2);
await runClientCells(
  async () => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return {
      send: (data) => socket.send(data),
      onMessage: (listener) =>
        socket.on(
          'message',
          (data, isBinary) =>
            listener(isBinary ? new Uint8Array(/** @type {Buffer} */ (data)) : data.toString()),
        ),
      close: () =>
        new Promise((resolve) => {
          socket.once('close', () => resolve());
          socket.close(1000);
        }),
    };
  },
  JSON.parse(cells),
);
process.exit(0);
