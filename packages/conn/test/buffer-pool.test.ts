/**
 * The adapters' memory hooks in a Conn: BufferPool (received messages assembled in pooled buffers, taken
 * back when a Conn decoded a text message to a string, never while anything can still reach them) and
 * fragmentLongText (long strings written in fragments) and releaseFrame (long strings encoded into one frame
 * of the adapter's frame memory).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferPool, type Conn, FrameRing, Upgrader } from '../src/mod.ts';
import { zlibCodec } from '../../zlib/src/mod.ts';
import { type MemoryTransport, openPair, settle, VirtualClock } from './memory.ts';
import { concat, decodeFrames } from '../../testing/src/frames.ts';

describe('BufferPool', () => {
  it('hands out views of power-of-two buffers from `min` bytes, and the fallback below it or above `maxFree`', () => {
    const fallbacks: number[] = [];
    const pool = new BufferPool({
      min: 1024,
      maxFree: 64 * 1024,
      fallback: (n) => (fallbacks.push(n), new Uint8Array(n)),
    });
    const a = pool.allocate(1000);
    expect(a.buffer.byteLength).toBe(1000);
    const b = pool.allocate(1025);
    expect([b.length, b.byteOffset, b.buffer.byteLength]).toEqual([1025, 0, 2048]);
    expect(pool.allocate(4096).buffer.byteLength).toBe(4096);
    expect(pool.allocate(64 * 1024 + 1).buffer.byteLength).toBe(64 * 1024 + 1);
    // New pooled buffers come from the fallback too, at their power-of-two size.
    expect(fallbacks).toEqual([1000, 2048, 4096, 64 * 1024 + 1]);
  });

  it('uses a released buffer again for any request of its size class; a second release, or bytes not its own, are ignored', () => {
    const pool = new BufferPool({ min: 1024 });
    const first = pool.allocate(1500);
    pool.release(first);
    expect(pool.freeBytes).toBe(2048);
    pool.release(first);
    pool.release(new Uint8Array(2048));
    pool.release(pool.allocate(100)); // below `min`: the fallback's
    expect(pool.freeBytes).toBe(2048);
    const again = pool.allocate(2048);
    expect(again.buffer).toBe(first.buffer);
    expect(pool.freeBytes).toBe(0);
    expect(pool.allocate(1025).buffer).not.toBe(first.buffer); // `again` holds it
  });

  it('makes new buffers with the fallback when it answers with a whole buffer of its own (unzeroed, on Bun)', () => {
    const made: ArrayBufferLike[] = [];
    const whole = new BufferPool({
      min: 1024,
      fallback: (n) => {
        const bytes = new Uint8Array(n);
        made.push(bytes.buffer);
        return bytes;
      },
    });
    expect(whole.allocate(3000).buffer).toBe(made.at(-1));
    expect(made.at(-1)!.byteLength).toBe(4096);
    // A view of a larger buffer is not one of its own: a buffer of the pool's own instead.
    const viewing = new BufferPool({ min: 1024, fallback: (n) => new Uint8Array(n + 8).subarray(8) });
    const bytes = viewing.allocate(3000);
    expect([bytes.byteOffset, bytes.buffer.byteLength]).toEqual([0, 4096]);
  });

  it('keeps at most `maxFree` bytes of released buffers', () => {
    const pool = new BufferPool({ min: 1024, maxFree: 8192 });
    const out = [4096, 4096, 4096].map((n) => pool.allocate(n));
    for (const bytes of out) pool.release(bytes);
    expect(pool.freeBytes).toBe(8192);
  });

  it('with `round: false`, makes new buffers of the size asked for and serves a request from a kept buffer that holds it', () => {
    const made: number[] = [];
    const pool = new BufferPool({
      min: 1024,
      round: false,
      fallback: (n) => (made.push(n), new Uint8Array(n)),
    });
    const a = pool.allocate(100_000);
    expect([a.length, a.buffer.byteLength]).toEqual([100_000, 100_000]);
    pool.release(a);
    expect(pool.freeBytes).toBe(100_000);
    // Kept under 65,536 (the power of two below it): too short for 120,000, which gets a new buffer.
    const b = pool.allocate(120_000);
    expect(b.buffer).not.toBe(a.buffer);
    // Long enough for 70,000 (its power of two below is also 65,536) and for 100,000 again.
    const c = pool.allocate(70_000);
    expect(c.buffer).toBe(a.buffer);
    pool.release(c);
    expect(pool.allocate(100_000).buffer).toBe(a.buffer);
    // A 131,072-byte buffer serves a request from the power of two below (70,000 → 131,072).
    const d = pool.allocate(131_072);
    pool.release(d);
    expect(pool.allocate(70_000).buffer).toBe(d.buffer);
    pool.release(b);
    expect(made).toEqual([100_000, 120_000, 131_072]);
    expect(pool.freeBytes).toBe(120_000);
  });

  it('never hands out a buffer that is still in use, whatever the sizes and release order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ allocate: fc.integer({ min: 1, max: 20_000 }) }),
            fc.record({ release: fc.nat() }),
          ),
          { minLength: 1, maxLength: 120 },
        ),
        fc.boolean(),
        (ops, round) => {
          const pool = new BufferPool({ min: 512, maxFree: 40_000, round });
          const live: { bytes: Uint8Array; seed: number }[] = [];
          let seed = 0;
          for (const op of ops) {
            if ('allocate' in op) {
              const bytes = pool.allocate(op.allocate);
              expect(bytes.length).toBe(op.allocate);
              seed++;
              bytes.fill(seed & 0xff);
              live.push({ bytes, seed });
            } else if (live.length > 0) {
              const [taken] = live.splice(op.release % live.length, 1);
              pool.release(taken!.bytes);
            }
            for (const { bytes, seed } of live) expect(bytes.every((b) => b === (seed & 0xff))).toBe(true);
            expect(pool.freeBytes).toBeLessThanOrEqual(40_000);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('BufferPool with a Conn (releaseMessage)', () => {
  /** A pair whose server assembles messages in `pool` and gives decoded text back to it. */
  function pooledPair(pool: BufferPool) {
    return openPair({ allocate: pool.allocate, releaseMessage: pool.release });
  }

  /**
   * Writes a message as two frames (RFC 6455 §5.4), which the receiving engine joins in one buffer of
   * `allocate` (a message of one frame that arrives in one chunk is delivered as a view of it).
   */
  async function sendInTwo(conn: Conn, type: 'text' | 'binary', data: string | Uint8Array): Promise<void> {
    const writer = await conn.nextWriter(type);
    const half = data.length >> 1;
    await writer.write(typeof data === 'string' ? data.slice(0, half) : data.subarray(0, half));
    await writer.close(typeof data === 'string' ? data.slice(half) : data.subarray(half));
  }

  it('text read as a string gives its buffer back; the next message of that size is assembled in it', async () => {
    const pool = new BufferPool({ min: 1024 });
    const { server, client } = await pooledPair(pool);
    const sent = ['é'.repeat(40_000), 'x'.repeat(80_000), 'y'.repeat(70_000)];
    for (const message of sent) {
      await sendInTwo(client, 'text', message);
      expect(await server.readMessage()).toEqual({ type: 'text', data: message });
    }
    // 80,000 and 70,000 bytes share the 128 KiB class: one buffer of it, used twice.
    expect(pool.freeBytes).toBe(128 * 1024);
  });

  it('bytes handed to the application (binary, readMessageBytes, iteration of binary) are never given back', async () => {
    const pool = new BufferPool({ min: 1024 });
    const released: Uint8Array[] = [];
    const release = pool.release;
    const watched = await openPair({
      allocate: pool.allocate,
      releaseMessage: (bytes) => (released.push(bytes), release(bytes)),
    });
    await sendInTwo(watched.client, 'binary', new Uint8Array(50_000).fill(1));
    await sendInTwo(watched.client, 'text', 'b'.repeat(50_000));
    await sendInTwo(watched.client, 'text', 'c'.repeat(50_000));
    const binary = await watched.server.readMessage();
    const bytes = await watched.server.readMessageBytes();
    expect(released).toEqual([]);
    const iterated = await watched.server[Symbol.asyncIterator]().next();
    expect(iterated.value).toEqual({ type: 'text', data: 'c'.repeat(50_000) });
    expect(released.length).toBe(1);
    // What the application holds stays as it was while later messages are assembled.
    for (let i = 0; i < 3; i++) {
      await sendInTwo(watched.client, 'text', 'd'.repeat(50_000));
      await sendInTwo(watched.client, 'binary', new Uint8Array(50_000).fill(9));
      expect((await watched.server.readMessage()).data).toBe('d'.repeat(50_000));
      await watched.server.readMessage();
    }
    expect((binary.data as Uint8Array).every((b) => b === 1)).toBe(true);
    expect(bytes.data.every((b) => b === 0x62)).toBe(true);
  });
});

