/**
 * Conn over an in-memory transport pair on a virtual clock: messages, streaming, ordering, backpressure
 * both ways, control frames, deadlines and cancellation, closing, and typed errors. Deterministic: no
 * real time passes and nothing sleeps.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getHeader, getHeaderValues, HandshakeError, ProtocolError, UsageError } from '@sansws/core';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { CloseError, ConnError } from '../src/mod.ts';
import { zlibCodec } from '../../zlib/src/mod.ts';
import { MemoryTransport, openPair, settle, text } from './memory.ts';

const SIZES = [0, 1, 125, 126, 127, 65535, 65536];

describe('whole messages (RFC 6455 §5.6)', () => {
  it('carries text and binary of every size class, client → server and server → client', async () => {
    const { server, client } = await openPair();
    for (const [from, to] of [[client, server], [server, client]] as const) {
      for (const size of SIZES) {
        const payload = new Uint8Array(size).map((_, i) => i & 0xff);
        await from.writeMessage('binary', payload);
        await from.writeMessage('text', 'é'.repeat(size >> 1));
        const binary = await to.readMessage();
        expect(binary.type).toBe('binary');
        expect(Buffer.from(binary.data as Uint8Array).equals(payload)).toBe(true);
        expect(await to.readMessage()).toEqual({ type: 'text', data: 'é'.repeat(size >> 1) });
      }
    }
  });

  it('accepts text as UTF-8 bytes and refuses invalid UTF-8 with a UsageError', async () => {
    const { server, client } = await openPair();
    await client.writeMessage('text', text('héllo'));
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'héllo' });
    await expect(client.writeMessage('text', Uint8Array.of(0xff))).rejects.toBeInstanceOf(UsageError);
  });

  it('readMessageBytes leaves text as its UTF-8 bytes; written back as text they are the same message', async () => {
    const { server, client } = await openPair();
    for (const size of SIZES) {
      const sent = 'é'.repeat(size >> 1);
      await client.writeMessage('text', sent);
      await client.writeMessage('binary', new Uint8Array(size).fill(7));
      const echoed = await server.readMessageBytes();
      expect(echoed.type).toBe('text');
      expect(echoed.data.constructor).toBe(Uint8Array);
      expect(Buffer.from(echoed.data).equals(Buffer.from(text(sent)))).toBe(true);
      const binary = await server.readMessageBytes();
      expect(binary.type).toBe('binary');
      expect(Buffer.from(binary.data).equals(Buffer.alloc(size, 7))).toBe(true);
      await server.writeMessage(echoed.type, echoed.data);
      expect(await client.readMessage()).toEqual({ type: 'text', data: sent });
    }
  });

  it('a message already received is read at once, yet never ahead of a read in progress', async () => {
    const { server, client } = await openPair();
    await client.writeMessage('text', 'first');
    await client.writeMessage('text', 'second');
    await settle();
    const reader = await server.nextReader();
    // 'second' is whole in the inbox, but the reader of 'first' holds the read turn.
    const next = server.readMessage();
    let nextDone = false;
    void next.then(() => (nextDone = true));
    await settle();
    expect(nextDone).toBe(false);
    expect(new TextDecoder().decode((await reader.read())!)).toBe('first');
    expect(await reader.read()).toBeNull();
    expect(await next).toEqual({ type: 'text', data: 'second' });
  });

  it('a read called while an earlier one waits does not overtake it, even for a message already received', async () => {
    const { server, client } = await openPair();
    const first = server.readMessage(); // waits: nothing received yet
    let second: Promise<unknown> | undefined;
    // Called from inside the delivery that brings 'one': the earlier read has not resumed yet.
    server.setPingHandler(() => (second ??= server.readMessage()));
    void client.writeMessage('text', 'one');
    void client.ping();
    void client.writeMessage('text', 'two');
    expect(await first).toEqual({ type: 'text', data: 'one' });
    await settle();
    expect(await second).toEqual({ type: 'text', data: 'two' });
  });

  it('iterates with for await and ends quietly on a normal close', async () => {
    const { server, client } = await openPair();
    for (const m of ['a', 'b', 'c']) void client.writeMessage('text', m);
    void client.close(1000, 'done');
    const seen: string[] = [];
    for await (const message of server) seen.push(String(message.data));
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('iteration: breaking out leaves the connection open, and a new loop reads on', async () => {
    const { server, client } = await openPair();
    for (const m of ['a', 'b']) void client.writeMessage('text', m);
    for await (const message of server) {
      expect(message).toEqual({ type: 'text', data: 'a' });
      break;
    }
    expect(server.state).toBe('open');
    for await (const message of server) {
      expect(message).toEqual({ type: 'text', data: 'b' });
      break;
    }
    void client.writeMessage('binary', Uint8Array.of(1, 2));
    expect(await server.readMessage()).toEqual({ type: 'binary', data: Uint8Array.of(1, 2) });
  });

  it('iteration: steps asked for together get the messages in order; after the end every step is done', async () => {
    const { server, client } = await openPair();
    const iterator = server[Symbol.asyncIterator]();
    expect(iterator[Symbol.asyncIterator]()).toBe(iterator);
    const steps = [iterator.next(), iterator.next(), iterator.next()];
    for (const m of ['x', 'y']) void client.writeMessage('text', m);
    void client.close(1000);
    expect(await Promise.all(steps)).toEqual([
      { value: { type: 'text', data: 'x' }, done: false },
      { value: { type: 'text', data: 'y' }, done: false },
      { value: undefined, done: true },
    ]);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('iteration: a step waiting on an idle connection gets a message sent in fragments whole (RFC 6455 §5.4), then the end', async () => {
    const { server, client } = await openPair();
    const iterator = server[Symbol.asyncIterator]();
    const first = iterator.next();
    await settle();
    const writer = await client.nextWriter('text');
    await writer.write('frag');
    await settle();
    await writer.close('ments');
    expect(await first).toEqual({ value: { type: 'text', data: 'fragments' }, done: false });
    const second = iterator.next();
    await settle();
    void client.writeMessage('binary', Uint8Array.of(7));
    expect(await second).toEqual({ value: { type: 'binary', data: Uint8Array.of(7) }, done: false });
    const third = iterator.next();
    await settle();
    void client.close(1000);
    expect(await third).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('iteration: after an error close has been thrown, the next step is done', async () => {
    const { server, client } = await openPair();
    const iterator = server[Symbol.asyncIterator]();
    void client.close(4001, 'bad');
    await expect(iterator.next()).rejects.toMatchObject({ code: 'CLOSED_WITH_ERROR', closeCode: 4001 });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(await iterator.return!()).toEqual({ value: undefined, done: true });
  });

  it('iteration with a read timeout (steps that cannot park): messages in order, then the error close thrown, then done', async () => {
    const { server, client } = await openPair({ readTimeout: 60_000 });
    const iterator = server[Symbol.asyncIterator]();
    const first = iterator.next();
    await settle();
    void client.writeMessage('text', 'slow');
    expect(await first).toEqual({ value: { type: 'text', data: 'slow' }, done: false });
    const second = iterator.next();
    await settle();
    void client.close(4002, 'gone');
    await expect(second).rejects.toMatchObject({ code: 'CLOSED_WITH_ERROR', closeCode: 4002 });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it("iterators share their methods: an idle connection's iteration is one small object, not closures", async () => {
    const { server } = await openPair();
    const [a, b] = [server[Symbol.asyncIterator](), server[Symbol.asyncIterator]()];
    expect(a).not.toBe(b);
    expect([a.next, a.return, a[Symbol.asyncIterator]]).toEqual([b.next, b.return, b[Symbol.asyncIterator]]);
    expect(Object.keys(a)).toEqual([]);
  });

  it('iteration throws a CloseError for an error close code', async () => {
    const { server, client } = await openPair();
    void client.close(4000, 'app error');
    const iterate = async () => {
      for await (const _ of server) { /* nothing arrives */ }
    };
    const error = await iterate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloseError);
    expect(error).toMatchObject({
      code: 'CLOSED_WITH_ERROR',
      closeCode: 4000,
      reason: 'app error',
      clean: true,
    });
  });

  it('exposes the negotiated subprotocol, addresses and the raw transport', async () => {
    const { server, client, serverTransport } = await openPair({ subprotocols: ['v2', 'v1'] }, {
      subprotocols: ['v1', 'v2'],
    });
    expect(server.subprotocol).toBe('v2');
    expect(client.subprotocol).toBe('v2');
    expect(server.extensions).toBeNull();
    expect(server.role).toBe('server');
    expect(server.remoteAddress).toEqual({ address: '127.0.0.1', port: 50000, family: 'IPv4' });
    expect(server.localAddress?.port).toBe(80);
    expect(server.raw).toBe(serverTransport);
    expect(server.request?.target).toBe('/chat');
    expect(client.response?.status).toBe(101);
  });
});

