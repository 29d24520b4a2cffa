/**
 * The examples under examples/, run as a user would reach them: over loopback sockets, with our `dial`
 * and with `fetch`. The chat room (`npm start`), the echo server and client, the command streamer, and
 * Express and Fastify sharing their port with `upgrader.upgrade`. Every server binds 127.0.0.1, port 0.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conn, dial, HandshakeError, type Message } from '../src/mod.ts';
import { type Chat, startChat } from '../../../examples/chat.ts';
import { startCommandServer } from '../../../examples/command.ts';
import { runEchoClient } from '../../../examples/echo-client.ts';
import { startEchoServer } from '../../../examples/echo-server.ts';
import { startExpressExample } from '../../../examples/express.ts';
import { startFastifyExample } from '../../../examples/fastify.ts';

const expressVersion = (await import('express/package.json', { with: { type: 'json' } })).default.version;
const fastifyVersion = (await import('fastify/package.json', { with: { type: 'json' } })).default.version;

/** Reads text messages until one satisfies `done`; returns them all. */
async function readUntil(conn: Conn, done: (text: string) => boolean): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const message: Message = await conn.readMessage({ signal: AbortSignal.timeout(5000) });
    expect(message.type).toBe('text');
    seen.push(message.data as string);
    if (done(message.data as string)) return seen;
  }
}

