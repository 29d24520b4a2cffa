/**
 * The raw TCP ceiling on Deno: `Deno.listen`, a minimal handshake (read the request head, answer a fixed
 * 101), then every chunk read is written straight back (a read, then a complete write: one 64 KiB buffer per
 * connection, reused).
 */

const RESPONSE = new TextEncoder().encode(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
);
const CRLFCRLF = [13, 10, 13, 10];

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function headEnd(bytes: Uint8Array, length: number): number {
  outer: for (let i = 0; i + 4 <= length; i++) {
    for (let j = 0; j < 4; j++) if (bytes[i + j] !== CRLFCRLF[j]) continue outer;
    return i + 4;
  }
  return -1;
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  try {
    let have = 0;
    let end = -1;
    while (end < 0) {
      const n = await conn.read(buffer.subarray(have));
      if (n === null) return;
      have += n;
      end = headEnd(buffer, have);
      if (end < 0 && have > 16384) return;
    }
    await writeAll(conn, RESPONSE);
    if (end < have) await writeAll(conn, buffer.subarray(end, have));
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      await writeAll(conn, buffer.subarray(0, n));
    }
  } catch {
    // the peer went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 });
Deno.addSignalListener('SIGUSR2', () => gc?.());
console.log(
  JSON.stringify({ ready: true, port: (listener.addr as Deno.NetAddr).port, deno: Deno.version.deno }),
);
for await (const conn of listener) void serve(conn);
