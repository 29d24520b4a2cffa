/**
 * pipe(): two Conns in memory on a virtual clock. Keepalive, close and read timeouts fire when the test
 * advances the clock, so the 30-second cases take milliseconds.
 */

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closeCodes, closeReasons, MemoryTransport, pipe, settle, VirtualClock } from '../src/mod.ts';

describe('pipe()', () => {
  it('opens a client and a server that talk both ways', async () => {
    const { server, client, response } = await pipe({
      server: { subprotocols: ['v1'] },
      client: { subprotocols: ['v1'] },
    });
    expect(response.status).toBe(101);
    expect(server.subprotocol).toBe('v1');
    await client.writeMessage('text', 'hi');
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'hi' });
    await server.writeMessage('binary', Uint8Array.of(1, 2));
    expect(await client.readMessage()).toEqual({ type: 'binary', data: Uint8Array.of(1, 2) });
  });

  it('a 30-second keepalive runs on the virtual clock: pings answered, the connection stays open', async () => {
    const { server, client, clock, serverTransport } = await pipe({
      server: { pingInterval: 30_000 },
      client: { pingInterval: 0 },
    });
    const before = serverTransport.written.length;
    await clock.advance(5 * 60_000);
    expect(serverTransport.written.length - before).toBe(10); // one ping every 30 s
    expect(server.state).toBe('open');
    expect(client.state).toBe('open');
  });

  it('a 30-second keepalive closes a vanished peer with 1006 after the pong timeout', async () => {
    const { server, clientTransport, clock } = await pipe({
      server: { pingInterval: 30_000, pongTimeout: 10_000 },
      client: { pingInterval: 0 },
    });
    clientTransport.hold(true);
    await clock.advance(39_999);
    expect(server.state).toBe('open');
    await clock.advance(1);
    expect(await server.closed).toMatchObject({ code: 1006, clean: false });
  });

  it('close() gives up after the close timeout when the peer never answers', async () => {
    const { client, serverTransport, clock } = await pipe({ client: { closeTimeout: 10_000 } });
    serverTransport.hold(true);
    const closing = client.close(1000);
    await clock.advance(10_000);
    expect(await closing).toMatchObject({ code: 1006, clean: false });
  });

  it('pipes may share a clock', async () => {
    const clock = new VirtualClock();
    const a = await pipe({ clock, server: { readTimeout: 1000 } });
    const b = await pipe({ clock, server: { readTimeout: 2000 } });
    const readA = a.server.readMessage().catch((e: unknown) => e);
    const readB = b.server.readMessage().catch((e: unknown) => e);
    await clock.advance(1000);
    expect(await readA).toMatchObject({ code: 'READ_TIMEOUT' });
    await clock.advance(1000);
    expect(await readB).toMatchObject({ code: 'READ_TIMEOUT' });
  });

  it('rejects as dial does when the server refuses', async () => {
    await expect(pipe({ server: { checkOrigin: () => false } })).rejects.toMatchObject({ status: 403 });
  });

  it('any close code and reason reaches the other side (property)', async () => {
    await fc.assert(
      fc.asyncProperty(closeCodes(), closeReasons(), async (code, reason) => {
        const { server, client } = await pipe();
        const info = await client.close(code, reason);
        expect(info).toMatchObject({ code, clean: true });
        expect(await server.closed).toMatchObject({ code, reason, clean: true });
      }),
      { numRuns: 25 },
    );
  });
});

describe('MemoryTransport', () => {
  it('delivers in order, signals backpressure and drain, and ends like TCP', async () => {
    const [a, b] = MemoryTransport.pair();
    const got: number[] = [];
    let drained = 0;
    let ended = false;
    a.start({ data: () => {}, end: () => {}, drain: () => drained++, closed: () => {} }, {
      writeHighWaterMark: 4,
    });
    b.start({ data: (c) => got.push(...c), end: () => (ended = true), drain: () => {}, closed: () => {} }, {
      writeHighWaterMark: 4,
    });
    expect(a.write(Uint8Array.of(1, 2))).toBe(true);
    expect(a.write(Uint8Array.of(3, 4, 5))).toBe(false);
    a.end();
    await settle();
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(drained).toBe(1);
    expect(ended).toBe(true);
    b.end();
    await settle();
    expect(a.closed && b.closed).toBe(true);
  });
});
