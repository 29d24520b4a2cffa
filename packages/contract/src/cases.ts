/**
 * The adapter contract: every behaviour of `Conn`, `Upgrader`, `listen` and `dial` that an application can
 * observe, over real loopback sockets of the runtime under test. Written once; each runtime's runner turns
 * the cases into its own test framework's tests.
 *
 * Each case opens its own servers and clients (127.0.0.1, port 0) and closes them when it ends. Waits are
 * on events; the few time bounds (`within`) only turn a hang into a failure. Timeouts under test are short
 * (100–300 ms) and asserted with generous upper bounds.
 *
 * @module
 */

import { broadcast, CloseError, type Conn, ConnError, PreparedMessage } from '@sansws/conn';
import { HandshakeError } from '@sansws/core';
import * as assert from './assert.ts';
import { TEST_CA, TEST_CERT, TEST_KEY } from './fixtures.ts';
import { caseBuilder, type ContractCase, echo } from './harness.ts';
import { handshakeRequest, rawConnect, rawExchange, silentServer, startProxy } from './net.ts';
import type { RuntimeUnderTest } from './runtime.ts';
import { decoder, deferred, encoder, stillPending, turn, web, within } from './web.ts';

/** The frame-length classes of RFC 6455 §5.2 and their edges, plus 1 MiB. */
export const SIZES: readonly number[] = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];

const TLS = { key: TEST_KEY, cert: TEST_CERT };

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** A text of exactly `bytes` UTF-8 bytes, with 2-byte characters where they fit. */
function textOf(bytes: number): string {
  return 'é'.repeat(bytes >> 1) + 'a'.repeat(bytes & 1);
}

async function readText(conn: Conn): Promise<string> {
  const message = await conn.readMessage();
  assert.equal(message.type, 'text', 'message type');
  return message.data as string;
}

async function readBinary(conn: Conn): Promise<Uint8Array> {
  const message = await conn.readMessage();
  assert.equal(message.type, 'binary', 'message type');
  const data = message.data as Uint8Array;
  assert.equal(data.constructor, Uint8Array, 'binary data is a plain Uint8Array');
  return data;
}

function elapsedSince(start: number): number {
  return web.performance.now() - start;
}

