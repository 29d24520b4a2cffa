/**
 * Conn's message handler (`setMessageHandler`): whole messages handed to a callback as they arrive, over
 * the in-memory transport pair on a virtual clock. Deterministic: nothing sleeps.
 */

import { UsageError } from '@sansws/core';
import { chunkings, encodeFrames, invalidFrames, pipe, traffic } from '@sansws/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseError, type Message, type MessageBytes } from '../src/mod.ts';
import { openPair, settle, text } from './memory.ts';

const runs = Number(process.env.SANSWS_FC_RUNS ?? 40);

/** Masked with the all-zero key, so the payload bytes stay readable. */
const masked = (b0: number, payload: string) =>
  Uint8Array.from([b0, 0x80 | payload.length, 0, 0, 0, 0, ...text(payload)]);

describe('message handler (RFC 6455 §6.2: each message delivered whole, in order)', () => {
  it('gets every message in order, text decoded and binary as bytes, until it is removed', async () => {
    const { server, client } = await openPair();
    const got: Message[] = [];
    server.setMessageHandler((message, conn) => {
      expect(conn).toBe(server);
      got.push(message);
    });
    await client.writeMessage('text', 'héllo');
    await client.writeMessage('binary', Uint8Array.of(1, 2, 3));
    await client.writeMessage('text', '');
    await settle();
    expect(got).toEqual([
      { type: 'text', data: 'héllo' },
      { type: 'binary', data: Uint8Array.of(1, 2, 3) },
      { type: 'text', data: '' },
    ]);
    server.setMessageHandler(null);
    await client.writeMessage('text', 'for a read');
    await settle();
    expect(got).toHaveLength(3);
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'for a read' });
  });

  it('with { bytes: true } text stays UTF-8, and written back it is the same message (an echo)', async () => {
    const { server, client } = await openPair();
    const seen: MessageBytes[] = [];
    server.setMessageHandler((message) => {
      seen.push(message);
      return server.writeMessage(message.type, message.data);
    }, { bytes: true });
    await client.writeMessage('text', 'é'.repeat(70_000));
    await client.writeMessage('binary', new Uint8Array(300).fill(9));
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'é'.repeat(70_000) });
    expect(await client.readMessage()).toEqual({ type: 'binary', data: new Uint8Array(300).fill(9) });
    expect(seen[0]!.data.constructor).toBe(Uint8Array);
    expect(Buffer.from(seen[0]!.data).equals(Buffer.from(text('é'.repeat(70_000))))).toBe(true);
  });

  it('a write made in the handler is in bufferedAmount at once: its referenced bytes count until written', async () => {
    // writeMessage's TSDoc: the bytes are referenced, not copied; do not modify them until they are written
    // (bufferedAmount). That must hold inside a handler too, which runs while the Conn moves the engine's output.
    const { server, client, serverTransport } = await openPair();
    const seen: number[] = [];
    server.setMessageHandler((message, conn) => {
      const before = conn.bufferedAmount;
      const written = conn.writeMessage('binary', message.data);
      seen.push(conn.bufferedAmount - before);
      return written;
    }, { bytes: true });
    serverTransport.hold(true);
    await client.writeMessage('binary', new Uint8Array(40_000).fill(5));
    await client.writeMessage('binary', new Uint8Array(100).fill(6));
    await settle();
    // The frame header and the payload (a server references payloads above 16 KiB; smaller ones are copied).
    expect(seen).toEqual([40_004, 102]);
    serverTransport.hold(false);
    expect((await client.readMessageBytes()).data.every((b) => b === 5)).toBe(true);
    expect((await client.readMessageBytes()).data.every((b) => b === 6)).toBe(true);
  });

  it('messages received before it was set are delivered from a microtask, not from inside the call', async () => {
    const { server, client } = await openPair();
    await client.writeMessage('text', 'early');
    await settle();
    const got: string[] = [];
    server.setMessageHandler((message) => void got.push(message.data as string));
    expect(got).toEqual([]);
    await settle();
    expect(got).toEqual(['early']);
  });

  it('a returned promise holds the next message back until it settles; read backpressure applies', async () => {
    const { server, client, serverTransport } = await openPair({ readHighWaterMark: 10_000 });
    const got: number[] = [];
    let release!: () => void;
    server.setMessageHandler((message) => {
      got.push((message.data as Uint8Array)[0]!);
      return new Promise<void>((resolve) => (release = resolve));
    });
    for (let i = 0; i < 10; i++) void client.writeMessage('binary', new Uint8Array(3000).fill(i));
    await settle();
    expect(got).toEqual([0]);
    // Nine messages wait unread: 27,000 bytes above the 10,000 mark.
    expect(serverTransport.paused).toBe(true);
    for (let i = 1; i < 10; i++) {
      release();
      await settle();
      expect(got).toHaveLength(i + 1);
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(serverTransport.paused).toBe(false);
  });

  it('a throw fails the connection with 1011, the error kept as the cause (RFC 6455 §7.4.1)', async () => {
    const { server, client } = await openPair();
    const failure = new Error('boom');
    server.setMessageHandler(() => {
      throw failure;
    });
    await client.writeMessage('text', 'x');
    await expect(client.readMessage()).rejects.toMatchObject({ closeCode: 1011 });
    const info = await server.closed;
    expect(info.code).toBe(1011);
    expect(info.error.cause).toBe(failure);
  });

  it('a rejection fails the connection with 1011 too, after the messages before it', async () => {
    const { server, client } = await openPair();
    const failure = new Error('async boom');
    const got: string[] = [];
    server.setMessageHandler(async (message) => {
      got.push(message.data as string);
      if (message.data === 'bad') throw failure;
      await server.writeMessage('text', `re: ${message.data as string}`);
    });
    await client.writeMessage('text', 'ok');
    await client.writeMessage('text', 'bad');
    await client.writeMessage('text', 'never');
    expect(await client.readMessage()).toEqual({ type: 'text', data: 're: ok' });
    await expect(client.readMessage()).rejects.toMatchObject({ closeCode: 1011 });
    expect((await server.closed).error.cause).toBe(failure);
    expect(got).toEqual(['ok', 'bad']);
  });

  it('while set, reads, readers and iteration reject with a UsageError; it cannot take over a read', async () => {
    const { server, client } = await openPair();
    server.setMessageHandler(() => {});
    await expect(server.readMessage()).rejects.toBeInstanceOf(UsageError);
    await expect(server.readMessageBytes()).rejects.toBeInstanceOf(UsageError);
    await expect(server.nextReader()).rejects.toBeInstanceOf(UsageError);
    await expect(server[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(UsageError);
    server.setMessageHandler(null);
    // A read in progress keeps its turn: no handler may take its messages.
    const reading = server.readMessage();
    expect(() => server.setMessageHandler(() => {})).toThrow(UsageError);
    await client.writeMessage('text', 'to the read');
    expect(await reading).toEqual({ type: 'text', data: 'to the read' });
    // Once a streaming reader was asked for, messages may arrive in parts: refused.
    const reader = server.nextReader();
    await client.writeMessage('binary', Uint8Array.of(1));
    await (await reader).read();
    expect(() => server.setMessageHandler(() => {})).toThrow(UsageError);
    expect(() => server.setMessageHandler('nope' as never)).toThrow(UsageError);
  });

  it('the connection closing ends the deliveries; messages before the close are all delivered', async () => {
    const { server, client } = await openPair();
    const got: string[] = [];
    server.setMessageHandler((message) => void got.push(message.data as string));
    await client.writeMessage('text', 'one');
    await client.writeMessage('text', 'two');
    await client.close(1000, 'bye');
    const info = await server.closed;
    expect(info).toMatchObject({ code: 1000, reason: 'bye', clean: true });
    expect(got).toEqual(['one', 'two']);
    expect(info.error).toBeInstanceOf(CloseError);
  });
});

describe('RFC 6455 §7.1.7 with a message handler: messages before a violation are answered first', () => {
  it('a synchronous echo goes out before the 1002 close, with no hold', async () => {
    const { server, client, clientTransport } = await openPair();
    server.setMessageHandler((m) => server.writeMessage(m.type, m.data), { bytes: true });
    clientTransport.write(Uint8Array.from([...masked(0x81, 'hi'), ...masked(0x83, '')]));
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'hi' });
    await expect(client.readMessage()).rejects.toMatchObject({ closeCode: 1002 });
    expect((await server.closed).code).toBe(1002);
  });

  it('an asynchronous handler is waited for: its late echo still precedes the close', async () => {
    const { server, client, clientTransport } = await openPair();
    let release!: () => void;
    server.setMessageHandler(async (m) => {
      await new Promise<void>((resolve) => (release = resolve));
      await server.writeMessage(m.type, m.data);
    });
    clientTransport.write(Uint8Array.from([...masked(0x81, 'a'), ...masked(0x81, 'b'), ...masked(0x83, '')]));
    // The virtual clock stands still: only the handler's settling can end the hold.
    await settle();
    release();
    await settle();
    release();
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'a' });
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'b' });
    await expect(client.readMessage()).rejects.toMatchObject({ closeCode: 1002 });
  });
});