describe('Conn.release: a received message given back once the writes made before it left', () => {
  /**
   * A pair whose server assembles messages in `pool` and records what comes back to it; each release is
   * checked against the transport: every chunk written from the released memory must have left it.
   */
  async function watchedPair(pool: BufferPool, options: { writeHighWaterMark?: number } = {}) {
    const released: Uint8Array[] = [];
    /** Released before any chunk was written from them. */
    const unwritten: Uint8Array[] = [];
    let accepted = 0;
    /** Per buffer, the count of accepted bytes at the end of the last chunk written from it. */
    const lastEnd = new Map<ArrayBufferLike, number>();
    const pair = await openPair({
      ...options,
      allocate: pool.allocate,
      releaseMessage: (bytes) => {
        const left = accepted - pair.serverTransport.bufferedAmount;
        expect(left).toBeGreaterThanOrEqual(lastEnd.get(bytes.buffer) ?? 0);
        if (!lastEnd.has(bytes.buffer)) unwritten.push(bytes);
        released.push(bytes);
        pool.release(bytes);
      },
    });
    const transport: MemoryTransport = pair.serverTransport;
    const write = transport.write.bind(transport);
    transport.write = (chunk) => {
      accepted += chunk.length;
      lastEnd.set(chunk.buffer, accepted);
      return write(chunk);
    };
    return { ...pair, released, unwritten };
  }

  /** Writes a binary message as two frames, so that the server assembles it in a buffer of `allocate`. */
  async function sendInTwo(conn: Conn, data: Uint8Array): Promise<void> {
    const writer = await conn.nextWriter('binary');
    await writer.write(data.subarray(0, data.length >> 1));
    await writer.close(data.subarray(data.length >> 1));
  }

  it('an echoed message comes back once the echo left the transport, and the next one is assembled in it', async () => {
    const pool = new BufferPool({ min: 1024 });
    const { server, client, serverTransport, released } = await watchedPair(pool);
    await sendInTwo(client, new Uint8Array(50_000).fill(7));
    const message = await server.readMessageBytes();
    serverTransport.hold(true);
    await server.writeMessage('binary', message.data);
    server.release(message.data);
    await settle();
    expect(released).toEqual([]);
    serverTransport.hold(false);
    const echoed = await client.readMessageBytes();
    expect(echoed.data.every((b) => b === 7)).toBe(true);
    expect(released).toEqual([message.data]);
    server.release(message.data); // a second release: the pool ignores it
    await sendInTwo(client, new Uint8Array(50_000).fill(8));
    const next = await server.readMessageBytes();
    expect(next.data.buffer).toBe(message.data.buffer);
    expect(next.data.every((b) => b === 8)).toBe(true);
    expect(pool.freeBytes).toBe(0);
  });

  it('waits behind writes still queued in the Conn (write backpressure)', async () => {
    const pool = new BufferPool({ min: 1024 });
    const { server, client, serverTransport, released, unwritten } = await watchedPair(pool, {
      writeHighWaterMark: 1024,
    });
    await sendInTwo(client, new Uint8Array(40_000).fill(3));
    const message = await server.readMessageBytes();
    serverTransport.hold(true);
    void server.writeMessage('binary', new Uint8Array(2048)); // above the mark: later writes wait
    const echo = server.writeMessage('binary', message.data);
    server.release(message.data);
    await settle();
    expect(serverTransport.bufferedAmount).toBeLessThan(40_000); // the echo is still in Conn's queue
    expect(released).toEqual([]);
    serverTransport.hold(false);
    await echo;
    await client.readMessageBytes();
    expect((await client.readMessageBytes()).data.every((b) => b === 3)).toBe(true);
    await settle();
    expect(released).toEqual([message.data]);
    expect(unwritten).toEqual([]);
  });

  it('does nothing over a transport that cannot tell when writes are done, or without releaseMessage', async () => {
    const pool = new BufferPool({ min: 1024 });
    const { server, client, serverTransport, released } = await watchedPair(pool);
    (serverTransport as { afterWrites?: unknown }).afterWrites = undefined;
    await sendInTwo(client, new Uint8Array(30_000));
    const message = await server.readMessageBytes();
    server.release(message.data);
    await settle();
    expect(released).toEqual([]);
    const plain = await openPair({ allocate: pool.allocate });
    await sendInTwo(plain.client, new Uint8Array(30_000));
    plain.server.release((await plain.server.readMessageBytes()).data);
    await settle();
    expect(pool.freeBytes).toBe(0);
  });

  it('is dropped with the transport: releases waiting when it closes still come back', async () => {
    const pool = new BufferPool({ min: 1024 });
    const { server, client, serverTransport, released } = await watchedPair(pool);
    await sendInTwo(client, new Uint8Array(30_000));
    const message = await server.readMessageBytes();
    serverTransport.hold(true);
    await server.writeMessage('binary', message.data);
    server.release(message.data);
    server.terminate();
    await settle();
    expect(released).toEqual([message.data]);
  });

  it('released from the handler, right after the echo was written and before it reached the transport', async () => {
    // The guide's form: a message handler runs while the Conn moves the engine's events and output, so the
    // echo's frame is still the engine's when `release` is called. The release must wait for it all the same.
    const pool = new BufferPool({ min: 1024, round: false });
    const { server, client, serverTransport, released, unwritten } = await watchedPair(pool);
    server.setMessageHandler((message, conn) => {
      const written = conn.writeMessage('binary', message.data);
      conn.release(message.data);
      return written;
    }, { bytes: true });
    serverTransport.hold(true);
    await sendInTwo(client, new Uint8Array(30_000).fill(1));
    await sendInTwo(client, new Uint8Array(30_000).fill(2));
    await settle();
    expect(unwritten).toEqual([]);
    serverTransport.hold(false);
    for (const fill of [1, 2]) {
      const echo = await client.readMessageBytes();
      expect(echo.data.length).toBe(30_000);
      expect(echo.data.every((b) => b === fill)).toBe(true);
    }
    await settle();
    expect(released.length).toBe(2);
    expect(unwritten).toEqual([]);
  });

  it('a handler echoing and releasing every message: echoes intact, memory used again (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 70_000 }), hold: fc.boolean() }), {
          minLength: 1,
          maxLength: 12,
        }),
        // Released after the write resolved, or at once, as the guide shows (the echo not yet handed over).
        fc.boolean(),
        async (messages, releaseAtOnce) => {
          const pool = new BufferPool({ min: 1024, round: false });
          const { server, client, serverTransport, unwritten } = await watchedPair(pool, {
            writeHighWaterMark: 16 * 1024,
          });
          server.setMessageHandler(
            releaseAtOnce
              ? (message, conn) => {
                const written = conn.writeMessage('binary', message.data);
                conn.release(message.data);
                return written;
              }
              : async (message, conn) => {
                await conn.writeMessage('binary', message.data);
                conn.release(message.data);
              },
            { bytes: true },
          );
          for (const [i, { size, hold }] of messages.entries()) {
            serverTransport.hold(hold);
            await sendInTwo(client, new Uint8Array(size).fill(i & 0xff));
          }
          serverTransport.hold(false);
          for (const [i, { size }] of messages.entries()) {
            const echo = await client.readMessageBytes();
            expect(echo.data.length).toBe(size);
            expect(echo.data.every((b) => b === (i & 0xff))).toBe(true);
          }
          // A server's frame references a payload above 16 KiB (smaller ones are copied into it): none of
          // those may come back before a chunk was written from it.
          expect(unwritten.filter((bytes) => bytes.length > 16 * 1024)).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("releaseDecodedText: false keeps a decoded text message's buffer out of the pool", async () => {
    const pool = new BufferPool({ min: 1024 });
    const released: Uint8Array[] = [];
    const { server, client } = await openPair({
      allocate: pool.allocate,
      releaseMessage: (bytes) => released.push(bytes),
      releaseDecodedText: false,
    });
    const writer = await client.nextWriter('text');
    await writer.write('a'.repeat(20_000));
    await writer.close('b'.repeat(20_000));
    expect(await server.readMessage()).toEqual({
      type: 'text',
      data: 'a'.repeat(20_000) + 'b'.repeat(20_000),
    });
    await settle();
    expect(released).toEqual([]);
  });
});