describe('RFC 6455 §8.1: text bytes from readMessageBytes are validated once, on arrival', () => {
  /** A server whose injected validator records the length of every buffer it checks. */
  async function recordingPair() {
    const checked: number[] = [];
    const validateUtf8 = (bytes: Uint8Array): boolean => {
      checked.push(bytes.length);
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes) !== null;
    };
    return { checked, ...(await openPair({ validateUtf8 })) };
  }
  const large = 'héllo wörld, € 🎉 '.repeat(4000); // 84 KiB

  it('written back as text (the echo), the bytes are not checked again, however the read got them', async () => {
    const { server, client, checked } = await recordingPair();
    // Three ways a read gets its message: already in the inbox, parked before it came, waiting with a signal.
    const reads = [
      async () => (await client.writeMessage('text', large), await settle(), server.readMessageBytes()),
      async () => {
        const read = server.readMessageBytes();
        await settle();
        await client.writeMessage('text', large);
        return read;
      },
      async () => {
        const read = server.readMessageBytes({ signal: new AbortController().signal });
        await settle();
        await client.writeMessage('text', large);
        return read;
      },
    ];
    for (const read of reads) {
      const message = await read();
      expect(checked.reduce((a, b) => a + b, 0)).toBe(message.data.length); // on arrival, once
      checked.length = 0;
      await server.writeMessage(message.type, message.data);
      expect(checked).toEqual([]);
      expect(await client.readMessage()).toEqual({ type: 'text', data: large });
    }
  });

  it('relayed to another connection, they are not checked again either', async () => {
    const from = await recordingPair();
    const to = await recordingPair();
    await from.client.writeMessage('text', large);
    const message = await from.server.readMessageBytes();
    await to.server.writeMessage('text', message.data);
    expect(to.checked).toEqual([]);
    expect(await to.client.readMessage()).toEqual({ type: 'text', data: large });
  });

  it('other bytes are checked: a copy, text read with readMessage, binary, and text under 16 KiB', async () => {
    const { server, client, checked } = await recordingPair();
    const small = 'é'.repeat(4000); // 8,000 bytes
    for (const [type, payload] of [['text', large], ['binary', large], ['text', small]] as const) {
      await client.writeMessage(type, payload);
      const message = await server.readMessageBytes();
      checked.length = 0;
      await server.writeMessage('text', message.data.slice());
      await server.writeMessage('text', message.data);
      expect(checked).toEqual(
        type === 'text' && payload === large ? [message.data.length] : [
          message.data.length,
          message.data.length,
        ],
      );
    }
    await client.writeMessage('text', large);
    const decoded = await server.readMessage();
    const bytes = text(decoded.data as string);
    checked.length = 0;
    await server.writeMessage('text', bytes);
    expect(checked).toEqual([bytes.length]);
  });
});