describe('message handler: property (fast-check)', () => {
  it('an echo handler returns every message, in order, however the bytes are chunked and answered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ type: fc.constant('binary' as const), data: fc.uint8Array({ maxLength: 300 }) }),
            fc.record({
              type: fc.constant('text' as const),
              data: fc.string({ unit: 'grapheme', maxLength: 80 }),
            }),
          ),
          { maxLength: 20 },
        ),
        fc.boolean(),
        fc.boolean(),
        async (messages, asynchronous, bytes) => {
          const { server, client } = await openPair({ readHighWaterMark: 512 });
          const echo = async (m: MessageBytes | Message): Promise<void> => {
            if (asynchronous) await Promise.resolve();
            await server.writeMessage(m.type, m.data);
          };
          if (bytes) server.setMessageHandler(echo, { bytes: true });
          else server.setMessageHandler(echo);
          for (const m of messages) void client.writeMessage(m.type, m.data);
          for (const m of messages) {
            const back = await client.readMessage();
            expect(back).toEqual(m);
          }
          await client.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('generated traffic from a raw client, in any chunking, reaches the handler whole and in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        traffic({ maxMessages: 4, maxSize: 70_000 }).chain((t) =>
          fc.tuple(fc.constant(t), chunkings(encodeFrames(t.frames)))
        ),
        async ([t, chunks]) => {
          const { server, clientTransport } = await pipe();
          const got: Message[] = [];
          server.setMessageHandler((message) => void got.push(message));
          for (const chunk of chunks) clientTransport.write(chunk);
          await settle();
          expect(got).toHaveLength(t.messages.length);
          t.messages.forEach((m, i) => {
            expect(got[i]!.type).toBe(m.type);
            if (m.type === 'text') expect(got[i]!.data).toBe(m.text);
            else expect(Buffer.from(got[i]!.data as Uint8Array).equals(m.data)).toBe(true);
          });
        },
      ),
      { numRuns: runs },
    );
  });

  it('an invalid frame closes with the code its kind calls for (RFC 6455 §7.4.1), the handler set', async () => {
    await fc.assert(
      fc.asyncProperty(invalidFrames({ to: 'server' }), async (c) => {
        const { server, client, clientTransport } = await pipe();
        server.setMessageHandler((m, conn) => conn.writeMessage(m.type, m.data), { bytes: true });
        clientTransport.write(encodeFrames(c.frames));
        expect((await server.closed).code, c.description).toBe(c.closeCode);
        expect((await client.closed).code, c.description).toBe(c.closeCode);
      }),
      { numRuns: runs },
    );
  });
});