describe('the chat room (npm start)', () => {
  let chat: Chat;
  beforeAll(async () => {
    chat = await startChat({ port: 0 });
  });
  afterAll(() => chat.close());

  it('serves its page at / and nothing else over plain HTTP', async () => {
    const page = await fetch(chat.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<title>sansws chat</title>');
    expect(html).toContain("new URL('/ws', location.href)");
    expect((await fetch(`${chat.url}missing`)).status).toBe(404);
    expect((await fetch(chat.url, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('broadcasts what one member says to every member, with joins, nick changes and leaves', async () => {
    const { conn: alice } = await dial(chat.socketUrl);
    await readUntil(alice, (line) => /joined \(1 here\)$/.test(line));
    const { conn: bob } = await dial(chat.socketUrl);
    await readUntil(bob, (line) => /joined \(2 here\)$/.test(line));
    await readUntil(alice, (line) => /joined \(2 here\)$/.test(line));

    await alice.writeMessage('text', '/nick alice');
    await alice.writeMessage('text', 'hello, room');
    for (const member of [alice, bob]) {
      const lines = await readUntil(member, (line) => line === 'alice: hello, room');
      expect(lines).toEqual([expect.stringMatching(/^\* guest-\d+ is now alice$/), 'alice: hello, room']);
    }
    expect(chat.members.size).toBe(2);

    await bob.close();
    expect(await readUntil(alice, (line) => line.endsWith(' left'))).toEqual([
      expect.stringMatching(/^\* guest-\d+ left$/),
    ]);
    expect(chat.members.size).toBe(1);
    await alice.close();
  });

  it('closes a member that sends binary (1003) and refuses sockets outside /ws (1008)', async () => {
    const { conn } = await dial(chat.socketUrl);
    await conn.writeMessage('binary', Uint8Array.of(1, 2, 3));
    const outcome = await conn.closed;
    expect(outcome).toMatchObject({ code: 1003, reason: 'text messages only', clean: true });
    const { conn: stray } = await dial(chat.socketUrl.replace(/\/ws$/, '/elsewhere'));
    expect(await stray.closed).toMatchObject({ code: 1008, clean: true });
  });

  it("refuses a handshake from another web site's page (same-origin default): 403", async () => {
    const error = await dial(chat.socketUrl, { origin: 'https://evil.example' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeError);
    expect((error as HandshakeError).status).toBe(403);
  });

  it('closes with 1001 on shutdown', async () => {
    const local = await startChat({ port: 0 });
    const { conn } = await dial(local.socketUrl);
    await local.close();
    expect(await conn.closed).toMatchObject({ code: 1001, reason: 'the chat is closing' });
  });
});

describe('the echo server and client', () => {
  it('the client gets each of its messages back, with compression negotiated', async () => {
    const server = await startEchoServer({ port: 0 });
    const printed: string[] = [];
    const echoes = await runEchoClient(server.url, ['one', 'dos', 'трі'], (line) => printed.push(line));
    expect(echoes).toEqual(['one', 'dos', 'трі']);
    expect(printed[0]).toMatch(/^connected to .*: 101 .*extensions permessage-deflate/);
    expect(printed.at(-1)).toBe('closed: 1000 (clean)');
    await server.shutdown();
  });

  it('the message-handler echo gives back text and binary, in order, and ends with the client', async () => {
    const server = await startEchoServer({ port: 0, style: 'callback' });
    const printed: string[] = [];
    const echoes = await runEchoClient(server.url, ['one', 'dos', 'трі'], (line) => printed.push(line));
    expect(echoes).toEqual(['one', 'dos', 'трі']);
    expect(printed.at(-1)).toBe('closed: 1000 (clean)');
    const { conn } = await dial(server.url);
    await conn.writeMessage('binary', Uint8Array.of(0, 255, 7));
    await conn.writeMessage('text', 'after');
    expect(await conn.readMessage()).toEqual({ type: 'binary', data: Uint8Array.of(0, 255, 7) });
    expect(await conn.readMessage()).toEqual({ type: 'text', data: 'after' });
    await conn.close();
    await server.shutdown();
  });

  it('the server echoes binary as binary, and answers a browser GET with 426', async () => {
    const server = await startEchoServer({ port: 0 });
    const { conn } = await dial(server.url);
    await conn.writeMessage('binary', Uint8Array.of(0, 255, 7));
    expect(await conn.readMessage()).toEqual({ type: 'binary', data: Uint8Array.of(0, 255, 7) });
    await conn.close();
    const page = await fetch(server.url.replace('ws:', 'http:'));
    expect(page.status).toBe(426);
    await page.text();
    await server.shutdown();
  });
});

describe('the command example streams a process', () => {
  it("sends each line of the process's output as a message, then closes with its exit status", async () => {
    const script = 'for (let i = 0; i < 2000; i++) console.log("line " + i); console.error("done");';
    const server = await startCommandServer({ command: [process.execPath, '-e', script], port: 0 });
    const { conn } = await dial(server.socketUrl);
    const lines: string[] = [];
    try {
      for await (const message of conn) lines.push(message.data as string);
    } catch (error) {
      throw new Error(`after ${lines.length} lines: ${String(error)}`);
    }
    expect(lines.filter((line) => line.startsWith('line '))).toEqual(
      Array.from({ length: 2000 }, (_, i) => `line ${i}`),
    );
    expect(lines).toContain('done');
    expect(await conn.closed).toMatchObject({ code: 1000, reason: 'exit 0', clean: true });
    await server.close();
  });

  it("feeds messages to the process's stdin, and ends the process when the socket closes", async () => {
    const server = await startCommandServer({ command: ['cat'], port: 0, gracePeriod: 2000 });
    const page = await (await fetch(server.url)).text();
    expect(page).toContain('<title>sansws command: cat</title>');
    const { conn } = await dial(server.socketUrl);
    await conn.writeMessage('text', 'hello, cat');
    expect(await conn.readMessage()).toEqual({ type: 'text', data: 'hello, cat' });
    await conn.writeMessage('text', 'ünïcödé');
    expect(await conn.readMessage()).toEqual({ type: 'text', data: 'ünïcödé' });
    // Closing the socket closes cat's stdin: cat exits, and the server closes with no process left.
    expect(await conn.close()).toMatchObject({ code: 1000, clean: true });
    await server.close();
  });
});

describe('the command example when the command cannot start', () => {
  it('closes the socket with 1000 and the reason', async () => {
    const server = await startCommandServer({ command: ['/nonexistent/sansws-command'], port: 0 });
    const { conn } = await dial(server.socketUrl);
    const outcome = await conn.closed;
    expect(outcome).toMatchObject({ code: 1000, clean: true });
    expect(outcome.reason).toMatch(/^failed to start: .*ENOENT/);
    await server.close();
  });
});

describe(`frameworks sharing their port with upgrader.upgrade`, () => {
  const frameworks = [
    { name: `Express ${expressVersion}`, start: () => startExpressExample(0), from: 'express' },
    { name: `Fastify ${fastifyVersion}`, start: () => startFastifyExample(0), from: 'fastify' },
  ];
  for (const framework of frameworks) {
    it(`${framework.name}: an HTTP route and a WebSocket on the same port`, async () => {
      const example = await framework.start();
      const response = await fetch(`${example.url}api/hello?name=sansws`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ hello: 'sansws', from: framework.from });
      expect(new URL(example.socketUrl).port).toBe(new URL(example.url).port);

      const { conn } = await dial(example.socketUrl, { compression: true });
      await conn.writeMessage('text', `hi ${framework.from}`);
      expect(await conn.readMessage()).toEqual({ type: 'text', data: `hi ${framework.from}` });
      await conn.writeMessage('binary', new Uint8Array(70_000).fill(9));
      expect((await conn.readMessage()).data).toEqual(new Uint8Array(70_000).fill(9));

      // Routes still work while a WebSocket is open, and other paths are not upgraded.
      expect((await fetch(`${example.url}api/hello`)).status).toBe(200);
      const stray = await dial(example.socketUrl.replace(/\/ws$/, '/nope')).catch((e: unknown) => e);
      expect(stray).toBeInstanceOf(HandshakeError);
      expect((stray as HandshakeError).status).toBe(404);

      await example.close();
      expect(await conn.closed).toMatchObject({ code: 1001, clean: true });
    });
  }
});