describe('RFC 6455 §5.6: a text message read as a string and written back is sent as the bytes it arrived as', () => {
  const large = '\uFEFFhéllo wörld, € 🎉 '.repeat(4000); // 84 KiB, a byte order mark first
  /** Counts the strings our TextEncoder is asked to encode while `run` runs. */
  async function encodings(run: () => Promise<void>): Promise<number> {
    const encodeInto = vi.spyOn(TextEncoder.prototype, 'encodeInto');
    const encode = vi.spyOn(TextEncoder.prototype, 'encode');
    try {
      await run();
      return encodeInto.mock.calls.length + encode.mock.calls.length;
    } finally {
      encodeInto.mockRestore();
      encode.mockRestore();
    }
  }

  it('an echo (readMessage or the iterator) and a relay encode nothing, and send what came', async () => {
    const { server, client } = await openPair();
    const other = await openPair();
    await client.writeMessage('text', large);
    await client.writeMessage('text', large + '!');
    const iterator = server[Symbol.asyncIterator]();
    const first = await server.readMessage();
    const second = (await iterator.next()).value!;
    expect(
      await encodings(async () => {
        await server.writeMessage('text', first.data);
        await server.writeMessage(second.type, second.data);
        await other.server.writeMessage('text', first.data);
      }),
    ).toBe(0);
    expect(await client.readMessage()).toEqual({ type: 'text', data: large });
    expect(await client.readMessage()).toEqual({ type: 'text', data: large + '!' });
    expect(await other.client.readMessage()).toEqual({ type: 'text', data: large });
  });

  it('with permessage-deflate in use, the bytes are compressed as the string would be', async () => {
    const options = { compression: { codec: zlibCodec } };
    const { server, client } = await openPair(options, options);
    await client.writeMessage('text', large);
    const message = await server.readMessage();
    expect(await encodings(() => server.writeMessage('text', message.data))).toBe(0);
    expect(await client.readMessage()).toEqual({ type: 'text', data: large });
  });

  it('an equal string is sent the same way; another string, text under 16 KiB and binary are encoded', async () => {
    const { server, client } = await openPair();
    const small = 'é'.repeat(4000); // 8,000 bytes
    for (const payload of [large, small]) await client.writeMessage('text', payload);
    const [big, short] = [await server.readMessage(), await server.readMessage()];
    const copy = (' ' + (big.data as string)).slice(1);
    const changed = (big.data as string).replace('€', '$');
    expect(await encodings(() => server.writeMessage('text', copy))).toBe(0);
    expect(await encodings(() => server.writeMessage('text', changed))).toBe(1);
    expect(await encodings(() => server.writeMessage('text', short.data))).toBe(1);
    expect(await encodings(() => server.writeMessage('binary', big.data))).toBe(1);
    for (const expected of [[large, 'text'], [changed, 'text'], [small, 'text']] as const) {
      expect(await client.readMessage()).toEqual({ type: expected[1], data: expected[0] });
    }
    expect(await client.readMessageBytes()).toEqual({ type: 'binary', data: text(large) });
  });

  it('keeps no bytes of a message the application dropped, nor of one pushed out of the four', async () => {
    // A collection on demand, and the message buffers the server assembles, watched for being collected.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const collected = new Set<number>();
    const registry = new FinalizationRegistry<number>((id) => collected.add(id));
    let allocated = 0;
    const allocate = (length: number): Uint8Array => {
      const buffer = new Uint8Array(length);
      registry.register(buffer, allocated++);
      return buffer;
    };
    const { server, client } = await openPair({ allocate });
    for (let i = 0; i < 6; i++) {
      // Two frames each, so that the server assembles each message in a buffer of `allocate`.
      const writer = await client.nextWriter('text');
      await writer.write(text('é'.repeat(10_000)));
      await writer.close(text(`${i}`.repeat(4_000)));
    }
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await server.readMessage());
    let dropped: unknown = await server.readMessage();
    expect(allocated).toBe(6);
    dropped = null;
    for (let round = 0; round < 50 && collected.size < 3; round++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The first two messages, still held, were pushed out by the fifth and sixth: their bytes went. The
    // sixth's bytes went with the message. The third to fifth are held and still kept: their bytes stay.
    expect([...collected].sort()).toEqual([0, 1, 5]);
    expect(held.map((message) => message.data.length)).toEqual([14_000, 14_000, 14_000, 14_000, 14_000]);
    expect(dropped).toBeNull();
  });

  it('any text sent back this way arrives as it was read (property)', async () => {
    const { server, client } = await openPair();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), async (piece) => {
        const payload = piece.repeat(Math.ceil(16_384 / piece.length));
        await client.writeMessage('text', payload);
        const message = await server.readMessage();
        expect(await encodings(() => server.writeMessage('text', message.data))).toBe(0);
        expect(await client.readMessage()).toEqual({ type: 'text', data: payload });
      }),
      { numRuns: 30 },
    );
  });

  it('the last four messages read are kept; an adapter that takes the bytes back keeps none', async () => {
    const { server, client } = await openPair();
    const payloads = [1, 2, 3, 4, 5].map((n) => large + n);
    for (const payload of payloads) await client.writeMessage('text', payload);
    const read: Array<string | Uint8Array> = [];
    for (const _ of payloads) read.push((await server.readMessage()).data);
    // The first was dropped for the fifth; the others are sent as they came.
    expect(await encodings(() => server.writeMessage('text', read[0]!))).toBe(1);
    expect(
      await encodings(async () => {
        for (const data of read.slice(1)) await server.writeMessage('text', data);
      }),
    ).toBe(0);
    for (const payload of payloads) {
      expect(await client.readMessage()).toEqual({ type: 'text', data: payload });
    }

    const released: Uint8Array[] = [];
    const pooled = await openPair({ releaseMessage: (bytes) => void released.push(bytes) });
    await pooled.client.writeMessage('text', large + 'x');
    const message = await pooled.server.readMessage();
    expect(released).toHaveLength(1);
    expect(await encodings(() => pooled.server.writeMessage('text', message.data))).toBe(1);
    expect(await pooled.client.readMessage()).toEqual({ type: 'text', data: large + 'x' });
  });
});

describe('an idle connection keeps its request compactly (built when read)', () => {
  it("the request's headers still read as sent after many messages, equal on every read", async () => {
    const { server, client } = await openPair({}, { headers: [['X-Trace', 'a, b'], ['X-Trace', 'c']] });
    const sent = client.request!;
    for (let i = 0; i < 200; i++) {
      void client.writeMessage('binary', Uint8Array.of(i & 0xff));
      await server.writeMessage('binary', (await server.readMessageBytes()).data);
      await client.readMessageBytes();
    }
    const request = server.request!;
    expect(request.headers).toEqual(sent.headers);
    expect(request.headers).toEqual(request.headers);
    expect({ ...request }).toEqual({
      method: 'GET',
      target: '/chat',
      version: 'HTTP/1.1',
      headers: sent.headers,
    });
    expect(getHeaderValues(request.headers, 'x-trace')).toEqual(['a, b', 'c']);
    expect(getHeader(request.headers, 'Sec-WebSocket-Key')).toBe(
      getHeader(sent.headers, 'sec-websocket-key'),
    );
  });
});