/** The frames' opcodes and FIN bits among the chunks a transport wrote after the handshake. */
function frameHeads(written: Uint8Array[]): [number, boolean][] {
  return decodeFrames(concat(written.slice(1))).map((f) => [f.opcode, f.fin]);
}

describe('fragmentLongText (RFC 6455 §5.4)', () => {
  it('§5.4 a Conn with it writes strings of more than 65,536 units in fragments, and only those', async () => {
    const { server, client, serverTransport } = await openPair({ fragmentLongText: true });
    const long = 'é'.repeat(70_000);
    await server.writeMessage('text', 'short');
    await server.writeMessage('text', long);
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'short' });
    expect(await client.readMessage()).toEqual({ type: 'text', data: long });
    expect(frameHeads(serverTransport.written)).toEqual([[1, true], [1, false], [0, true]]);
  });

  it('§5.4 with permessage-deflate in use, long strings stay whole and compressed unless sent uncompressed', async () => {
    const { server, client, serverTransport } = await openPair(
      { fragmentLongText: true, compression: { codec: zlibCodec } },
      { compression: { codec: zlibCodec } },
    );
    const long = 'x'.repeat(70_000);
    await server.writeMessage('text', long);
    await server.writeMessage('text', long, { compress: false });
    expect(await client.readMessage()).toEqual({ type: 'text', data: long });
    expect(await client.readMessage()).toEqual({ type: 'text', data: long });
    expect(frameHeads(serverTransport.written)).toEqual([[1, true], [1, false], [0, true]]);
  });
});

