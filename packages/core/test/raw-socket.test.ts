/**
 * The engine behind a raw node:net socket (examples/raw-echo.ts), against a real peer: the npm `ws`
 * client, over 127.0.0.1.
 */

import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { zlibCodec } from '../../zlib/src/mod.ts';
import { ClientConnection, type WebSocketEvent } from '../src/mod.ts';
import { clientPerMessageDeflate, serverPerMessageDeflate } from '../src/deflate-entry.ts';
import { createRawEchoServer } from '../../../examples/raw-echo.ts';

const server = createRawEchoServer();
let url = '';

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/echo`;
});
afterAll(() => {
  server.close();
});

describe('interop: the ws client against the engine on a raw socket (RFC 6455 §4, §5, §7)', () => {
  it('handshakes, echoes text and binary of every size class, and closes cleanly', async () => {
    const client = new WebSocket(url, { perMessageDeflate: false });
    await once(client, 'open');
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];
    const received: Array<{ binary: boolean; length: number; data: Buffer }> = [];
    const done = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer, binary: boolean) => {
        received.push({ binary, length: data.length, data });
        if (received.length === sizes.length * 2) resolve();
      });
    });
    for (const size of sizes) {
      client.send(Buffer.alloc(size, 7));
      client.send('é'.repeat(size >> 1));
    }
    await done;
    for (const [i, size] of sizes.entries()) {
      expect(received[2 * i]).toMatchObject({ binary: true, length: size });
      expect(received[2 * i + 1]!.binary).toBe(false);
      expect(received[2 * i + 1]!.data.toString()).toBe('é'.repeat(size >> 1));
    }
    client.close(1000, 'bye');
    const [code, reason] = await once(client, 'close');
    expect(code).toBe(1000);
    expect(String(reason)).toBe(''); // RFC 6455 §5.5.1: the echo carries the code
  });
  it('answers the ws client ping with a pong', async () => {
    const client = new WebSocket(url);
    await once(client, 'open');
    client.ping(Buffer.from('hello'));
    const [data] = await once(client, 'pong');
    expect(String(data)).toBe('hello');
    client.terminate();
  });
});

describe('interop with ws, permessage-deflate on (RFC 7692)', () => {
  const settings = [
    {},
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    { serverMaxWindowBits: 10, clientMaxWindowBits: 15 },
  ];
  const compressedServer = createRawEchoServer({
    compression: serverPerMessageDeflate({ codec: zlibCodec }),
  });
  let compressedUrl = '';
  beforeAll(async () => {
    compressedServer.listen(0, '127.0.0.1');
    await once(compressedServer, 'listening');
    compressedUrl = `ws://127.0.0.1:${(compressedServer.address() as AddressInfo).port}/`;
  });
  afterAll(() => {
    compressedServer.close();
  });
  for (const perMessageDeflate of settings) {
    it(`the ws client with ${JSON.stringify(perMessageDeflate)} round-trips compressible and random messages`, async () => {
      const client = new WebSocket(compressedUrl, {
        perMessageDeflate: { threshold: 0, ...perMessageDeflate },
      });
      await once(client, 'open');
      expect(client.extensions).toContain('permessage-deflate');
      const messages = [
        JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => ({ i, name: `n${i}` })) }),
        'x',
        '',
        'κόσμε '.repeat(1000),
      ];
      const random = randomBytes(100_000);
      const got: Array<Buffer> = [];
      const done = new Promise<void>((resolve) =>
        client.on('message', (data: Buffer) => {
          got.push(data);
          if (got.length === messages.length * 2 + 1) resolve();
        })
      );
      for (const m of messages) client.send(m);
      client.send(random);
      for (const m of messages) client.send(m);
      await done;
      expect(got.map(String).slice(0, 4)).toEqual(messages);
      expect(Buffer.compare(got[4]!, random)).toBe(0);
      expect(got.map(String).slice(5)).toEqual(messages);
      client.close();
      await once(client, 'close');
    });
  }
  it('our client engine against the ws server with compression', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
    await once(wss, 'listening');
    wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
    const port = (wss.address() as AddressInfo).port;
    const ws = new ClientConnection({
      url: `ws://127.0.0.1:${port}/`,
      compression: clientPerMessageDeflate({ codec: zlibCodec }),
    });
    const socket = net.connect(port, '127.0.0.1');
    const events: WebSocketEvent[] = [];
    const flush = () => {
      for (const chunk of ws.takeOutput()) socket.write(chunk);
      events.push(...ws.takeEvents());
    };
    const text = JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ i })));
    const finished = new Promise<void>((resolve) => {
      socket.on('data', (data) => {
        ws.receiveData(new Uint8Array(data));
        flush();
        if (
          events.some((e) => e.type === 'open') && ws.state === 'open' && events.filter((e) =>
              e.type === 'text'
            ).length === 0 &&
          !sent
        ) {
          sent = true;
          ws.sendText(text);
          ws.sendText(text);
          flush();
        }
        if (events.filter((e) => e.type === 'text').length === 2) resolve();
      });
    });
    let sent = false;
    flush();
    await finished;
    expect(ws.extensions).toContain('permessage-deflate');
    expect(events.filter((e) => e.type === 'text')).toEqual([{ type: 'text', data: text }, {
      type: 'text',
      data: text,
    }]);
    socket.destroy();
    wss.close();
  });
});
