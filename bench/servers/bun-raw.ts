/**
 * The raw TCP ceiling on Bun: `Bun.listen`, a minimal handshake (read the request head, answer a fixed
 * 101), then every byte goes straight back. `socket.write` may take only part of a chunk; the rest is queued
 * (Bun does not reuse a `data` chunk, so the queue keeps views, no copies) and flushed on `drain`. Reading
 * never pauses: the load generator bounds what is in flight, and `Bun.serve` (backpressure limit 1 GiB in
 * bun-builtin.ts) does not pause either, so a pause here would make the ceiling lower than the built-in.
 */

interface State {
  head: string;
  open: boolean;
  queue: Uint8Array[];
}

const RESPONSE = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';

function flush(socket: Bun.Socket<State>): void {
  const queue = socket.data.queue;
  while (queue.length > 0) {
    const chunk = queue[0]!;
    const n = socket.write(chunk);
    if (n < chunk.length) {
      queue[0] = chunk.subarray(Math.max(n, 0));
      return;
    }
    queue.shift();
  }
}

function echo(socket: Bun.Socket<State>, chunk: Uint8Array): void {
  if (socket.data.queue.length > 0) {
    socket.data.queue.push(chunk);
    return;
  }
  const n = socket.write(chunk);
  if (n < chunk.length) socket.data.queue.push(chunk.subarray(Math.max(n, 0)));
}

const server = Bun.listen<State>({
  hostname: '127.0.0.1',
  port: 0,
  socket: {
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { head: '', open: false, queue: [] };
    },
    data(socket, chunk) {
      const state = socket.data;
      if (state.open) return echo(socket, chunk);
      state.head += Buffer.from(chunk).toString('latin1');
      const end = state.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      state.open = true;
      socket.write(RESPONSE);
      if (end + 4 < state.head.length) echo(socket, Buffer.from(state.head.slice(end + 4), 'latin1'));
    },
    drain(socket) {
      flush(socket);
    },
  },
});
process.on('SIGUSR2', () => Bun.gc(true));
console.log(JSON.stringify({ ready: true, port: server.port, bun: Bun.version }));
process.on('SIGTERM', () => process.exit(0)); // lets bun --cpu-prof write its profile
