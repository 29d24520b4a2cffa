// The npm `ws` package's echo server, permessage-deflate on (its defaults), limits admitting every case.
// Usage: node conformance/peers/ws-echo-server.mjs [port]   (prints the URL)
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  perMessageDeflate: true,
  maxPayload: 64 * 1024 * 1024,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ws://127.0.0.1:${wss.address().port}/`));
