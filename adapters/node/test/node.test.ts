/**
 * The Node adapter over real loopback sockets: interop with the npm `ws` package both ways (with and
 * without compression), node:http upgrade beside normal requests, the standalone listener with its fetch
 * fallback, TLS, CONNECT proxies, hostile handshakes, and faults. Everything binds 127.0.0.1, port 0;
 * waits are on events, never on sleeps.
 */

import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as netConnect } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  CloseError,
  type Conn,
  ConnError,
  dial,
  HandshakeError,
  listen,
  type Listener,
  proxyFromEnv,
  Upgrader,
} from '../src/mod.ts';
import type { Masker } from '@sansws/core';
import { nativeMask, pickNativeMask } from '../src/bufferutil.ts';
import { HANDSHAKE, rawExchange, selfSignedCertificate, startProxy } from './helpers.ts';

const wsVersion = (await import('ws/package.json', { with: { type: 'json' } })).default.version;
const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];

/** An echo handler: every message back, until the peer closes. */
async function echo(conn: Conn): Promise<void> {
  try {
    for await (const message of conn) await conn.writeMessage(message.type, message.data);
  } catch {
    // abnormal closes end the echo
  }
}

let server: Listener;
let compressed: Listener;
beforeAll(async () => {
  server = await listen({ handler: echo, upgrader: new Upgrader({ checkOrigin: () => true }) });
  compressed = await listen({ handler: echo, upgrader: new Upgrader({ compression: true }) });
});
afterAll(async () => {
  await server.shutdown({ timeout: 1000 });
  await compressed.shutdown({ timeout: 1000 });
});

describe(`interop: the ws ${wsVersion} client against our listener`, () => {
  for (const perMessageDeflate of [false, true]) {
    it(`echoes text and binary of every size class (compression ${perMessageDeflate ? 'on' : 'off'})`, async () => {
      const target = perMessageDeflate ? compressed : server;
      const client = new WebSocket(target.url, { perMessageDeflate });
      await once(client, 'open');
      expect(client.extensions).toBe(perMessageDeflate ? 'permessage-deflate' : '');
      const received: Array<{ data: Buffer; binary: boolean }> = [];
      const done = new Promise<void>((resolve) => {
        client.on('message', (data: Buffer, binary: boolean) => {
          received.push({ data, binary });
          if (received.length === SIZES.length * 2) resolve();
        });
      });
      for (const size of SIZES) {
        client.send(Buffer.alloc(size, size & 0xff));
        client.send('é'.repeat(size >> 1));
      }
      await done;
      for (const [i, size] of SIZES.entries()) {
        expect(received[2 * i]!.binary).toBe(true);
        expect(received[2 * i]!.data.equals(Buffer.alloc(size, size & 0xff))).toBe(true);
        expect(received[2 * i + 1]!.data.toString()).toBe('é'.repeat(size >> 1));
      }
      client.close(1000, 'bye');
      const [code] = await once(client, 'close');
      expect(code).toBe(1000);
    });
  }

  it('graceful shutdown closes connections with 1001 and the reason', async () => {
    const local = await listen({ handler: () => {} });
    const client = new WebSocket(local.url);
    await once(client, 'open');
    const closed = once(client, 'close');
    await local.shutdown({ reason: 'maintenance', timeout: 2000 });
    const [code, reason] = await closed;
    expect(code).toBe(1001);
    expect(String(reason)).toBe('maintenance');
  });
});