describe('an idle connection: a read that waits with no signal or timeout', () => {
  it('gets the next message whole, even one streamed because a reader was asked for behind it', async () => {
    const { server, client } = await openPair();
    const first = server.readMessage(); // waits: nothing received yet
    const reader = server.nextReader(); // queued behind it; messages are streamed from now on
    await settle();
    const writer = await client.nextWriter('text');
    await writer.write('on');
    await writer.close('e');
    await client.writeMessage('text', 'two');
    expect(await first).toEqual({ type: 'text', data: 'one' });
    const chunks: string[] = [];
    for await (const chunk of await reader) chunks.push(new TextDecoder().decode(chunk));
    expect(chunks.join('')).toBe('two');
  });

  it('bytes or text, as asked, and the next read waits again', async () => {
    const { server, client } = await openPair();
    const bytes = server.readMessageBytes();
    await settle();
    await client.writeMessage('text', 'é');
    expect(await bytes).toEqual({ type: 'text', data: text('é') });
    const decoded = server.readMessage();
    await settle();
    await client.writeMessage('binary', Uint8Array.of(1, 2));
    expect(await decoded).toEqual({ type: 'binary', data: Uint8Array.of(1, 2) });
  });

  it('rejects with the CloseError when the peer closes; closed resolves, asked before or after', async () => {
    const { server, client } = await openPair();
    const read = server.readMessage().catch((e: unknown) => e);
    const before = server.closed;
    await settle();
    await client.close(1000, 'bye');
    expect(await read).toMatchObject({ name: 'CloseError', code: 'CLOSED_NORMALLY', closeCode: 1000 });
    const after = server.closed;
    expect(after).toBe(before);
    expect(await after).toMatchObject({ code: 1000, reason: 'bye', clean: true });
    expect((await after).error).toBe(await read);
  });
});

describe('streaming (RFC 6455 §5.4 fragmentation)', () => {
  it('nextWriter sends one frame per chunk and nextReader delivers them as they arrive', async () => {
    const { server, client, clientTransport } = await openPair();
    // Asked for before the message: the engine streams it.
    const reading = server.nextReader();
    const writer = await client.nextWriter('binary');
    const before = clientTransport.written.length;
    await writer.write(Uint8Array.of(1, 2));
    await writer.write(Uint8Array.of(3));
    await writer.close(Uint8Array.of(4, 5));
    expect(clientTransport.written.length - before).toBe(3);
    const reader = await reading;
    expect(reader.type).toBe('binary');
    const chunks: number[][] = [];
    for await (const chunk of reader) chunks.push([...chunk]);
    expect(chunks).toEqual([[1, 2], [3], [4, 5]]);
    // Later messages stream too, even when they arrive before the next reader is asked for.
    await client.writeMessage('binary', Uint8Array.of(6));
    const writer2 = await client.nextWriter('binary');
    await writer2.write(Uint8Array.of(7));
    await writer2.close(Uint8Array.of(8));
    const seen: number[][] = [];
    for (let i = 0; i < 2; i++) {
      for await (const chunk of await server.nextReader()) seen.push([...chunk]);
    }
    expect(seen).toEqual([[6], [7], [8]]);
  });

  it('a message that arrived before any streaming reader was asked for is read as one chunk', async () => {
    const { server, client } = await openPair();
    const writer = await client.nextWriter('binary');
    await writer.write(Uint8Array.of(1, 2));
    await writer.close(Uint8Array.of(3));
    await client.writeMessage('text', 'hé');
    const reader = await server.nextReader();
    const chunks: number[][] = [];
    for await (const chunk of reader) chunks.push([...chunk]);
    expect(chunks).toEqual([[1, 2, 3]]);
    // The reader of a whole message ends at its end: the next read gets the next message.
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'hé' });
  });

  it('a cancelled reader of a message that arrived whole leaves the next message intact', async () => {
    const { server, client } = await openPair();
    await client.writeMessage('binary', Uint8Array.of(1, 2, 3));
    await client.writeMessage('binary', Uint8Array.of(4));
    const reader = await server.nextReader();
    reader.cancel();
    expect(await server.readMessage()).toEqual({ type: 'binary', data: Uint8Array.of(4) });
  });

  it('streams a message much larger than the read high-water mark in bounded memory', async () => {
    const { server, client, serverTransport } = await openPair({
      readHighWaterMark: 64 * 1024,
      maxMessageSize: 64 * 1024 * 1024,
    });
    const chunk = new Uint8Array(32 * 1024).fill(7);
    const count = 512; // 16 MiB in all
    const writing = (async () => {
      const writer = await client.nextWriter('binary');
      for (let i = 0; i < count; i++) await writer.write(chunk);
      await writer.close();
    })();
    const reader = await server.nextReader();
    let total = 0;
    let maxUnread = 0;
    for await (const piece of reader) {
      total += piece.length;
      maxUnread = Math.max(maxUnread, client.bufferedAmount);
    }
    await writing;
    expect(total).toBe(count * chunk.length);
    expect(serverTransport.pauseCount).toBeGreaterThan(0);
    // The sender never held more than its high-water mark plus one frame (chunk and header).
    expect(maxUnread).toBeLessThanOrEqual(64 * 1024 + chunk.length + 64);
  });

  it('breaking out of a reader discards the rest of that message only', async () => {
    const { server, client } = await openPair();
    const writer = await client.nextWriter('text');
    await writer.write('one ');
    await writer.write('two ');
    await writer.close('three');
    await client.writeMessage('text', 'next');
    const reader = await server.nextReader();
    for await (const _ of reader) break;
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'next' });
  });

  it('a streamed writer holds the queue: other messages wait, frames never interleave', async () => {
    const { server, client } = await openPair();
    const writer = await client.nextWriter('text');
    const other = client.writeMessage('text', 'after');
    await writer.write('part 1, ');
    const ping = client.ping(text('between'));
    await writer.close('part 2');
    await other;
    await ping;
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'part 1, part 2' });
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'after' });
  });

  it('writes from many concurrent callers arrive in call order', async () => {
    const { server, client } = await openPair({}, { writeHighWaterMark: 1024 });
    const payload = new Uint8Array(4000);
    const writes = Array.from(
      { length: 50 },
      (_, i) => client.writeMessage('binary', payload.fill(i, 0, 1).slice()),
    );
    await Promise.all(writes);
    for (let i = 0; i < 50; i++) expect((await server.readMessage()).data).toHaveProperty('0', i);
  });
});

describe('backpressure', () => {
  it('pauses the transport when unread bytes pass the read high-water mark, and resumes when drained', async () => {
    const { server, client, serverTransport } = await openPair({ readHighWaterMark: 10_000 });
    for (let i = 0; i < 10; i++) void client.writeMessage('binary', new Uint8Array(3000));
    await settle();
    expect(serverTransport.paused).toBe(true);
    for (let i = 0; i < 10; i++) expect((await server.readMessage()).data.length).toBe(3000);
    expect(serverTransport.paused).toBe(false);
  });

  it('a peer that stops reading cannot make the writer buffer without bound: writeMessage waits', async () => {
    const { server, client } = await openPair({ writeHighWaterMark: 16 * 1024 }, {
      readHighWaterMark: 16 * 1024,
    });
    // The client never reads.
    const payload = new Uint8Array(8 * 1024);
    let resolved = 0;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      writes.push(server.writeMessage('binary', payload).then(() => void resolved++));
    }
    await settle(10);
    expect(resolved).toBeLessThan(20);
    // Memory held by the transport stays bounded (the queue holds references to the callers' payloads).
    const mark = 16 * 1024 + 16 * 1024 + 2 * payload.length; // client inbox + our buffer + slack
    expect(server.bufferedAmount - (100 - resolved) * payload.length).toBeLessThanOrEqual(mark);
    // Reading unblocks the writer.
    for (let i = 0; i < 100; i++) await client.readMessage();
    await Promise.all(writes);
    expect(resolved).toBe(100);
  });
});

