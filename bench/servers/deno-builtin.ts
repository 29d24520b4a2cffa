/**
 * Deno's built-in WebSocket server (`Deno.serve` + `Deno.upgradeWebSocket`), echoing every message. It has
 * no permessage-deflate, so the harness runs it only in uncompressed cells.
 */

const gc = (globalThis as { gc?: () => void }).gc;
const server = Deno.serve({
  hostname: '127.0.0.1',
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ ready: true, port, deno: Deno.version.deno })),
}, (request) => {
  if (request.headers.get('upgrade') !== 'websocket') return new Response('WebSocket only', { status: 426 });
  const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (event) => socket.send(event.data);
  socket.onerror = () => {};
  return response;
});
Deno.addSignalListener('SIGUSR2', () => gc?.());
void server.finished;
