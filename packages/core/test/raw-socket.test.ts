/**
 * The engine behind a raw node:net socket (examples/raw-echo.ts), against a real peer: the npm `ws`
 * client, over 127.0.0.1.
 */

import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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