describe('backpressure, again after a backlog drained (the write queue is made and dropped as needed)', () => {
  it('a second backlog queues, counts and drains in order like the first', async () => {
    const { server, client } = await openPair({ writeHighWaterMark: 4 * 1024 }, {
      readHighWaterMark: 4 * 1024,
    });
    for (let round = 0; round < 2; round++) {
      const writes = Array.from(
        { length: 20 },
        (_, i) => server.writeMessage('binary', new Uint8Array(2048).fill(round * 20 + i)),
      );
      await settle(10);
      expect(server.bufferedAmount).toBeGreaterThan(4 * 1024);
      for (let i = 0; i < 20; i++) {
        expect((await client.readMessage()).data).toHaveProperty('0', round * 20 + i);
      }
      await Promise.all(writes);
      await settle();
      expect(server.bufferedAmount).toBe(0);
    }
    // A streamed writer holds the queue; whole messages wait behind it and go once it is closed.
    const writer = await server.nextWriter('text');
    const after = server.writeMessage('text', 'after');
    await writer.write('str');
    await writer.close('eamed');
    await after;
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'streamed' });
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'after' });
  });
});

describe('control frames (RFC 6455 §5.5)', () => {
  it('ping resolves with the round-trip time on the virtual clock', async () => {
    const { client, serverTransport, clock } = await openPair();
    serverTransport.hold(true);
    const rtt = client.ping(text('x'));
    await clock.advance(42);
    serverTransport.hold(false);
    expect(await rtt).toBe(42);
  });

  it('a custom ping handler replaces the automatic pong, and reset restores it', async () => {
    const { server, client } = await openPair();
    const seen: string[] = [];
    server.setPingHandler((data) => {
      seen.push(new TextDecoder().decode(data));
      server.pong(text('custom'));
    });
    const pongs: string[] = [];
    client.setPongHandler((data) => pongs.push(new TextDecoder().decode(data)));
    void client.ping(text('a')).catch(() => {});
    await settle();
    expect(seen).toEqual(['a']);
    expect(pongs).toEqual(['custom']);
    server.setPingHandler(null);
    await client.ping(text('b'));
    expect(pongs).toEqual(['custom', 'b']);
    client.setPongHandler(null);
  });

  it('a close handler sees the peer close frame; the echo happens regardless', async () => {
    const { server, client } = await openPair();
    const seen: Array<[number, string]> = [];
    server.setCloseHandler((code, reason) => seen.push([code, reason]));
    const info = await client.close(1001, 'bye');
    expect(seen).toEqual([[1001, 'bye']]);
    expect(info).toMatchObject({ code: 1001, clean: true });
  });

  it('a throwing handler fails the connection with 1011 instead of crashing', async () => {
    const { server, client } = await openPair();
    server.setPingHandler(() => {
      throw new Error('boom');
    });
    void client.ping().catch(() => {});
    const info = await server.closed;
    expect(info.code).toBe(1011);
    expect((await client.closed).code).toBe(1011);
  });

  it('keepalive closes a dead peer with 1006 even when the application is not reading', async () => {
    const { server, clientTransport, serverTransport, clock } = await openPair({
      pingInterval: 1000,
      pongTimeout: 500,
    });
    clientTransport.hold(true); // the client vanished: nothing it sends arrives
    const read = server.readMessage().catch((e: unknown) => e);
    await clock.advance(1000); // ping sent
    await clock.advance(500); // no pong
    const error = await read;
    expect(error).toBeInstanceOf(CloseError);
    expect(error).toMatchObject({ code: 'CLOSED_ABNORMALLY', closeCode: 1006 });
    expect(((error as CloseError).cause as ProtocolError).code).toBe('PING_TIMEOUT');
    expect(serverTransport.destroyed).toBe(true);
  });

  it('keepalive keeps a live peer open', async () => {
    const { server, clock } = await openPair({ pingInterval: 1000 });
    await clock.advance(10_000);
    expect(server.state).toBe('open');
  });
});

describe('deadlines and cancellation', () => {
  it('an aborted read abandons only that call; the message goes to the next read', async () => {
    const { server, client } = await openPair();
    const controller = new AbortController();
    const read = server.readMessage({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(read).rejects.toThrow('stop');
    await client.writeMessage('text', 'still here');
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'still here' });
  });

  it('a read with an aborted signal rejects even when a whole message is waiting, which the next read gets', async () => {
    const { server, client } = await openPair();
    await client.writeMessage('binary', Uint8Array.of(1, 2, 3));
    await settle();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(server.readMessage({ signal: controller.signal })).rejects.toThrow('stop');
    await expect(server.readMessageBytes({ signal: controller.signal })).rejects.toThrow('stop');
    expect(await server.readMessage()).toEqual({ type: 'binary', data: Uint8Array.of(1, 2, 3) });
  });

  it('an aborted read in the middle of a message keeps what was read for the next read', async () => {
    const { server, client } = await openPair();
    const writer = await client.nextWriter('text');
    await writer.write('first half, ');
    const controller = new AbortController();
    const read = server.readMessage({ signal: controller.signal });
    await settle();
    controller.abort();
    await expect(read).rejects.toMatchObject({ name: 'AbortError' });
    await writer.close('second half');
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'first half, second half' });
  });

  it('an aborted queued write is dropped; the writes around it go through', async () => {
    const { server, client, serverTransport } = await openPair({}, { writeHighWaterMark: 100 });
    serverTransport.pause(); // the server stops reading: the client's writes queue up
    const first = client.writeMessage('text', 'x'.repeat(200));
    const controller = new AbortController();
    const second = client.writeMessage('text', 'dropped', { signal: controller.signal });
    const third = client.writeMessage('text', 'third');
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    serverTransport.resume();
    await Promise.all([first, third]);
    expect((await server.readMessage()).data).toBe('x'.repeat(200));
    expect((await server.readMessage()).data).toBe('third');
  });

  it('readTimeout fails a read that waits too long, and the connection stays usable', async () => {
    const { server, client, clock } = await openPair({ readTimeout: 5000 });
    const read = server.readMessage().catch((e: unknown) => e);
    await clock.advance(5000);
    const error = await read;
    expect(error).toBeInstanceOf(ConnError);
    expect(error).toMatchObject({ code: 'READ_TIMEOUT' });
    await client.writeMessage('text', 'late');
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'late' });
  });

  it('writeTimeout fails a write that cannot get into the transport in time', async () => {
    const { client, serverTransport, clock } = await openPair({}, {
      writeHighWaterMark: 100,
      writeTimeout: 1000,
    });
    serverTransport.pause();
    const first = client.writeMessage('binary', new Uint8Array(500));
    const second = client.writeMessage('binary', new Uint8Array(10)).catch((e: unknown) => e);
    await first;
    await clock.advance(1000);
    expect(await second).toMatchObject({ name: 'ConnError', code: 'WRITE_TIMEOUT' });
    expect(client.state).toBe('open');
  });
});

