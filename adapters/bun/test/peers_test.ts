/**
 * Real peers on Bun: Bun's built-in `WebSocket` client against our listener, and our `dial` against
 * `Bun.serve`'s built-in WebSocket server, with and without permessage-deflate, text and binary of every
 * size class. Loopback only; waits are on events.
 */

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SIZES } from '@sansws/contract';
import { type Conn, dial, listen, type Listener, Upgrader } from '../src/mod.ts';

async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // abnormal closes end the echo
  }
}

const payload = (size: number): Uint8Array<ArrayBuffer> =>
  new Uint8Array(size).map((_, i) => (i * 7 + size) & 0xff);

describe(`Bun ${Bun.version}'s built-in WebSocket client against our listener`, () => {
  for (const compression of [false, true]) {
    test(`echoes every size class (compression ${compression ? 'on' : 'off'})`, async () => {
      const server: Listener = await listen({ handler: echo, upgrader: new Upgrader({ compression }) });
      try {
        const socket = new WebSocket(server.url, { perMessageDeflate: compression } as never);
        socket.binaryType = 'arraybuffer';
        const received: Array<string | ArrayBuffer> = [];
        let done!: () => void;
        const all = new Promise<void>((resolve) => (done = resolve));
        socket.onmessage = (event) => {
          received.push(event.data);
          if (received.length === SIZES.length * 2) done();
        };
        await new Promise((resolve, reject) => ((socket.onopen = resolve), (socket.onerror = reject)));
        expect(socket.extensions.startsWith('permessage-deflate')).toBe(compression);
        for (const size of SIZES) {
          socket.send(payload(size));
          socket.send('é'.repeat(size >> 1));
        }
        await all;
        for (const [i, size] of SIZES.entries()) {
          expect(new Uint8Array(received[2 * i] as ArrayBuffer)).toEqual(payload(size));
          expect(received[2 * i + 1]).toBe('é'.repeat(size >> 1));
        }
        const closed = new Promise<CloseEvent>((resolve) => (socket.onclose = resolve));
        socket.close(1000, 'bye');
        expect((await closed).code).toBe(1000);
      } finally {
        await server.shutdown({ timeout: 500 });
      }
    }, 30_000);
  }
});

describe(`our dial against Bun ${Bun.version}'s built-in WebSocket server (Bun.serve)`, () => {
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request, srv) {
        const protocol = request.headers.get('sec-websocket-protocol')?.split(',')[0]?.trim();
        const headers = protocol === undefined ? undefined : { 'Sec-WebSocket-Protocol': protocol };
        return srv.upgrade(
            request,
            headers === undefined ? { data: undefined } : { headers, data: undefined },
          )
          ? undefined
          : new Response('not a websocket', { status: 400 });
      },
      websocket: {
        perMessageDeflate: true,
        maxPayloadLength: 16 * 1024 * 1024,
        message(ws, message) {
          ws.send(message);
        },
      },
    });
  });
  afterAll(() => server.stop(true));

  for (const compression of [false, true]) {
    test(`exchanges every size class (compression ${compression ? 'on' : 'off'})`, async () => {
      const { conn, response } = await dial(`ws://127.0.0.1:${server.port}/`, {
        compression,
        subprotocols: ['chat'],
        proxy: null,
      });
      expect(response.status).toBe(101);
      expect(conn.subprotocol).toBe('chat');
      expect(conn.extensions?.startsWith('permessage-deflate') ?? false).toBe(compression);
      for (const size of SIZES) {
        await conn.writeMessage('binary', payload(size));
        expect((await conn.readMessage()).data).toEqual(payload(size));
        await conn.writeMessage('text', 'ü'.repeat(size >> 1));
        expect(await conn.readMessage()).toEqual({ type: 'text', data: 'ü'.repeat(size >> 1) });
      }
      expect(await conn.ping(new TextEncoder().encode('rtt'))).toBeGreaterThanOrEqual(0);
      expect(await conn.close(1000, 'done')).toMatchObject({ code: 1000, clean: true });
    }, 30_000);
  }
});