/** The contract cases for one runtime. */
export function contractCases(runtime: RuntimeUnderTest): ContractCase[] {
  const { cases, add, group } = caseBuilder(runtime);

  group('opening handshake', () => {
    add('a dial succeeds with 101, the addresses and the request path', async (h) => {
      const server = await h.server();
      const { conn, response } = await h.dial(`${server.url}chat?room=1`, {
        headers: [['X-Token', 'abc']],
      });
      const accepted = await server.accept();
      assert.equal(response.status, 101, 'response status');
      assert.equal(conn.role, 'client', 'client role');
      assert.equal(accepted.conn.role, 'server', 'server role');
      assert.equal(conn.state, 'open', 'client state');
      assert.equal(accepted.request.target, '/chat?room=1', 'request target');
      const token = accepted.request.headers.find(([name]) => name.toLowerCase() === 'x-token');
      assert.equal(token?.[1], 'abc', 'extra request header');
      assert.equal(conn.subprotocol, null, 'no subprotocol');
      assert.equal(conn.extensions, null, 'no extensions');
      assert.equal(conn.remoteAddress?.port, server.port, 'client remote port');
      assert.equal(conn.remoteAddress?.address, '127.0.0.1', 'client remote address');
      assert.equal(accepted.conn.localAddress?.port, server.port, 'server local port');
      assert.equal(accepted.conn.remoteAddress?.port, conn.localAddress?.port, 'ports match');
    });

    const refusals: Array<[string, number, string, RegExp?]> = [
      ['malformed HTTP (bare LF)', 400, 'GET / HTTP/1.1\nHost: x\n\n'],
      [
        'a GET without Upgrade (no fetch handler)',
        426,
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
        /\r\nupgrade: websocket\r\n/i,
      ],
      [
        'another method without Upgrade',
        404,
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n',
      ],
      [
        'a handshake with another method',
        405,
        handshakeRequest(1).replace('GET', 'PUT'),
        /\r\nallow: GET\r\n/i,
      ],
      ['HTTP/1.0', 400, handshakeRequest(1).replace('HTTP/1.1', 'HTTP/1.0')],
      ['a missing Host', 400, handshakeRequest(1).replace('Host: 127.0.0.1:1\r\n', '')],
      ['a missing Connection: Upgrade', 400, handshakeRequest(1).replace('Connection: Upgrade\r\n', '')],
      [
        'an unsupported version',
        426,
        handshakeRequest(1).replace('Version: 13', 'Version: 8'),
        /\r\nsec-websocket-version: 13\r\n/i,
      ],
      ['a missing key', 400, handshakeRequest(1).replace(/Sec-WebSocket-Key: .*\r\n/, '')],
      ['an invalid key', 400, handshakeRequest(1).replace('dGhlIHNhbXBsZSBub25jZQ==', 'short')],
      [
        'a foreign Origin (same-origin default)',
        403,
        handshakeRequest(1, 'Origin: https://evil.example\r\n'),
      ],
      ['an invalid subprotocol list', 400, handshakeRequest(1, 'Sec-WebSocket-Protocol: a b\r\n')],
      ['oversized headers', 431, handshakeRequest(1, `X-Big: ${'a'.repeat(10_000)}\r\n`)],
    ];
    for (const [what, status, request, header] of refusals) {
      add(`${what} is refused with ${status} and the connection closed`, async (h) => {
        const server = await h.server();
        const answer = await within(5000, 'answer', rawExchange(runtime, server.port, request));
        assert.ok(answer.startsWith(`HTTP/1.1 ${status} `), `status line: ${answer.split('\r\n')[0]}`);
        if (header !== undefined) assert.ok(header.test(answer), `header ${header} in ${answer}`);
        assert.ok(/\r\ncontent-length: \d+\r\n/i.test(answer), 'the refusal has a Content-Length');
      });
    }

    add('onRefuse answers with its own status, headers and body; dial rejects with them', async (h) => {
      const server = await h.server({
        upgrader: {
          checkOrigin: (origin) => origin !== 'https://evil.example',
          onRefuse: (error) => ({
            status: 401,
            body: `no: ${error.code}`,
            headers: [['WWW-Authenticate', 'Bearer']],
          }),
        },
      });
      const error = await assert.rejection(h.dial(server.url, { origin: 'https://evil.example' }), 'dial');
      assert.ok(error instanceof HandshakeError, `a HandshakeError, got ${String(error)}`);
      assert.equal(error.status, 401, 'status');
      assert.equal(decoder.decode(error.body), 'no: FORBIDDEN_ORIGIN', 'body');
      const auth = error.headers.find(([name]) => name.toLowerCase() === 'www-authenticate');
      assert.equal(auth?.[1], 'Bearer', 'header');
    });

    add('origin: same-origin and allowed origins pass, others get 403', async (h) => {
      const strict = await h.server();
      const { conn } = await h.dial(strict.url, { origin: `http://127.0.0.1:${strict.port}` });
      assert.equal(conn.state, 'open', 'same origin accepted');
      const refused = await assert.rejection(h.dial(strict.url, { origin: 'https://evil.example' }), 'dial');
      assert.fields(refused, { status: 403 }, 'refusal');
      const open = await h.server({ upgrader: { checkOrigin: () => true } });
      const { conn: other } = await h.dial(open.url, { origin: 'https://evil.example' });
      assert.equal(other.state, 'open', 'allowed origin accepted');
    });

    add('subprotocols: the server picks its first preference the client offered', async (h) => {
      const server = await h.server({ upgrader: { subprotocols: ['chat', 'superchat'] } });
      const both = await h.pair(server, { subprotocols: ['superchat', 'chat'] });
      assert.equal(both.client.subprotocol, 'chat', 'client sees the choice');
      assert.equal(both.server.subprotocol, 'chat', 'server sees the choice');
      const none = await h.pair(server, { subprotocols: ['other'] });
      assert.equal(none.client.subprotocol, null, 'no common subprotocol');
      const custom = await h.server({
        upgrader: { selectSubprotocol: (offered) => offered.at(-1) ?? null },
      });
      const picked = await h.pair(custom, { subprotocols: ['a', 'b', 'c'] });
      assert.equal(picked.client.subprotocol, 'c', 'selectSubprotocol decides');
    });

    add('extra 101 headers from the Upgrader reach the client', async (h) => {
      const server = await h.server({ upgrader: { headers: (request) => [['X-Path', request.target]] } });
      const { response } = await h.dial(`${server.url}p`);
      const header = response.headers.find(([name]) => name.toLowerCase() === 'x-path');
      assert.equal(header?.[1], '/p', 'header value');
    });

    add('a slow handshake (slowloris) is cut after handshakeTimeout', async (h) => {
      const server = await h.server({ upgrader: { handshakeTimeout: 200 } });
      const client = await rawConnect(runtime, server.port);
      h.scope.defer(() => client.transport.destroy());
      client.write('GET / HTTP/1.1\r\nHost: 127.');
      const start = web.performance.now();
      await within(5000, 'server closes', client.closed);
      assert.ok(elapsedSince(start) >= 150, `closed after ${elapsedSince(start)} ms, not before the timeout`);
    });

    add('dial rejects with HANDSHAKE_TIMEOUT when the server never answers', async (h) => {
      const silent = await silentServer(runtime);
      h.scope.defer(() => silent.close());
      const start = web.performance.now();
      const error = await assert.rejection(
        h.dial(`ws://127.0.0.1:${silent.port}/`, { handshakeTimeout: 200 }),
        'dial',
      );
      assert.ok(error instanceof ConnError, `a ConnError, got ${String(error)}`);
      assert.equal(error.code, 'HANDSHAKE_TIMEOUT', 'code');
      assert.ok(elapsedSince(start) < 4000, 'rejected promptly');
    });

    add('dial rejects with the abort reason when its signal fires', async (h) => {
      const silent = await silentServer(runtime);
      h.scope.defer(() => silent.close());
      const controller = new web.AbortController();
      const dialing = h.dial(`ws://127.0.0.1:${silent.port}/`, { signal: controller.signal });
      const reason = new Error('stop');
      controller.abort(reason);
      assert.equal(await assert.rejection(dialing, 'dial'), reason, 'rejection reason');
      const early = new web.AbortController();
      early.abort(reason);
      const error = await assert.rejection(
        h.dial(`ws://127.0.0.1:${silent.port}/`, { signal: early.signal }),
        'dial',
      );
      assert.equal(error, reason, 'an aborted signal rejects at once');
    });

    add('a dial to a closed port rejects', async (h) => {
      const server = await h.server();
      const port = server.port;
      await server.shutdown();
      const error = await assert.rejection(h.dial(`ws://127.0.0.1:${port}/`), 'dial');
      assert.ok(error instanceof Error, `an Error, got ${String(error)}`);
    });
  });

  group('messages', () => {
    for (const compression of [false, true]) {
      const label = compression ? 'compression on' : 'compression off';
      for (const size of SIZES) {
        add(`text and binary of ${size} bytes echo intact (${label})`, async (h) => {
          const server = await h.echoServer({ upgrader: { compression } });
          const { conn } = await h.dial(server.url, { compression });
          const binary = pattern(size, size);
          await conn.writeMessage('binary', binary);
          assert.bytesEqual(await readBinary(conn), binary, 'binary echo');
          const text = textOf(size);
          await conn.writeMessage('text', text);
          assert.equal(await readText(conn), text, 'text echo');
        });
      }
      add(`streamed messages: nextWriter frames and nextReader chunks (${label})`, async (h) => {
        const server = await h.server({ upgrader: { compression } });
        const { client, server: peer } = await h.pair(server, { compression });
        const pieces = [pattern(70_000, 1), pattern(0, 2), pattern(125, 3), pattern(1 << 20, 4)];
        const writer = await client.nextWriter('binary');
        for (const piece of pieces) await writer.write(piece);
        await writer.close(pattern(10, 5));
        const reader = await peer.nextReader();
        assert.equal(reader.type, 'binary', 'reader type');
        const received: Uint8Array[] = [];
        for await (const chunk of reader) received.push(chunk);
        const total = received.reduce((sum, chunk) => sum + chunk.length, 0);
        const expected = [...pieces, pattern(10, 5)];
        assert.equal(total, expected.reduce((sum, piece) => sum + piece.length, 0), 'total length');
        const joined = new Uint8Array(total);
        let offset = 0;
        for (const chunk of received) (joined.set(chunk, offset), (offset += chunk.length));
        offset = 0;
        for (const piece of expected) {
          assert.bytesEqual(joined.subarray(offset, offset + piece.length), piece, 'streamed piece');
          offset += piece.length;
        }
        const text = await peer.nextWriter('text');
        await text.write('hé');
        await text.close('llo');
        assert.equal(await readText(client), 'héllo', 'streamed text read whole');
      });
    }

    add('compression is negotiated only when both sides want it; compress: false is honoured', async (h) => {
      const on = await h.echoServer({ upgrader: { compression: true } });
      const off = await h.echoServer();
      const both = await h.dial(on.url, { compression: true });
      assert.ok(both.conn.extensions?.startsWith('permessage-deflate') === true, 'negotiated');
      const json = JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ i, name: `item ${i}` })));
      await both.conn.writeMessage('text', json);
      assert.equal(await readText(both.conn), json, 'compressed echo');
      await both.conn.writeMessage('text', json, { compress: false });
      assert.equal(await readText(both.conn), json, 'uncompressed message on a compressed connection');
      const serverOnly = await h.dial(on.url);
      assert.equal(serverOnly.conn.extensions, null, 'client did not offer');
      const clientOnly = await h.dial(off.url, { compression: true });
      assert.equal(clientOnly.conn.extensions, null, 'server declined');
      await clientOnly.conn.writeMessage('text', json);
      assert.equal(await readText(clientOnly.conn), json, 'plain echo');
    });

    add('a message over maxMessageSize closes with 1009', async (h) => {
      const server = await h.server({ upgrader: { maxMessageSize: 1000 } });
      const { client, server: peer } = await h.pair(server);
      await client.writeMessage('binary', new Uint8Array(1001));
      const error = await assert.rejection(peer.readMessage(), 'server read');
      assert.fields(error, { closeCode: 1009, code: 'CLOSED_WITH_ERROR' }, 'server error');
      const info = await within(5000, 'client closed', client.closed);
      assert.equal(info.code, 1009, 'client sees 1009');
    });

    add('concurrent writers: messages arrive in call order, a streamed one whole', async (h) => {
      const server = await h.echoServer();
      const { conn } = await h.dial(server.url);
      const writes: Array<Promise<void>> = [];
      const expected: string[] = [];
      for (let i = 0; i < 200; i++) {
        const body = `m${i}:${'x'.repeat((i * 997) % 70_000)}`;
        writes.push(conn.writeMessage('text', body));
        expected.push(body);
        if (i === 100) {
          writes.push((async () => {
            const writer = await conn.nextWriter('text');
            await writer.write('s1');
            await writer.write('s2');
            await writer.close('s3');
          })());
          expected.push('s1s2s3');
        }
      }
      await within(20_000, 'writes', Promise.all(writes));
      for (const [i, body] of expected.entries()) {
        const got = await readText(conn);
        assert.ok(got === body, `message ${i}: expected ${body.slice(0, 12)}…, got ${got.slice(0, 12)}…`);
      }
    });

    add('PreparedMessage and broadcast reach every connection', async (h) => {
      const server = await h.server();
      const pairs = await Promise.all([h.pair(server), h.pair(server), h.pair(server)]);
      const prepared = new PreparedMessage('text', 'to all');
      const result = await broadcast(pairs.map((p) => p.server), prepared, {});
      assert.fields(result, { sent: 3, skipped: 0, closed: 0, failed: 0 }, 'broadcast result');
      for (const pair of pairs) assert.equal(await readText(pair.client), 'to all', 'received');
      await pairs[0]!.server.writePreparedMessage(new PreparedMessage('binary', Uint8Array.of(1, 2)));
      assert.bytesEqual(await readBinary(pairs[0]!.client), Uint8Array.of(1, 2), 'prepared binary');
    });
  });

  group('ping and pong', () => {
    add('ping resolves with the round-trip time; handlers see pings and pongs', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server);
      const pongs: Array<{ data: string; rtt: number | undefined }> = [];
      client.setPongHandler((data, rtt) => pongs.push({ data: decoder.decode(data), rtt }));
      const rtt = await within(5000, 'pong', client.ping(encoder.encode('hello')));
      assert.ok(typeof rtt === 'number' && rtt >= 0 && rtt < 5000, `rtt ${rtt}`);
      assert.equal(pongs[0]?.data, 'hello', 'pong handler payload');
      assert.equal(typeof pongs[0]?.rtt, 'number', 'pong handler rtt');
      const pings: string[] = [];
      peer.setPingHandler((data) => {
        pings.push(decoder.decode(data));
        peer.pong(data);
      });
      await within(5000, 'pong from the custom handler', client.ping(encoder.encode('p')));
      assert.equal(pings[0], 'p', 'custom ping handler');
      assert.equal(pongs[1]?.data, 'p', 'custom pong');
      peer.setPingHandler(null);
      assert.ok((await within(5000, 'pong', client.ping())) >= 0, 'default handler restored');
      const pong = await within(5000, 'server ping', peer.ping());
      assert.ok(pong >= 0, 'server ping');
    });

    add('keepalive closes with 1006 when a peer stops answering pings (server side)', async (h) => {
      const server = await h.server({ upgrader: { pingInterval: 100, pongTimeout: 150 } });
      const { client, server: peer } = await h.pair(server);
      client.setPingHandler(() => {}); // a dead peer: no pongs
      const start = web.performance.now();
      const info = await within(5000, 'server closes', peer.closed);
      assert.fields(info, { code: 1006, clean: false }, 'server outcome');
      assert.equal(info.error.code, 'CLOSED_ABNORMALLY', 'error code');
      // At least pongTimeout after a ping sent after the handshake (and `start` is a little later).
      assert.ok(elapsedSince(start) >= 100, `closed after ${elapsedSince(start)} ms`);
      assert.equal((await within(5000, 'client closes', client.closed)).code, 1006, 'client sees 1006');
    });

    add('keepalive closes with 1006 when a peer stops answering pings (client side)', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server, { pingInterval: 100, pongTimeout: 150 });
      peer.setPingHandler(() => {});
      const info = await within(5000, 'client closes', client.closed);
      assert.fields(info, { code: 1006, clean: false }, 'client outcome');
    });

    add('keepalive keeps a live, idle connection open', async (h) => {
      const server = await h.server({ upgrader: { pingInterval: 50 } });
      const { client, server: peer } = await h.pair(server);
      let pings = 0;
      const third = deferred<void>();
      client.setPingHandler((data) => {
        client.pong(data);
        if (++pings === 3) third.resolve();
      });
      await within(5000, 'three keepalive pings', third.promise);
      assert.equal(peer.state, 'open', 'still open');
      await client.writeMessage('text', 'alive');
      assert.equal(await readText(peer), 'alive', 'usable');
    });
  });

  group('closing', () => {
    add('close from the client: the server reads CLOSED_NORMALLY with the reason', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server);
      const closing = client.close(1000, 'bye');
      const error = await assert.rejection(peer.readMessage(), 'server read');
      assert.ok(error instanceof CloseError, 'a CloseError');
      assert.fields(error, { code: 'CLOSED_NORMALLY', closeCode: 1000, reason: 'bye', clean: true }, 'error');
      // The outcome carries the close frame received: the server's echo (same code; its reason is its own).
      assert.fields(await within(5000, 'close', closing), { code: 1000, clean: true }, 'info');
      assert.equal(client.state, 'closed', 'client state');
      assert.fields(await within(5000, 'server closed', peer.closed), { code: 1000, clean: true }, 'server');
    });

    add('close from the server with an application code: the client reads CLOSED_WITH_ERROR', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server);
      const closes: Array<[number, string]> = [];
      client.setCloseHandler((code, reason) => closes.push([code, reason]));
      const closing = peer.close(4000, 'custom');
      const error = await assert.rejection(client.readMessage(), 'client read');
      assert.fields(error, { code: 'CLOSED_WITH_ERROR', closeCode: 4000, reason: 'custom' }, 'error');
      assert.equal(closes[0]?.[0], 4000, 'close handler');
      assert.fields(await within(5000, 'close', closing), { code: 4000, clean: true }, 'info');
    });

    add('messages sent before a close are still read; writes after it reject', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server);
      await peer.writeMessage('text', 'last words');
      void peer.close(1001, 'away');
      assert.equal(await readText(client), 'last words', 'message before close');
      const error = await assert.rejection(client.readMessage(), 'read after');
      assert.fields(error, { closeCode: 1001, code: 'CLOSED_NORMALLY' }, 'close');
      await within(5000, 'closed', client.closed);
      const late = await assert.rejection(client.writeMessage('text', 'too late'), 'write after close');
      assert.ok(late instanceof CloseError && late.normal, 'a normal CloseError');
    });

    add('terminate: the peer sees 1006 CLOSED_ABNORMALLY', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server);
      client.terminate();
      const error = await assert.rejection(peer.readMessage(), 'server read');
      assert.fields(error, { code: 'CLOSED_ABNORMALLY', closeCode: 1006 }, 'error');
      assert.fields(await client.closed, { code: 1006, clean: false }, 'client outcome');
    });

    add('a peer vanishing mid-message ends the read with 1006', async (h) => {
      const server = await h.server();
      const { client, server: peer } = await h.pair(server);
      const writer = await client.nextWriter('binary');
      await writer.write(new Uint8Array(1000));
      const reader = await peer.nextReader();
      assert.equal((await reader.read())?.length, 1000, 'first chunk');
      client.terminate();
      const error = await assert.rejection(reader.read(), 'rest of the message');
      assert.fields(error, { code: 'CLOSED_ABNORMALLY', closeCode: 1006 }, 'error');
    });

    add('closeTimeout: close() gives up on a peer that never answers, with 1006', async (h) => {
      const server = await h.server({ upgrader: { closeTimeout: 200 } });
      const raw = await rawConnect(runtime, server.port);
      h.scope.defer(() => raw.transport.destroy());
      raw.write(handshakeRequest(server.port));
      await raw.waitFor(/\r\n\r\n/);
      const { conn } = await server.accept();
      const start = web.performance.now();
      const info = await within(5000, 'close', conn.close(1000, 'bye'));
      assert.fields(info, { code: 1006, clean: false }, 'outcome');
      assert.ok(elapsedSince(start) >= 150, `gave up after ${elapsedSince(start)} ms`);
    });

    add('a handler that throws closes the connection with 1011 and reports the error', async (h) => {
      const failure = new Error('handler failed');
      const server = await h.server({
        handler: () => {
          throw failure;
        },
      });
      const { conn } = await h.dial(server.url);
      const error = await assert.rejection(conn.readMessage(), 'read');
      assert.fields(error, { closeCode: 1011 }, 'close code');
      await within(5000, 'closed', conn.closed);
      for (let i = 0; i < 50 && server.errors.length === 0; i++) await turn();
      assert.equal(server.errors[0], failure, 'onError saw the error');
    });
  });

  group('timeouts and cancellation', () => {
    add('readTimeout fails that read only; the connection stays usable', async (h) => {
      const server = await h.echoServer();
      const { conn } = await h.dial(server.url, { readTimeout: 100 });
      const error = await assert.rejection(conn.readMessage(), 'read');
      assert.ok(
        error instanceof ConnError && error.code === 'READ_TIMEOUT',
        `READ_TIMEOUT, got ${String(error)}`,
      );
      await conn.writeMessage('text', 'still here');
      assert.equal(await readText(conn), 'still here', 'usable after the timeout');
    });

    add('an aborted read rejects with the reason; the connection stays usable', async (h) => {
      const server = await h.echoServer();
      const { conn } = await h.dial(server.url);
      const controller = new web.AbortController();
      const reading = conn.readMessage({ signal: controller.signal });
      const reason = new Error('enough');
      controller.abort(reason);
      assert.equal(await assert.rejection(reading, 'read'), reason, 'abort reason');
      await conn.writeMessage('text', 'after abort');
      assert.equal(await readText(conn), 'after abort', 'usable after the abort');
    });

    add('writeTimeout fails a write stuck behind a peer that does not read', async (h) => {
      const server = await h.server({ upgrader: { writeTimeout: 200, writeHighWaterMark: 16 * 1024 } });
      const { client, server: peer } = await h.pair(server, { readHighWaterMark: 16 * 1024 });
      const payload = new Uint8Array(64 * 1024);
      let error: unknown;
      let sent = 0;
      for (let i = 0; i < 4096 && error === undefined; i++) {
        try {
          await within(5000, 'write', peer.writeMessage('binary', payload));
          sent++;
        } catch (e) {
          error = e;
        }
      }
      assert.ok(error instanceof ConnError, `a ConnError, got ${String(error)}`);
      assert.equal(error.code, 'WRITE_TIMEOUT', 'code');
      assert.equal(peer.state, 'open', 'still open');
      for (let i = 0; i < sent; i++) assert.equal((await readBinary(client)).length, payload.length, 'read');
      await peer.writeMessage('text', 'after');
      assert.equal(await readText(client), 'after', 'usable after the timeout');
    });
  });

  group('backpressure', () => {
    add(
      'a reader that stops reading pauses its socket; the writer waits; all arrives in order',
      async (h) => {
        const hwm = 64 * 1024;
        const server = await h.server({ upgrader: { readHighWaterMark: hwm } });
        const { client, server: peer } = await h.pair(server, { writeHighWaterMark: hwm });
        const payload = new Uint8Array(64 * 1024);
        let written = 0;
        let maxBuffered = 0;
        let pending: Promise<void> | null = null;
        for (let i = 0; i < 4096 && pending === null; i++) {
          payload[0] = i & 0xff;
          const write = client.writeMessage('binary', payload.slice());
          maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
          if (await stillPending(write)) pending = write;
          else written++;
        }
        assert.ok(pending !== null, 'a write waits once the reader stopped reading');
        // Below the mark before the last accepted frame, that frame, and the write that waits.
        const bound = hwm + 2 * payload.length + 32;
        assert.ok(maxBuffered <= bound, `client buffered ${maxBuffered} bytes, more than ${bound}`);
        for (let i = 0; i <= written; i++) {
          const data = await within(10_000, `message ${i}`, readBinary(peer));
          assert.equal(data[0], i & 0xff, `message ${i} in order`);
        }
        await within(10_000, 'the waiting write', pending);
      },
    );

    add('a server writing to a client that does not read waits with a bounded buffer', async (h) => {
      const hwm = 32 * 1024;
      const server = await h.server({ upgrader: { writeHighWaterMark: hwm } });
      const { client, server: peer } = await h.pair(server, { readHighWaterMark: hwm });
      const payload = new Uint8Array(16 * 1024);
      let written = 0;
      let maxBuffered = 0;
      let pending: Promise<void> | null = null;
      for (let i = 0; i < 16_384 && pending === null; i++) {
        payload[0] = i & 0xff;
        const write = peer.writeMessage('binary', payload.slice());
        maxBuffered = Math.max(maxBuffered, peer.bufferedAmount);
        if (await stillPending(write)) pending = write;
        else written++;
      }
      assert.ok(pending !== null, 'a write waits');
      const bound = hwm + 2 * payload.length + 32;
      assert.ok(maxBuffered <= bound, `server buffered ${maxBuffered} bytes, more than ${bound}`);
      let read = 0;
      for (; read <= written; read++) assert.equal((await readBinary(client))[0], read & 0xff, 'order');
      await within(10_000, 'the waiting write', pending);
    });
    add(
      'a message handler echoing to a client that stops reading: its write waits, nothing is lost',
      async (h) => {
        const hwm = 32 * 1024;
        let peer: Conn | null = null;
        let peerBuffered = 0;
        const server = await h.server({
          upgrader: { readHighWaterMark: hwm, writeHighWaterMark: hwm },
          handler: (conn) => {
            peer = conn;
            conn.setMessageHandler((m) => {
              const write = conn.writeMessage(m.type, m.data);
              peerBuffered = Math.max(peerBuffered, conn.bufferedAmount);
              return write;
            }, { bytes: true });
          },
        });
        const { conn: client } = await h.dial(server.url, {
          readHighWaterMark: hwm,
          writeHighWaterMark: hwm,
        });
        // The client writes and does not read: the server's echoes fill the way back, the handler's write
        // waits, the next messages wait unread, the server's socket pauses, and at last the client's write
        // waits. Were the handler's promise not waited for, the server would read on and queue every echo.
        const payload = new Uint8Array(16 * 1024);
        let written = 0;
        let pending: Promise<void> | null = null;
        for (let i = 0; i < 16_384 && pending === null; i++) {
          payload[0] = i & 0xff;
          const write = client.writeMessage('binary', payload.slice());
          if (await stillPending(write)) pending = write;
          else written++;
        }
        assert.ok(peer !== null, 'the server accepted');
        assert.ok(pending !== null, "the client's write waits once the echo stalled");
        const bound = hwm + 2 * payload.length + 32;
        assert.ok(peerBuffered <= bound, `the server buffered ${peerBuffered} bytes, more than ${bound}`);
        for (let i = 0; i <= written; i++) {
          const data = await within(10_000, `echo ${i}`, readBinary(client));
          assert.equal(data[0], i & 0xff, `echo ${i} in order`);
        }
        await within(10_000, 'the waiting write', pending);
      },
    );
  });

  group('memory given back', () => {
    add(
      'Conn.release: a handler giving back each message it echoed, to a client that reads slowly; every echo intact',
      async (h) => {
        const server = await h.server({
          handler: (conn) => {
            conn.setMessageHandler(async (message, c) => {
              await c.writeMessage('binary', message.data);
              c.release(message.data);
            }, { bytes: true });
          },
        });
        const { conn: client } = await h.dial(server.url, { readHighWaterMark: 64 * 1024 });
        // 40 messages of 64–320 KiB (8 MiB), written at once and read late: each spans the server's reads, so
        // it is assembled in memory of the adapter's pool, and the way back fills, so echoes wait in the
        // server's transport while it reads and assembles more. Were a message's memory used again before its
        // echo left, a later message would show in that echo.
        const sizes = Array.from({ length: 40 }, (_, i) => 64 * 1024 + ((i * 40_503) % (256 * 1024)));
        const writes = sizes.map((size, i) => client.writeMessage('binary', pattern(size, i)));
        await stillPending(writes.at(-1)!, 50);
        for (const [i, size] of sizes.entries()) {
          const echo = await within(10_000, `echo ${i}`, readBinary(client));
          assert.bytesEqual(echo, pattern(size, i), `echo ${i}`);
          await turn();
        }
        await within(10_000, 'the writes', Promise.all(writes));
      },
    );

    add(
      'Conn.release right after the write, as the guide shows: messages of one read each echoed intact',
      async (h) => {
        // The handler releases each message in the same call that wrote its echo, while the frame of that echo
        // may still be the engine's: the release must still wait for the echo to leave. Each message comes in
        // two frames, so that it is assembled in the adapter's pool, and several come in one read, so that the
        // next one is assembled before the transport has written the echo of the one before. The last round
        // reads late, so that echoes and releases also wait behind a full way back.
        const server = await h.server({
          handler: (conn) => {
            conn.setMessageHandler((message, c) => {
              const written = c.writeMessage('binary', message.data);
              c.release(message.data);
              return written;
            }, { bytes: true });
          },
        });
        const { conn: client } = await h.dial(server.url, { readHighWaterMark: 64 * 1024 });
        const sizes = Array.from({ length: 24 }, (_, i) => 20 * 1024 + ((i * 7_919) % (40 * 1024)));
        for (let round = 0; round < 3; round++) {
          const messages = sizes.map((size, i) => pattern(size, round * 100 + i));
          const writes = messages.map(async (data) => {
            const writer = await client.nextWriter('binary');
            await writer.write(data.subarray(0, 1));
            await writer.close(data.subarray(1));
          });
          if (round === 2) await stillPending(Promise.all(writes), 50);
          for (const [i, data] of messages.entries()) {
            const echo = await within(10_000, `echo ${round}.${i}`, readBinary(client));
            assert.bytesEqual(echo, data, `echo ${round}.${i}`);
          }
          await within(10_000, 'the writes', Promise.all(writes));
        }
      },
    );
  });

  group('TLS', () => {
    add('wss:// with a custom CA: echo, and an unknown CA is refused', async (h) => {
      const server = await h.echoServer({ tls: TLS });
      assert.ok(server.url.startsWith('wss://'), `url ${server.url}`);
      const { conn } = await h.dial(server.url, { tls: { ca: TEST_CA } });
      await conn.writeMessage('binary', pattern(100_000, 9));
      assert.bytesEqual(await readBinary(conn), pattern(100_000, 9), 'echo over TLS');
      assert.equal(await conn.close().then((info) => info.clean), true, 'clean close over TLS');
      const refused = await assert.rejection(h.dial(server.url), 'dial without the CA');
      assert.ok(refused instanceof Error, `an Error, got ${String(refused)}`);
    });

    add('wss:// checks the name given as servername', async (h) => {
      const server = await h.echoServer({ tls: TLS });
      const { conn } = await h.dial(server.url, { tls: { ca: TEST_CA, servername: 'localhost' } });
      assert.equal(conn.state, 'open', 'localhost is in the certificate');
      await assert.rejection(h.dial(server.url, { tls: { ca: TEST_CA, servername: 'example.com' } }), 'dial');
    });

    add('rejectUnauthorized: false accepts an unknown certificate', async (h) => {
      const server = await h.echoServer({ tls: TLS });
      const { conn } = await h.dial(server.url, { tls: { rejectUnauthorized: false } });
      assert.equal(conn.state, 'open', 'open');
    }, 'tlsSkipVerify');

    add('the fetch fallback is served over TLS too (https://)', async (h) => {
      const server = await h.server({
        tls: TLS,
        fetch: (request) => new web.Response(`${new web.URL(request.url).protocol}`),
      });
      const { conn } = await h.dial(server.url, { tls: { ca: TEST_CA } });
      assert.equal(conn.state, 'open', 'WebSocket on the TLS port');
    });
  });

  group('proxies', () => {
    add('ws:// through an HTTP CONNECT proxy', async (h) => {
      const server = await h.echoServer();
      const proxy = await startProxy(runtime);
      h.scope.defer(() => proxy.close());
      const { conn } = await h.dial(server.url, { proxy: proxy.url });
      assert.equal(proxy.tunnels[0], `127.0.0.1:${server.port}`, 'tunnel target');
      await conn.writeMessage('binary', pattern(200_000, 3));
      assert.bytesEqual(await readBinary(conn), pattern(200_000, 3), 'echo through the proxy');
    });

    add('wss:// through a proxy with basic auth', async (h) => {
      const server = await h.echoServer({ tls: TLS });
      const proxy = await startProxy(runtime, 'user:päss');
      h.scope.defer(() => proxy.close());
      const { conn } = await h.dial(server.url, {
        proxy: proxy.url.replace('päss', encodeURIComponent('päss')),
        tls: { ca: TEST_CA },
      });
      await conn.writeMessage('text', 'tunnelled');
      assert.equal(await readText(conn), 'tunnelled', 'echo over TLS in a tunnel');
    });

    add('a proxy refusal rejects with PROXY_FAILED and its status', async (h) => {
      const server = await h.echoServer();
      const proxy = await startProxy(runtime, 'user:secret');
      h.scope.defer(() => proxy.close());
      const error = await assert.rejection(
        h.dial(server.url, { proxy: `http://user:wrong@127.0.0.1:${proxy.port}` }),
        'dial',
      );
      assert.ok(error instanceof ConnError, `a ConnError, got ${String(error)}`);
      assert.fields(error, { code: 'PROXY_FAILED', status: 407 }, 'error');
    });
  });

  group('listener', () => {
    add('the fetch fallback answers plain HTTP on the WebSocket port', async (h) => {
      const server = await h.server({
        handler: echo,
        fetch: async (request) =>
          new web.Response(`${request.method} ${new web.URL(request.url).pathname} ${await request.text()}`, {
            headers: { 'X-Served-By': 'fetch' },
          }),
        maxBodySize: 16,
      });
      const http = server.url.replace('ws', 'http');
      const page = await web.fetch(`${http}index.html`);
      assert.equal(page.headers.get('x-served-by'), 'fetch', 'header');
      assert.equal(await page.text(), 'GET /index.html ', 'GET');
      const posted = await web.fetch(http, { method: 'POST', body: 'small body' });
      assert.equal(await posted.text(), 'POST / small body', 'POST');
      const tooBig = await web.fetch(http, { method: 'POST', body: 'x'.repeat(17) });
      assert.equal(tooBig.status, 413, 'too big');
      await tooBig.text();
      const { conn } = await h.dial(server.url);
      await conn.writeMessage('text', 'both');
      assert.equal(await readText(conn), 'both', 'WebSocket on the same port');
    });

    add('graceful shutdown closes connections with 1001 and the reason, then refuses dials', async (h) => {
      const server = await h.server();
      const { client } = await h.pair(server);
      const raw = await rawConnect(runtime, server.port);
      raw.write(handshakeRequest(server.port));
      await raw.waitFor(/\r\n\r\n/);
      await server.accept(); // a peer that will never answer the close
      const start = web.performance.now();
      await within(5000, 'shutdown', server.shutdown({ reason: 'maintenance', timeout: 300 }));
      assert.ok(elapsedSince(start) < 4000, 'bounded by the timeout');
      const error = await assert.rejection(client.readMessage(), 'client read');
      assert.fields(error, { code: 'CLOSED_NORMALLY', closeCode: 1001, reason: 'maintenance' }, 'close');
      await within(5000, 'raw peer dropped', raw.closed);
      await assert.rejection(h.dial(server.url), 'dial after shutdown');
    });
  });

  return cases;
}
