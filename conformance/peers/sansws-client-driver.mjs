// Drives a fuzzing server (`sansws-conformance client`) with our core engine's ClientConnection on a raw
// node:net socket, offering permessage-deflate (@sansws/zlib): reads the case count, echoes every message of
// each case while the connection is open, then asks for the reports. Build first (tsc -b at the root).
// Usage: node sansws-client-driver.mjs ws://127.0.0.1:9001 [agent]
import net from 'node:net';
import { ClientConnection } from '../../packages/core/dist/mod.js';
import { zlibCodec } from '../../packages/zlib/dist/mod.js';

const base = process.argv[2] ?? 'ws://127.0.0.1:9001';
const agent = process.argv[3] ?? 'sansws-core';

function drive(target, onText) {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(target);
    const ws = new ClientConnection({
      url: target,
      maxMessageSize: 16 * 1024 * 1024,
      compression: { codec: zlibCodec },
    });
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    let timer;
    const flush = () => {
      for (;;) {
        const output = ws.takeOutput();
        const events = ws.takeEvents();
        if (output.length === 0 && events.length === 0) break;
        for (const chunk of output) socket.write(chunk);
        for (const event of events) {
          if (event.type === 'text') onText?.(event.data);
          if (ws.state !== 'open') continue;
          if (event.type === 'text') ws.sendText(event.data);
          else if (event.type === 'binary') ws.sendBinary(event.data);
        }
      }
      if (ws.transportAction === 'end') socket.end();
      else if (ws.transportAction === 'abort') socket.destroy();
      clearTimeout(timer);
      const deadline = ws.pollTimeout();
      if (deadline !== undefined) {
        timer = setTimeout(
          () => (ws.handleTimeout(performance.now()), flush()),
          deadline - performance.now(),
        );
      }
    };
    socket.on('connect', flush);
    socket.on('data', (data) => {
      ws.receiveData(new Uint8Array(data.buffer, data.byteOffset, data.length), performance.now());
      flush();
    });
    socket.on('end', () => (ws.receiveEof(), flush()));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

let count = 0;
await drive(`${base}/getCaseCount`, (text) => (count = Number(text)));
for (let i = 1; i <= count; i++) await drive(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
await drive(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
console.log(`ran ${count} cases`);
