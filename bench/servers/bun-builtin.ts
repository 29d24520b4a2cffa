/**
 * Bun's built-in WebSocket server (`Bun.serve`, uWebSockets underneath), echoing every message.
 * `--compress` sets `perMessageDeflate: true`. The backpressure limit is raised so that a pipeline of 64
 * 1 MiB messages is never dropped (Bun drops sends past the limit instead of waiting).
 */

const compress = process.argv.includes('--compress');
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request, server) {
    if (server.upgrade(request, { data: undefined })) return undefined;
    return new Response('WebSocket only', { status: 426 });
  },
  websocket: {
    perMessageDeflate: compress,
    maxPayloadLength: 16 * 1024 * 1024,
    backpressureLimit: 1024 * 1024 * 1024,
    idleTimeout: 960,
    message(ws, message) {
      // Bun compresses a send only when asked (the second argument); ask whenever deflate is on.
      ws.send(message, compress);
    },
  },
});
process.on('SIGUSR2', () => Bun.gc(true));
console.log(JSON.stringify({ ready: true, port: server.port, compress, bun: Bun.version }));
process.on('SIGTERM', () => process.exit(0)); // lets bun --cpu-prof write its profile