describe('closing (RFC 6455 §7)', () => {
  it('close() performs the closing handshake; both sides see a clean normal close', async () => {
    const { server, client, serverTransport, clientTransport } = await openPair();
    const info = await client.close(1000, 'bye');
    expect(info).toMatchObject({ code: 1000, clean: true });
    expect(info.error.code).toBe('CLOSED_NORMALLY');
    expect(await server.closed).toMatchObject({ code: 1000, reason: 'bye', clean: true });
    await settle();
    expect(serverTransport.closed && clientTransport.closed).toBe(true);
  });

  it('close() gives up after closeTimeout when the peer does not answer, and destroys the transport', async () => {
    const { client, serverTransport, clientTransport, clock } = await openPair({}, { closeTimeout: 3000 });
    serverTransport.hold(true);
    const closing = client.close();
    await clock.advance(3000);
    const info = await closing;
    expect(info).toMatchObject({ code: 1006, clean: false });
    expect(info.error.code).toBe('CLOSED_ABNORMALLY');
    expect(clientTransport.destroyed).toBe(true);
  });

  it('terminate() destroys at once: 1006 on both sides', async () => {
    const { server, client } = await openPair();
    client.terminate();
    expect((await client.closed).code).toBe(1006);
    expect(await server.closed).toMatchObject({ code: 1006, clean: false });
  });

  it('writes after close reject with a typed CloseError; writes while closing with CLOSING', async () => {
    const { server, client } = await openPair();
    const closing = client.close(1000);
    await expect(client.writeMessage('text', 'x')).rejects.toMatchObject({
      name: 'CloseError',
      code: 'CLOSING',
    });
    await closing;
    const error = await client.writeMessage('text', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloseError);
    expect(error).toMatchObject({ code: 'CLOSED_NORMALLY', closeCode: 1000, normal: true });
    await expect(server.ping()).rejects.toBeInstanceOf(CloseError);
    await expect(server.nextWriter('text')).rejects.toBeInstanceOf(CloseError);
  });

  it('queued writes reject when close() jumps ahead of them', async () => {
    const { client, serverTransport } = await openPair({}, { writeHighWaterMark: 10 });
    serverTransport.pause();
    const first = client.writeMessage('text', 'x'.repeat(50));
    const queued = client.writeMessage('text', 'never');
    await first;
    void client.close();
    await expect(queued).rejects.toMatchObject({ code: 'CLOSING' });
    client.terminate();
  });

  it('messages that arrived before the close are still read, then the CloseError', async () => {
    const { server, client } = await openPair();
    await client.writeMessage('text', 'last words');
    await client.close(1001, 'going');
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'last words' });
    await expect(server.readMessage()).rejects.toMatchObject({ code: 'CLOSED_NORMALLY', closeCode: 1001 });
  });

  it('a peer vanishing mid-message ends the read with CLOSED_ABNORMALLY (1006)', async () => {
    const { server, client, clientTransport } = await openPair();
    const writer = await client.nextWriter('binary');
    await writer.write(new Uint8Array(1000));
    const read = server.readMessage().catch((e: unknown) => e);
    await settle();
    clientTransport.destroy();
    const error = await read;
    expect(error).toMatchObject({
      name: 'CloseError',
      code: 'CLOSED_ABNORMALLY',
      closeCode: 1006,
      clean: false,
    });
    await expect(writer.write(Uint8Array.of(1))).rejects.toBeInstanceOf(CloseError);
  });

  it('a protocol violation by the peer closes with its code and reports the ProtocolError', async () => {
    const { server, clientTransport } = await openPair();
    // An unmasked frame from a client (RFC 6455 §5.1): 1002.
    clientTransport.write(Uint8Array.of(0x81, 0x01, 0x61));
    const error = await server.readMessage().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CLOSED_WITH_ERROR', closeCode: 1002 });
    expect((error as CloseError).cause).toBeInstanceOf(ProtocolError);
  });
});

describe('RFC 6455 §7.1.7: messages before a violation are answered before the close', () => {
  // Masked with the all-zero key, so the payload bytes stay readable.
  const masked = (b0: number, payload: string) =>
    Uint8Array.from([b0, 0x80 | payload.length, 0, 0, 0, 0, ...text(payload)]);

  it('the echo of a whole message goes out before the 1002 close, which comes with the next read', async () => {
    const { server, client, clientTransport } = await openPair();
    // A text message, then a reserved opcode, in one write.
    clientTransport.write(Uint8Array.from([...masked(0x81, 'hi'), ...masked(0x83, '')]));
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'hi' });
    await server.writeMessage('text', 'hi');
    await expect(server.readMessage()).rejects.toMatchObject({ code: 'CLOSED_WITH_ERROR', closeCode: 1002 });
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'hi' });
    await expect(client.readMessage()).rejects.toMatchObject({ closeCode: 1002 });
  });

  it('a read waiting inside a message that cannot complete ends the hold at once (no grace period)', async () => {
    const { server, clientTransport } = await openPair();
    // A whole message, the start of a fragmented one, then a new data frame where a continuation must come.
    clientTransport.write(
      Uint8Array.from([...masked(0x81, 'a'), ...masked(0x01, 'b'), ...masked(0x81, 'c')]),
    );
    expect(await server.readMessage()).toEqual({ type: 'text', data: 'a' });
    // The virtual clock never moves here: only ending the hold can settle this read.
    await expect(server.readMessage()).rejects.toMatchObject({ closeCode: 1002 });
  });
});