describe('releaseFrame: long strings encoded into one frame of the adapter memory (RFC 6455 §5.6)', () => {
  /** A FrameRing whose allocations and releases are recorded. */
  function watchedRing() {
    const ring = new FrameRing({ size: 64 * 1024 });
    const allocated: Uint8Array[] = [];
    const released: number[] = [];
    return {
      ring,
      allocated,
      released,
      allocateFrame: (n: number) => {
        const frame = ring.allocate(n);
        allocated.push(frame);
        return frame;
      },
      releaseFrame: (bytes: Uint8Array) => {
        released.push(bytes.length);
        ring.release(bytes);
      },
    };
  }
  /** Compared without toEqual, whose diff of large arrays takes minutes. */
  const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
    a.length === b.length && a.every((byte, i) => byte === b[i]);

  it('§5.6 a server writes a string of more than 65,536 units as one text frame of its UTF-8, in memory of allocateFrame; the unused end comes back at once', async () => {
    const watched = watchedRing();
    const { server, client, serverTransport } = await openPair({
      allocateFrame: watched.allocateFrame,
      releaseFrame: watched.releaseFrame,
      fragmentLongText: true, // releaseFrame takes precedence
    });
    // Strings of their own: a string some earlier test read could go out as the bytes it came in (keptTexts).
    const long = 'ü'.repeat(70_000);
    await server.writeMessage('text', long);
    expect((await client.readMessage()).data === long).toBe(true);
    expect(frameHeads(serverTransport.written)).toEqual([[1, true]]);
    // Room for 3 bytes per unit; the 70,000 bytes 2-byte characters did not need came back.
    const frame = watched.allocated.find((f) => f.length === 210_000)!;
    expect(watched.released).toEqual([70_000]);
    // The transport wrote the frame's own bytes (the payload references it); it is live until released.
    expect(equalBytes(serverTransport.written.at(-1)!, frame.subarray(0, 140_000))).toBe(true);
    expect(watched.ring.live).toBe(140_000);
    watched.ring.release(frame.subarray(0, 140_000));
    expect(watched.ring.live).toBe(0);
    // The next long string is encoded into the same memory.
    await server.writeMessage('text', 'â'.repeat(80_000));
    expect(watched.allocated.at(-1)!.buffer === frame.buffer).toBe(true);
    expect((await client.readMessage()).data === 'â'.repeat(80_000)).toBe(true);
    // Short strings are the engine's as before (a small frame of allocateFrame, nothing comes back).
    await server.writeMessage('text', 'short');
    expect(await client.readMessage()).toEqual({ type: 'text', data: 'short' });
    expect(watched.allocated.map((f) => f.length)).toEqual([210_000, 240_000, 7]);
    expect(watched.released).toEqual([70_000, 80_000]);
  });

  it('§5.6 any long string arrives as TextEncoder encodes it: surrogate pairs whole, lone surrogates as U+FFFD (property)', async () => {
    const watched = watchedRing();
    const { server, client } = await openPair({
      allocateFrame: watched.allocateFrame,
      releaseFrame: watched.releaseFrame,
    });
    const unit = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(unit, { minLength: 1, maxLength: 20 }), async (pieces) => {
        const base = pieces.join('');
        const long = base.repeat(Math.ceil(70_000 / base.length));
        await server.writeMessage('text', long);
        const expected = new TextDecoder().decode(new TextEncoder().encode(long));
        const message = await client.readMessage();
        expect(message.type === 'text' && message.data === expected).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('§5.3 a client masks a copy: the memory its string was encoded into comes back whole once the frame was made', async () => {
    const watched = watchedRing();
    const { server, client } = await openPair({}, {
      allocateFrame: watched.allocateFrame,
      releaseFrame: watched.releaseFrame,
    });
    const long = 'q'.repeat(80_000);
    await client.writeMessage('text', long);
    expect((await server.readMessage()).data === long).toBe(true);
    const [encoded, masked] = watched.allocated;
    expect([encoded!.length, watched.allocated.length]).toEqual([240_000, 2]);
    // The unused end at once, the rest after the engine masked a copy into a frame, live until written.
    expect(watched.released).toEqual([160_000, 80_000]);
    expect(watched.ring.live).toBe(masked!.length);
  });

  it('§5.6 with permessage-deflate in use, long strings are compressed as before unless sent uncompressed', async () => {
    const watched = watchedRing();
    const { server, client, serverTransport } = await openPair(
      {
        allocateFrame: watched.allocateFrame,
        releaseFrame: watched.releaseFrame,
        compression: { codec: zlibCodec },
      },
      { compression: { codec: zlibCodec } },
    );
    const long = 'ç'.repeat(70_000);
    const large = () => watched.allocated.filter((f) => f.length > 64 * 1024).map((f) => f.length);
    await server.writeMessage('text', long);
    expect(large()).toEqual([]);
    await server.writeMessage('text', long, { compress: false });
    expect(large()).toEqual([210_000]);
    expect((await client.readMessage()).data === long).toBe(true);
    expect((await client.readMessage()).data === long).toBe(true);
    const frames = decodeFrames(concat(serverTransport.written.slice(1)));
    expect(frames.map((f) => [f.opcode, f.fin, f.rsv1])).toEqual([[1, true, true], [1, true, false]]);
  });

  it('strings of more than 1,048,576 units are left to the engine (3 bytes per unit would pass what a ring keeps)', async () => {
    const watched = watchedRing();
    const { server, client } = await openPair({
      allocateFrame: watched.allocateFrame,
      releaseFrame: watched.releaseFrame,
    });
    const longest = 'm'.repeat(1024 * 1024);
    await server.writeMessage('text', longest);
    await server.writeMessage('text', longest + 'n');
    expect(watched.allocated.map((f) => f.length)).toEqual([3 * 1024 * 1024]);
    expect((await client.readMessage()).data === longest).toBe(true);
    expect((await client.readMessage()).data === longest + 'n').toBe(true);
  });

  it('needs both: releaseFrame without allocateFrame, or given as undefined, leaves long strings to the engine; a memory hook not a function is refused', async () => {
    const released: number[] = [];
    const { server, client, serverTransport } = await openPair({
      releaseFrame: (b) => released.push(b.length),
    });
    await server.writeMessage('text', 'ÿ'.repeat(70_000));
    expect((await client.readMessage()).data === 'ÿ'.repeat(70_000)).toBe(true);
    expect(released).toEqual([]);
    expect(frameHeads(serverTransport.written)).toEqual([[1, true]]);
    // `releaseFrame: undefined` (an adapter's default turned off) is none: fragments of allocateFrame memory.
    const watched = watchedRing();
    const off = await openPair({
      allocateFrame: watched.allocateFrame,
      releaseFrame: undefined,
      fragmentLongText: true,
    });
    await off.server.writeMessage('text', 'þ'.repeat(70_000));
    expect((await off.client.readMessage()).data === 'þ'.repeat(70_000)).toBe(true);
    expect(frameHeads(off.serverTransport.written)).toEqual([[1, false], [0, true]]);
    expect(watched.released).toEqual([]);
    for (const name of ['releaseFrame', 'allocateFrame', 'allocate', 'releaseMessage']) {
      expect(() => new Upgrader({ timers: new VirtualClock(), [name]: 1 })).toThrow(
        `${name} must be a function`,
      );
    }
  });
});
