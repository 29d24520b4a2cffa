/**
 * The client twin of raw-echo.ts: the engine's ClientConnection wired to a raw node:net socket by hand. It
 * echoes every message it receives while the connection is open and resolves when the socket closes — what
 * the conformance suite's echo-driver protocol asks of a client (conformance/peers, conformance/test).
 */

import net from 'node:net';
import { ClientConnection, type ClientConnectionOptions } from '@sansws/core';

/** Connects to `url`, echoes every message while open, reports text to `onText`; resolves on close. */
export function runRawEchoClient(
  url: string,
  options: Omit<ClientConnectionOptions, 'url'> = {},
  onText?: (text: string) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const ws = new ClientConnection({ ...options, url });
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      // Handling events may issue commands, which produce more output: loop until both are empty.
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
