/**
 * The engine wired to a raw node:net socket by hand: a complete WebSocket echo server in a page of code.
 * docs/core.md shows it; a test drives it with the `ws` client. Run: `node examples/dist/raw-echo.js`.
 */

import net from 'node:net';
import { ServerConnection, type ServerConnectionOptions } from '@sansws/core';

/** Creates (but does not start) an echo server. */
export function createRawEchoServer(options: ServerConnectionOptions = {}): net.Server {
  return net.createServer((socket) => {
    const ws = new ServerConnection({ pingInterval: 30_000, ...options });
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      // Handling events may issue commands, which produce more output: loop until both are empty.
      for (;;) {
        const output = ws.takeOutput();
        const events = ws.takeEvents();
        if (output.length === 0 && events.length === 0) break;
        for (const chunk of output) socket.write(chunk);
        for (const event of events) {
          if (event.type === 'request') ws.accept();
          // A message can arrive in the same chunk as a frame that ends the connection: echo only while open.
          else if (ws.state !== 'open') continue;
          else if (event.type === 'text') ws.sendText(event.data); // echo
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
    socket.on('data', (data) => {
      ws.receiveData(new Uint8Array(data.buffer, data.byteOffset, data.length), performance.now());
      flush();
    });
    socket.on('end', () => (ws.receiveEof(), flush()));
    socket.on('close', () => clearTimeout(timer));
    socket.on('error', () => socket.destroy());
  });
}

if (process.argv[1]?.endsWith('raw-echo.js')) {
  createRawEchoServer().listen(8080, '127.0.0.1', () => console.log('echo on ws://127.0.0.1:8080/'));
}
