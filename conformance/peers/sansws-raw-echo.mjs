// Our core engine on a raw node:net socket (examples/raw-echo.ts), limits admitting every case and
// permessage-deflate on. Build first (`node_modules/.bin/tsc -b` at the root).
// Usage: node conformance/peers/sansws-raw-echo.mjs [port]   (prints the URL; port 0 = any free port)
import { createRawEchoServer } from '../../examples/dist/raw-echo.js';
import { zlibCodec } from '../../packages/zlib/dist/mod.js';

const server = createRawEchoServer({ maxMessageSize: 16 * 1024 * 1024, compression: { codec: zlibCodec } });
// The example leaves Nagle on; the engine writes a large payload's header and payload separately, so
// without this every such echo waits for a delayed ACK (about 40 ms on Linux).
server.on('connection', (socket) => socket.setNoDelay(true));
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`ws://127.0.0.1:${server.address().port}/`);
});