describe('the listener keeps track of its sockets without listeners of its own', () => {
  it('shutdown destroys a socket still before its handshake', async () => {
    const local = await listen({ handler: () => {} });
    const socket = netConnect(local.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    await local.shutdown({ timeout: 2000 });
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it('an upgraded socket is left to the Upgrader: shutdown ends one whose peer never answers the close', async () => {
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const local = await listen({ handler: () => opened() });
    const socket = netConnect(local.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {}); // reads the 101 and the close frame, never answers
    await once(socket, 'connect');
    socket.write(`${HANDSHAKE}\r\n`);
    await open;
    const closed = once(socket, 'close');
    await local.shutdown({ timeout: 200 });
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it("an 'error' on an accepted socket is taken by the transport, not thrown", async () => {
    let raised = false;
    const local = await listen({
      handler: async (conn) => {
        (conn.raw as import('node:net').Socket).emit('error', new Error('injected'));
        raised = true;
        await conn.writeMessage('text', 'still here');
      },
    });
    const client = new WebSocket(local.url);
    const [data] = await once(client, 'message');
    expect(String(data)).toBe('still here');
    expect(raised).toBe(true);
    client.close();
    await local.shutdown({ timeout: 2000 });
  });
});

describe(`interop: our dial against the ws ${wsVersion} server`, () => {
  let wss: WebSocketServer;
  let url = '';
  beforeAll(async () => {
    wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: true,
      handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
      verifyClient: (info, callback) => {
        if (info.req.headers['authorization'] === 'Bearer no') callback(false, 401, 'Unauthorized');
        else callback(true);
      },
    });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/path`;
    wss.on('connection', (socket) => {
      socket.on('message', (data, binary) => socket.send(data, { binary }));
    });
  });
  afterAll(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  for (const compression of [false, true]) {
    it(`exchanges messages of every size class (compression ${compression ? 'on' : 'off'})`, async () => {
      const { conn, response } = await dial(url, { compression, subprotocols: ['chat'] });
      expect(response.status).toBe(101);
      expect(conn.subprotocol).toBe('chat');
      expect(conn.extensions?.startsWith('permessage-deflate') ?? false).toBe(compression);
      for (const size of SIZES) {
        const payload = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
        await conn.writeMessage('binary', payload);
        const echoed = (await conn.readMessage()).data as Uint8Array;
        expect(echoed.constructor).toBe(Uint8Array);
        expect(Buffer.from(echoed).equals(Buffer.from(payload))).toBe(true);
        await conn.writeMessage('text', 'ü'.repeat(size >> 1));
        expect(await conn.readMessage()).toEqual({ type: 'text', data: 'ü'.repeat(size >> 1) });
      }
      expect(await conn.ping(new TextEncoder().encode('rtt'))).toBeGreaterThanOrEqual(0);
      expect(await conn.close(1000, 'done')).toMatchObject({ code: 1000, clean: true });
    });
  }

  it('a refused handshake rejects with the status, headers and body', async () => {
    const error = await dial(url, { headers: [['Authorization', 'Bearer no']] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as HandshakeError).status).toBe(401);
  });
});

describe('node:http upgrade beside normal requests', () => {
  it('serves a page and upgrades sockets on the same port', async () => {
    const upgrader = new Upgrader();
    const http = createHttpServer((_req, res) => res.end('hello page'));
    http.on('upgrade', (req, socket, head) => {
      upgrader.upgrade(req, socket, head).then(echo, () => {});
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const port = (http.address() as AddressInfo).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('hello page');
    const { conn } = await dial(`ws://127.0.0.1:${port}/ws`);
    await conn.writeMessage('text', 'over node:http');
    expect(await conn.readMessage()).toEqual({ type: 'text', data: 'over node:http' });
    expect(upgrader.connections.size).toBe(1);
    await upgrader.shutdown();
    await expect(conn.readMessage()).rejects.toMatchObject({ code: 'CLOSED_NORMALLY', closeCode: 1001 });
    http.close();
    await once(http, 'close');
  });
});

describe('the standalone listener and its fetch fallback', () => {
  it('answers plain HTTP with the fetch handler and upgrades WebSocket requests on one port', async () => {
    const local = await listen({
      handler: echo,
      fetch: async (request) =>
        new Response(`${request.method} ${new URL(request.url).pathname} ${await request.text()}`, {
          headers: { 'X-Served-By': 'fetch' },
        }),
      maxBodySize: 16,
    });
    const page = await fetch(`${local.url.replace('ws', 'http')}index.html`);
    expect(page.headers.get('x-served-by')).toBe('fetch');
    expect(await page.text()).toBe('GET /index.html ');
    const posted = await fetch(local.url.replace('ws', 'http'), { method: 'POST', body: 'small body' });
    expect(await posted.text()).toBe('POST / small body');
    const tooBig = await fetch(local.url.replace('ws', 'http'), { method: 'POST', body: 'x'.repeat(17) });
    expect(tooBig.status).toBe(413);
    const { conn } = await dial(local.url);
    await conn.writeMessage('text', 'both');
    expect((await conn.readMessage()).data).toBe('both');
    await conn.close();
    await local.shutdown();
  });

  it('without a fetch handler, a GET gets 426 and other methods 404', async () => {
    const get = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(get).toMatch(/^HTTP\/1\.1 426 /);
    expect(get).toMatch(/\r\nUpgrade: websocket\r\n/i);
    const post = await rawExchange(
      server.port,
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n',
    );
    expect(post).toMatch(/^HTTP\/1\.1 404 /);
  });
});

describe('bad handshakes get the right status and the socket closed (RFC 6455 §4.2.1)', () => {
  it('400 for malformed HTTP', async () => {
    expect(await rawExchange(server.port, 'GET / HTTP/1.1\nHost: x\n\n')).toMatch(/^HTTP\/1\.1 400 /);
  });
  it('403 for a foreign origin (default same-origin policy)', async () => {
    const local = await listen({ handler: () => {} });
    const answer = await rawExchange(local.port, HANDSHAKE + 'Origin: https://evil.example\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    await local.shutdown();
  });
  it('426 for an unsupported version', async () => {
    const answer = await rawExchange(server.port, HANDSHAKE.replace('Version: 13', 'Version: 8') + '\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 426 /);
    expect(answer).toMatch(/Sec-WebSocket-Version: 13/);
  });
  it('431 for oversized headers', async () => {
    const answer = await rawExchange(server.port, HANDSHAKE + `X-Big: ${'a'.repeat(10_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
  });
  it('a slowloris handshake times out (handshakeTimeout) and the socket is closed', async () => {
    const local = await listen({ handler: () => {}, upgrader: new Upgrader({ handshakeTimeout: 200 }) });
    const socket = netConnect(local.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: 127.');
    const started = performance.now();
    await once(socket, 'close');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    await local.shutdown();
  });
});

describe('TLS (wss://)', () => {
  const { key, cert } = selfSignedCertificate();
  it('dials a TLS listener with a custom CA, and refuses an unknown certificate by default', async () => {
    const local = await listen({ handler: echo, tls: { key, cert } });
    expect(local.url).toMatch(/^wss:/);
    const { conn } = await dial(local.url, { tls: { ca: cert } });
    await conn.writeMessage('binary', Uint8Array.of(1, 2, 3));
    expect((await conn.readMessage()).data).toEqual(Uint8Array.of(1, 2, 3));
    await conn.close();
    const refused = await dial(local.url).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const { conn: insecure } = await dial(local.url, { tls: { rejectUnauthorized: false } });
    insecure.terminate();
    await local.shutdown();
  });

  it('the ws client talks to our TLS listener', async () => {
    const local = await listen({ handler: echo, tls: { key, cert } });
    const client = new WebSocket(local.url, { ca: cert });
    await once(client, 'open');
    client.send('secure');
    const [data] = await once(client, 'message');
    expect(String(data)).toBe('secure');
    client.close();
    await once(client, 'close');
    await local.shutdown();
  });

  it('dials wss:// through an HTTP CONNECT proxy with basic auth', async () => {
    const local = await listen({ handler: echo, tls: { key, cert } });
    const proxy = await startProxy('user:päss');
    const { conn } = await dial(local.url, {
      proxy: proxy.url.replace('päss', encodeURIComponent('päss')),
      tls: { ca: cert },
    });
    expect(proxy.tunnels).toEqual([`127.0.0.1:${local.port}`]);
    await conn.writeMessage('text', 'tunnelled');
    expect((await conn.readMessage()).data).toBe('tunnelled');
    await conn.close();
    await proxy.close();
    await local.shutdown();
  });
});

describe('HTTP CONNECT proxies', () => {
  it('dials ws:// through a proxy', async () => {
    const proxy = await startProxy();
    const { conn } = await dial(server.url, { proxy: proxy.url });
    expect(proxy.tunnels).toEqual([`127.0.0.1:${server.port}`]);
    await conn.writeMessage('text', 'via proxy');
    expect((await conn.readMessage()).data).toBe('via proxy');
    await conn.close();
    await proxy.close();
  });

  it('a proxy refusal rejects with PROXY_FAILED and its status', async () => {
    const proxy = await startProxy('user:secret');
    const error = await dial(server.url, { proxy: `http://user:wrong@127.0.0.1:${proxy.port}` }).catch((
      e: unknown,
    ) => e);
    expect(error).toBeInstanceOf(ConnError);
    expect(error).toMatchObject({ code: 'PROXY_FAILED', status: 407 });
    await proxy.close();
  });

  it('proxyFromEnv follows HTTPS_PROXY / HTTP_PROXY and honours NO_PROXY', () => {
    const env = {
      HTTPS_PROXY: 'http://secure-proxy:1',
      HTTP_PROXY: 'http://plain-proxy:2',
      NO_PROXY: 'internal.example,.corp,:0,10.0.0.1:8080',
    };
    expect(proxyFromEnv('wss://a.example/', env)).toBe('http://secure-proxy:1');
    expect(proxyFromEnv('ws://a.example/', env)).toBe('http://plain-proxy:2');
    expect(proxyFromEnv('ws://internal.example/', env)).toBeNull();
    expect(proxyFromEnv('ws://x.internal.example/', env)).toBeNull();
    expect(proxyFromEnv('ws://host.corp/', env)).toBeNull();
    expect(proxyFromEnv('ws://10.0.0.1:8080/', env)).toBeNull();
    expect(proxyFromEnv('ws://10.0.0.1:9090/', env)).toBe('http://plain-proxy:2');
    expect(proxyFromEnv('ws://a.example/', { ...env, no_proxy: '*' })).toBeNull();
    expect(proxyFromEnv('ws://a.example/', {})).toBeNull();
  });
});

describe('faults', () => {
  it('a peer vanishing mid-message ends the read with CLOSED_ABNORMALLY (1006)', async () => {
    let serverConn!: Conn;
    const accepted = new Promise<void>((resolve) => {
      void listen({
        handler: (conn) => {
          serverConn = conn;
          resolve();
        },
      }).then(async (local) => {
        const { conn } = await dial(local.url);
        const writer = await conn.nextWriter('binary');
        await writer.write(new Uint8Array(1000));
        await accepted;
        const read = serverConn.readMessage().catch((e: unknown) => e);
        (conn.raw as import('node:net').Socket).destroy();
        const error = await read;
        expect(error).toBeInstanceOf(CloseError);
        expect(error).toMatchObject({ code: 'CLOSED_ABNORMALLY', closeCode: 1006 });
        await local.shutdown();
        finished();
      });
    });
    let finished!: () => void;
    await new Promise<void>((resolve) => (finished = resolve));
    await accepted;
  });

  it('a peer that stops reading cannot make the server buffer without bound: writeMessage waits', async () => {
    let resolveConn!: (conn: Conn) => void;
    const serverConn = new Promise<Conn>((resolve) => (resolveConn = resolve));
    const hwm = 64 * 1024;
    const local = await listen({ handler: resolveConn, upgrader: new Upgrader({ writeHighWaterMark: hwm }) });
    const client = new WebSocket(local.url);
    await once(client, 'open');
    const conn = await serverConn;
    // The client stops reading from its socket.
    (client as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const payload = new Uint8Array(64 * 1024);
    let maxBuffered = 0;
    let pending: Promise<void> | null = null;
    for (let i = 0; i < 2000 && pending === null; i++) {
      const write = conn.writeMessage('binary', payload);
      let done = false;
      void write.then(() => (done = true));
      for (let round = 0; round < 5 && !done; round++) await setImmediate();
      maxBuffered = Math.max(maxBuffered, conn.bufferedAmount);
      if (!done) pending = write;
    }
    expect(pending).not.toBeNull();
    // What the server holds stays within the mark plus one message (the rest sits in kernel buffers).
    expect(maxBuffered).toBeLessThanOrEqual(hwm + payload.length + 16);
    let received = 0;
    client.on('message', () => received++);
    (client as unknown as { _socket: import('node:net').Socket })._socket.resume();
    await pending;
    client.terminate();
    expect(received).toBeGreaterThanOrEqual(0);
    await local.shutdown();
  });

  it('writes after close reject with a typed CloseError', async () => {
    const { conn } = await dial(server.url);
    await conn.close(1000);
    const error = await conn.writeMessage('text', 'too late').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloseError);
    expect((error as CloseError).normal).toBe(true);
  });

  it('a dial to a closed port rejects with the connection error', async () => {
    const local = await listen({ handler: () => {} });
    const port = local.port;
    await local.shutdown();
    await expect(dial(`ws://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe("bufferutil's native mask (an optional dependency)", () => {
  /** Wraps bufferutil's mask, counting the bytes it masked. */
  function countingMask(): { mask: Masker; bytes: () => number } {
    const native = nativeMask()!;
    let total = 0;
    return {
      mask: (source, key, output, offset, length) => {
        total += length;
        native(source, key, output, offset, length);
      },
      bytes: () => total,
    };
  }

  it('loads natively and is what Upgrader passes the engine by default; mask: undefined turns it off', () => {
    const mask = nativeMask();
    expect(typeof mask).toBe('function');
    expect(Function.prototype.toString.call(mask)).toContain('[native code]');
    expect(new Upgrader().options.mask).toBe(mask);
    expect(new Upgrader({ mask: undefined }).options.mask).toBeUndefined();
  });

  it('is not used when bufferutil is missing or only its JavaScript fallback loaded', () => {
    const missing = () => {
      throw new Error("Cannot find module 'bufferutil'");
    };
    // bufferutil's fallback.js: a byte loop, slower than the core's kernel.
    const fallback = {
      mask: (source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number) => {
        for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ key[i & 3]!;
      },
    };
    expect(pickNativeMask(missing)).toBeNull();
    expect(pickNativeMask(() => fallback)).toBeNull();
    expect(pickNativeMask(() => ({}))).toBeNull();
    expect(pickNativeMask(() => null)).toBeNull();
    const native = { mask: nativeMask() };
    expect(pickNativeMask(() => native)).toBe(native.mask);
  });

  it('RFC 6455 §5.3: a server unmasks through it what the ws client sends, whole and cut by reads', async () => {
    const { mask, bytes } = countingMask();
    const local = await listen({ handler: echo, upgrader: new Upgrader({ mask }) });
    const client = new WebSocket(local.url);
    await once(client, 'open');
    const sizes = [10_000, 65_536, 1 << 20];
    const received: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      client.on('message', (data: Buffer) => {
        received.push(data);
        if (received.length === sizes.length * 2) resolve();
      });
    });
    for (const size of sizes) {
      client.send(Buffer.alloc(size, size % 251));
      client.send('ж'.repeat(size >> 1));
    }
    await done;
    for (const [i, size] of sizes.entries()) {
      expect(received[2 * i]!.equals(Buffer.alloc(size, size % 251))).toBe(true);
      expect(received[2 * i + 1]!.toString()).toBe('ж'.repeat(size >> 1));
    }
    // Most payload bytes went through it (not pieces below 8 KiB, where a read cuts a frame: at most two
    // per message, so under 96 KiB of these 2.2 MB).
    const total = 2 * sizes.reduce((a, b) => a + b, 0);
    expect(bytes()).toBeGreaterThan(total - 6 * 2 * 8192);
    expect(bytes()).toBeLessThanOrEqual(total);
    client.close();
    await once(client, 'close');
    await local.shutdown();
  });

  it('RFC 6455 §5.3: dial masks through it what it sends to the ws server', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
    try {
      const { mask, bytes } = countingMask();
      const { conn } = await dial(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { mask });
      const payload = new Uint8Array(300_000).map((_, i) => (i * 13) & 0xff);
      await conn.writeMessage('binary', payload);
      expect(Buffer.from((await conn.readMessage()).data as Uint8Array).equals(Buffer.from(payload))).toBe(
        true,
      );
      expect(bytes()).toBe(payload.length);
      await conn.close(1000);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
