/**
 * Real peers on Deno: Deno's built-in `WebSocket` client against our listener, and our `dial` against
 * `Deno.serve` with `Deno.upgradeWebSocket`, text and binary of every size class. (Deno's built-in
 * WebSocket has no permessage-deflate, in either role: these run uncompressed, and our compression offer
 * is declined.) Loopback only; waits are on events.
 */

import { SIZES } from '@sansws/contract';
import { type Conn, dial, listen, Upgrader } from '@sansws/deno';

async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // abnormal closes end the echo
  }
}

const payload = (size: number): Uint8Array => new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  ...options,
  name: `Deno ${Deno.version.deno}'s built-in WebSocket client against our listener echoes every size class`,
  fn: async () => {
    const server = await listen({ handler: echo, upgrader: new Upgrader({ compression: true }) });
    try {
      const socket = new WebSocket(server.url);
      socket.binaryType = 'arraybuffer';
      const received: Array<string | ArrayBuffer> = [];
      const all = Promise.withResolvers<void>();
      socket.onmessage = (event) => {
        received.push(event.data);
        if (received.length === SIZES.length * 2) all.resolve();
      };
      await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)));
      check(socket.extensions === '', `no compression offered by Deno's client: ${socket.extensions}`);
      for (const size of SIZES) {
        socket.send(payload(size));
        socket.send('é'.repeat(size >> 1));
      }
      await all.promise;
      for (const [i, size] of SIZES.entries()) {
        check(same(new Uint8Array(received[2 * i] as ArrayBuffer), payload(size)), `binary ${size}`);
        check(received[2 * i + 1] === 'é'.repeat(size >> 1), `text ${size}`);
      }
      const closed = new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
      socket.close(1000, 'bye');
      check((await closed).code === 1000, 'close code');
    } finally {
      await server.shutdown({ timeout: 500 });
    }
  },
});

Deno.test({
  ...options,
  name: `our dial against Deno ${Deno.version.deno}'s Deno.upgradeWebSocket exchanges every size class`,
  fn: async () => {
    const ready = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve({
      hostname: '127.0.0.1',
      port: 0,
      onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
    }, (request) => {
      const protocol = request.headers.get('sec-websocket-protocol')?.split(',')[0]?.trim();
      const { socket, response } = Deno.upgradeWebSocket(
        request,
        protocol === undefined ? {} : { protocol },
      );
      socket.onmessage = (event) => socket.send(event.data);
      return response;
    });
    try {
      const { port } = await ready.promise;
      const { conn, response } = await dial(`ws://127.0.0.1:${port}/`, {
        compression: true,
        subprotocols: ['chat'],
        proxy: null,
      });
      check(response.status === 101, 'status');
      check(conn.subprotocol === 'chat', 'subprotocol');
      check(conn.extensions === null, `Deno's server declines compression: ${conn.extensions}`);
      for (const size of SIZES) {
        await conn.writeMessage('binary', payload(size));
        check(same((await conn.readMessage()).data as Uint8Array, payload(size)), `binary ${size}`);
        await conn.writeMessage('text', 'ü'.repeat(size >> 1));
        check((await conn.readMessage()).data === 'ü'.repeat(size >> 1), `text ${size}`);
      }
      check((await conn.ping(new TextEncoder().encode('rtt'))) >= 0, 'ping');
      const info = await conn.close(1000, 'done');
      check(info.code === 1000 && info.clean, `close ${JSON.stringify(info)}`);
    } finally {
      await server.shutdown();
    }
  },
});