describe('Upgrader (RFC 6455 §4.2)', () => {
  const request = (headers: string) => text(`GET /ws HTTP/1.1\r\nHost: example.com\r\n${headers}\r\n`);
  const valid =
    'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'Sec-WebSocket-Version: 13\r\n';

  async function raw(headers: string, options: Parameters<typeof openPair>[0] = {}) {
    const { Upgrader } = await import('../src/mod.ts');
    const { VirtualClock } = await import('./memory.ts');
    const clock = new VirtualClock();
    const [serverTransport, peer] = MemoryTransport.pair();
    const received: Uint8Array[] = [];
    peer.start({ data: (c) => received.push(c), end: () => {}, drain: () => {}, closed: () => {} }, {
      writeHighWaterMark: 1 << 20,
    });
    const upgrader = new Upgrader({ timers: clock, ...options });
    const result = upgrader.upgradeTransport(serverTransport).catch((e: unknown) => e);
    peer.write(request(headers));
    const outcome = await result;
    await settle();
    const response = new TextDecoder().decode(Buffer.concat(received));
    return { outcome, response, serverTransport };
  }

  it('refuses a foreign origin with 403 by default', async () => {
    const { outcome, response, serverTransport } = await raw(valid + 'Origin: https://evil.example\r\n');
    expect(outcome).toBeInstanceOf(HandshakeError);
    expect(outcome).toMatchObject({ code: 'FORBIDDEN_ORIGIN', status: 403 });
    expect(response).toMatch(/^HTTP\/1\.1 403 /);
    expect(serverTransport.ended).toBe(true);
  });

  it('onRefuse answers a refusal with its own status, body and headers', async () => {
    const { outcome, response } = await raw(valid + 'Origin: https://evil.example\r\n', {
      onRefuse: (error) => ({
        status: 401,
        body: `no: ${error.code}`,
        headers: [['WWW-Authenticate', 'Bearer']],
      }),
    });
    expect(outcome).toMatchObject({ status: 401 });
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response).toContain('WWW-Authenticate: Bearer');
    expect(response).toContain('no: FORBIDDEN_ORIGIN');
  });

  it('adds extra response headers, computed per request', async () => {
    const { outcome, response } = await raw(valid, { headers: (r) => [['X-Path', r.target]] });
    expect(outcome).toHaveProperty('state', 'open');
    expect(response).toMatch(/^HTTP\/1\.1 101 /);
    expect(response).toContain('X-Path: /ws');
  });

  it('answers 426 to a wrong version and 400 to a missing key', async () => {
    const v = await raw(valid.replace('13', '8'));
    expect(v.response).toMatch(/^HTTP\/1\.1 426 /);
    const k = await raw(valid.replace(/Sec-WebSocket-Key: .*\r\n/, ''));
    expect(k.response).toMatch(/^HTTP\/1\.1 400 /);
  });

  /** A request parsed elsewhere (as node:http's 'upgrade' or readRequestHead hands it over). */
  async function parsed(headers: string, options: Parameters<typeof openPair>[0] = {}) {
    const { Upgrader } = await import('../src/mod.ts');
    const { VirtualClock } = await import('./memory.ts');
    const { RequestHeadParser } = await import('@sansws/core');
    const head = new RequestHeadParser(8192).push(request(headers));
    if (head.kind !== 'done') throw new Error('the test request did not parse');
    const clock = new VirtualClock();
    const [serverTransport, peer] = MemoryTransport.pair();
    const received: Uint8Array[] = [];
    peer.start({ data: (c) => received.push(c), end: () => {}, drain: () => {}, closed: () => {} }, {
      writeHighWaterMark: 1 << 20,
    });
    const upgrader = new Upgrader({ timers: clock, handshakeTimeout: 1234, ...options });
    const delays: number[] = [];
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (callback, ms) => (delays.push(ms), setTimeout(callback, ms));
    const result = upgrader.upgradeParsedRequest(head.request, serverTransport);
    const outcome = await result.catch((e: unknown) => e);
    await settle();
    const response = new TextDecoder().decode(Buffer.concat(received));
    // Whether the handshake's deadline was ever armed.
    const armed = delays.includes(1234);
    return { outcome, response, serverTransport, upgrader, armed, clock };
  }

  it('§4.2.2: a request parsed elsewhere is answered at once, with no handshake timer, and tracked', async () => {
    const { outcome, response, upgrader, armed } = await parsed(valid);
    expect(response).toMatch(/^HTTP\/1\.1 101 /);
    expect(response).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(armed).toBe(false);
    const conn = outcome as { state: string };
    expect(conn.state).toBe('open');
    expect([...upgrader.connections]).toEqual([conn]);
  });

  it('§4.2.2: a request parsed elsewhere and refused rejects with the status sent', async () => {
    const { outcome, response, upgrader, armed } = await parsed(valid.replace('13', '8'));
    expect(armed).toBe(false);
    expect(outcome).toBeInstanceOf(HandshakeError);
    expect(outcome).toMatchObject({ code: 'UNSUPPORTED_VERSION', status: 426 });
    expect(response).toMatch(/^HTTP\/1\.1 426 /);
    expect(upgrader.connections.size).toBe(0);
  });

  it('a headers hook that throws fails the handshake of a request parsed elsewhere, not the caller', async () => {
    const failure = new Error('hook failed');
    const { outcome, upgrader } = await parsed(valid, {
      headers: () => {
        throw failure;
      },
    });
    expect(outcome).toBeInstanceOf(Error);
    expect(upgrader.connections.size).toBe(0);
  });

  it('a slowloris handshake times out and the transport is destroyed', async () => {
    const { Upgrader } = await import('../src/mod.ts');
    const { VirtualClock } = await import('./memory.ts');
    const clock = new VirtualClock();
    const [serverTransport, peer] = MemoryTransport.pair();
    peer.start({ data: () => {}, end: () => {}, drain: () => {}, closed: () => {} }, {
      writeHighWaterMark: 1 << 20,
    });
    const upgrader = new Upgrader({ timers: clock, handshakeTimeout: 2000 });
    const result = upgrader.upgradeTransport(serverTransport).catch((e: unknown) => e);
    peer.write(text('GET / HTTP/1.1\r\nHost: exa'));
    await clock.advance(1999);
    expect(serverTransport.destroyed).toBe(false);
    await clock.advance(1);
    expect(await result).toMatchObject({ name: 'ConnError', code: 'HANDSHAKE_TIMEOUT' });
    expect(serverTransport.destroyed).toBe(true);
  });

  it('forgets a connection once it closes', async () => {
    const { client, upgrader } = await openPair();
    expect(upgrader.connections.size).toBe(1);
    await client.close();
    await settle();
    expect(upgrader.connections.size).toBe(0);
  });

  it('shutdown closes every connection with 1001', async () => {
    const { client, upgrader } = await openPair();
    expect(upgrader.connections.size).toBe(1);
    await upgrader.shutdown({ reason: 'maintenance' });
    await expect(client.readMessage()).rejects.toMatchObject({ code: 'CLOSED_NORMALLY', closeCode: 1001 });
    await settle();
    expect(upgrader.connections.size).toBe(0);
  });
});

