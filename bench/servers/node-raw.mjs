// @ts-check
/**
 * The raw TCP ceiling on Node: `node:net`, a minimal handshake (read the request head, answer a fixed
 * 101), then every byte goes straight back, with backpressure. No framing, no masking, no validation: the
 * least work any WebSocket server on this runtime could do with the same bytes.
 *
 * Backpressure as a real echo does it: reading pauses only while more than MAX_BUFFERED bytes wait to be
 * written (sansws's default read high-water mark), and resumes on 'drain'. Not on `write()` returning
 * false: that happens whenever node's 16 KiB socket mark is passed, i.e. on every chunk of 16 KiB or more,
 * and pausing then made this "ceiling" stop reading after each large read (it lost to the WebSocket
 * servers at 64 KiB and 1 MiB).
 */

import net from 'node:net';

const MAX_BUFFERED = 1024 * 1024;
const RESPONSE = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

const server = net.createServer({ noDelay: true }, (socket) => {
  let head = '';
  /** @param {Buffer} chunk */
  const echo = (chunk) => {
    socket.write(chunk);
    if (socket.writableLength > MAX_BUFFERED) socket.pause();
  };
  /** @param {Buffer} chunk */
  const handshake = (chunk) => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', handshake);
    socket.on('data', echo);
    socket.write(RESPONSE);
    if (end + 4 < head.length) echo(Buffer.from(head.slice(end + 4), 'latin1'));
  };
  socket.on('data', handshake);
  socket.on('drain', () => socket.resume());
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  const address = /** @type {net.AddressInfo} */ (server.address());
  console.log(JSON.stringify({ ready: true, port: address.port }));
});
process.on('SIGUSR2', () => globalThis.gc?.());
process.on('SIGTERM', () => process.exit(0)); // lets node --cpu-prof write its profile
