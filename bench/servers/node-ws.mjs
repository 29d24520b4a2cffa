// @ts-check
/**
 * `ws` on Node: a WebSocketServer echoing every message with its type. `--compress` enables
 * permessage-deflate (ws's defaults). Whether the optional native addons loaded is reported: the harness
 * runs it once with them and once with WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1.
 */

import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);
const compress = process.argv.includes('--compress');

// ws 8 picks its mask/unmask and UTF-8 check when lib/buffer-util.js and lib/validation.js load: Node's own
// `websocketMask` if present, else bufferutil unless WS_NO_BUFFER_UTIL; `buffer.isUtf8` if present, else
// utf-8-validate unless WS_NO_UTF_8_VALIDATE. Replay those decisions to say what this process uses.
/** @param {string} name */
const loads = (name) => {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
};
const http = require('node:http');
const buffer = require('node:buffer');
const mask = 'websocketMask' in http
  ? 'node:http websocketMask'
  : !process.env['WS_NO_BUFFER_UTIL'] && loads('bufferutil')
  ? 'bufferutil (native)'
  : 'JavaScript';
const utf8 = 'isUtf8' in buffer && typeof buffer.isUtf8 === 'function'
  ? 'node:buffer isUtf8 (utf-8-validate is not consulted on this Node)'
  : !process.env['WS_NO_UTF_8_VALIDATE'] && loads('utf-8-validate')
  ? 'utf-8-validate (native)'
  : 'JavaScript';
const wsVersion = require('ws/package.json').version;

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: compress }, () => {
  const address = /** @type {import('node:net').AddressInfo} */ (wss.address());
  console.log(JSON.stringify({ ready: true, port: address.port, compress, ws: wsVersion, mask, utf8 }));
});
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => {});
});
process.on('SIGUSR2', () => globalThis.gc?.());
process.on('SIGTERM', () => process.exit(0)); // lets node --cpu-prof write its profile