describe('dial', () => {
  it('a refused handshake rejects with status, headers and body', async () => {
    const { dial } = await import('../src/mod.ts');
    const { VirtualClock } = await import('./memory.ts');
    const clock = new VirtualClock();
    const [serverSide, clientSide] = MemoryTransport.pair();
    serverSide.start({
      data: () => {
        serverSide.write(text('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nX-Why: origin\r\n\r\nnope'));
        serverSide.end();
      },
      end: () => {},
      drain: () => {},
      closed: () => {},
    }, { writeHighWaterMark: 1 << 20 });
    const error = await dial('ws://example.com/', {
      timers: clock,
      connect: () => Promise.resolve(clientSide),
    })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandshakeError);
    const refusal = error as HandshakeError;
    expect(refusal.status).toBe(403);
    expect(refusal.headers).toContainEqual(['X-Why', 'origin']);
    expect(new TextDecoder().decode(refusal.body)).toBe('nope');
  });

  it('handshakeTimeout bounds the whole dial', async () => {
    const { dial } = await import('../src/mod.ts');
    const { VirtualClock } = await import('./memory.ts');
    const clock = new VirtualClock();
    const [, clientSide] = MemoryTransport.pair(); // nobody answers
    const result = dial('ws://example.com/', {
      timers: clock,
      handshakeTimeout: 1000,
      connect: () => Promise.resolve(clientSide),
    }).catch((e: unknown) => e);
    await clock.advance(1000);
    expect(await result).toMatchObject({ name: 'ConnError', code: 'HANDSHAKE_TIMEOUT' });
    expect(clientSide.destroyed).toBe(true);
  });

  it('an AbortSignal aborts a pending dial', async () => {
    const { dial } = await import('../src/mod.ts');
    const { VirtualClock } = await import('./memory.ts');
    const controller = new AbortController();
    const result = dial('ws://example.com/', {
      timers: new VirtualClock(),
      signal: controller.signal,
      connect: () => new Promise(() => {}),
    }).catch((e: unknown) => e);
    controller.abort(new Error('user gave up'));
    expect(await result).toMatchObject({ message: 'user gave up' });
  });
});

describe('PreparedMessage and broadcast', () => {
  it('writes the very same frame bytes to every server connection, and encodes for clients', async () => {
    const { PreparedMessage } = await import('../src/mod.ts');
    const pairs = await Promise.all([openPair(), openPair(), openPair()]);
    const message = new PreparedMessage('text', 'hello, everyone');
    for (const { server } of pairs) await server.writePreparedMessage(message);
    const frames = pairs.map(({ serverTransport }) => serverTransport.written.at(-1));
    expect(frames[0]).toEqual(Uint8Array.of(0x81, 15, ...text('hello, everyone')));
    expect(frames[1]).toEqual(frames[0]);
    for (const { client } of pairs) {
      expect(await client.readMessage()).toEqual({ type: 'text', data: 'hello, everyone' });
    }
    await pairs[0]!.client.writePreparedMessage(new PreparedMessage('binary', Uint8Array.of(9)));
    expect((await pairs[0]!.server.readMessage()).data).toEqual(Uint8Array.of(9));
  });

  it('frames large prepared messages with the 16- and 64-bit length forms', async () => {
    const { PreparedMessage } = await import('../src/mod.ts');
    const { server, client } = await openPair();
    for (const size of [126, 65535, 65536, 100_000]) {
      await server.writePreparedMessage(new PreparedMessage('binary', new Uint8Array(size).fill(3)));
      const received = (await client.readMessage()).data as Uint8Array;
      expect(received.length).toBe(size);
      expect(received.every((b) => b === 3)).toBe(true);
    }
  });

  it("policy 'skip' leaves out a slow consumer, 'close' closes it with 1008, 'wait' waits for it", async () => {
    const { broadcast } = await import('../src/mod.ts');
    const fast = await openPair();
    const slow = await openPair({ writeHighWaterMark: 1 << 20 });
    slow.clientTransport.pause(); // the slow client stops reading at the TCP level
    await slow.server.writeMessage('binary', new Uint8Array(10_000));
    expect(slow.server.bufferedAmount).toBeGreaterThan(5000);
    const conns = [fast.server, slow.server];

    expect(await broadcast(conns, 'skip me', { limit: 5000 })).toEqual({
      sent: 1,
      skipped: 1,
      closed: 0,
      failed: 0,
    });
    expect(await fast.client.readMessage()).toEqual({ type: 'text', data: 'skip me' });

    let waited = false;
    const waiting = broadcast(conns, 'wait for me', { policy: 'wait', limit: 5000 }).then((r) => {
      waited = true;
      return r;
    });
    await settle();
    expect(waited).toBe(true); // handed to the transport: both were below their write high-water mark
    expect(await waiting).toEqual({ sent: 2, skipped: 0, closed: 0, failed: 0 });

    expect(await broadcast(conns, 'close it', { policy: 'close', limit: 5000 })).toMatchObject({
      sent: 1,
      closed: 1,
    });
    expect(slow.server.state).toBe('closing');
    slow.clientTransport.resume();
    expect((await slow.client.readMessage()).type).toBe('binary');
    expect(await slow.client.readMessage()).toEqual({ type: 'text', data: 'wait for me' });
    await expect(slow.client.readMessage()).rejects.toMatchObject({ closeCode: 1008 });
    expect(await broadcast(conns, 'after', {})).toMatchObject({ sent: 1, failed: 1 });
  });
});

describe('public API', () => {
  it('exports exactly the documented names', async () => {
    const conn = await import('../src/mod.ts');
    expect(Object.keys(conn).sort()).toMatchInlineSnapshot(`
      [
        "BufferPool",
        "CloseError",
        "Conn",
        "ConnError",
        "FrameRing",
        "PreparedMessage",
        "Upgrader",
        "broadcast",
        "connOpened",
        "connSettings",
        "dial",
        "proxyFromEnv",
        "readRequestHead",
        "serveTransport",
      ]
    `);
  });
  it('uses no runtime globals, node: imports or timers in its source', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../src/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      expect(source).not.toMatch(/from ['"]node:|\bDeno\.|\bBun\.|globalThis\.setTimeout|process\./);
    }
  });
});
