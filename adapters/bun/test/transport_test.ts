/**
 * BunTransport's write path against a fake Bun socket that records every `socket.write`: what one turn of
 * the event loop writes leaves in one system call, big chunks are not copied, partial writes keep order.
 */

import { describe, expect, test } from 'bun:test';
import type { Socket } from 'bun';
import type { TransportHandler } from '@sansws/conn';
import { type BunSocketData, BunTransport, Upgrader } from '../src/mod.ts';
import { allocateUnzeroed, frames, messages } from '../src/transport.ts';

/**
 * A Bun socket that takes `accept` bytes per write (all of them by default) and records what it got: a copy
 * of the bytes it took (Bun copies them into the kernel before `write` returns) and the buffer they came from.
 */
function fakeSocket() {
  const writes: Uint8Array[] = [];
  const sources: ArrayBufferLike[] = [];
  const fake = {
    data: { transport: null } as BunSocketData,
    accept: Infinity,
    ended: false,
    writes,
    sources,
    setNoDelay: () => true,
    write(chunk: Uint8Array, byteOffset = 0, byteLength = chunk.length - byteOffset): number {
      const n = Math.min(byteLength, fake.accept);
      writes.push(chunk.slice(byteOffset, byteOffset + n));
      sources.push(chunk.buffer);
      return n;
    },
    end: () => (fake.ended = true),
    terminate: () => {},
    pause: () => {},
    resume: () => {},
  };
  return fake;
}

function handler(log: string[]): TransportHandler {
  return {
    data: () => log.push('data'),
    end: () => log.push('end'),
    drain: () => log.push('drain'),
    closed: () => log.push('closed'),
  };
}

/** The end of the current turn of the event loop (after its microtasks), when the batch is written. */
const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const bytes = (...values: number[]) => new Uint8Array(values);
const joined = (chunks: Uint8Array[]) => [...chunks.flatMap((chunk) => [...chunk])];

describe('BunTransport writes', () => {
  test('chunks written in one turn, across microtasks, leave in one socket.write', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 });
    transport.write(bytes(1, 2));
    await Promise.resolve();
    transport.write(bytes(3));
    await Promise.resolve();
    transport.write(bytes(4, 5));
    expect(transport.bufferedAmount).toBe(5);
    expect(socket.writes).toHaveLength(0);
    await endOfTurn();
    expect(socket.writes.map((w) => [...w])).toEqual([[1, 2, 3, 4, 5]]);
    expect(transport.bufferedAmount).toBe(0);
  });

  test('a batch whose chunks lie one after another in one buffer is written as a view of it, not joined', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1 << 20 });
    const slab = new Uint8Array(4096).map((_, i) => i & 0xff);
    for (const [from, to] of [[100, 1124], [1124, 1130], [1130, 3000]]) {
      transport.write(slab.subarray(from, to));
    }
    await endOfTurn();
    expect(socket.sources).toEqual([slab.buffer]);
    expect(socket.writes.map((w) => [...w])).toEqual([[...slab.subarray(100, 3000)]]);

    // A gap or another buffer: joined as before, in the order written.
    transport.write(slab.subarray(0, 10));
    transport.write(slab.subarray(11, 20));
    transport.write(new Uint8Array(slab.subarray(20, 30)));
    await endOfTurn();
    expect(socket.sources[1]).not.toBe(slab.buffer);
    expect([...socket.writes[1]!]).toEqual([...slab.subarray(0, 10), ...slab.subarray(11, 30)]);
  });

  test('a batch that reaches 64 KiB goes out at once, without waiting for the end of the turn', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
    for (let i = 0; i < 4; i++) transport.write(new Uint8Array(15 * 1024).fill(i));
    expect(socket.writes).toHaveLength(0);
    transport.write(new Uint8Array(15 * 1024).fill(4));
    expect(socket.writes.map((w) => w.length)).toEqual([75 * 1024]);
    expect(transport.bufferedAmount).toBe(0);
  });

  test('a big chunk with nothing batched before it is handed over as it is (no copy)', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
    const big = new Uint8Array(64 * 1024).fill(7);
    transport.write(big);
    expect(socket.writes).toHaveLength(1);
    expect(socket.sources[0]).toBe(big.buffer);
  });

  test('a frame header batched before a big payload leaves with it, in one socket.write', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
    const big = new Uint8Array(64 * 1024).fill(7);
    transport.write(bytes(130, 127, 0, 0, 0, 0, 0, 1, 0, 0));
    transport.write(big);
    expect(socket.writes.map((w) => w.length)).toEqual([10 + 64 * 1024]);
    expect([...socket.writes[0]!.subarray(0, 10)]).toEqual([130, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(socket.writes[0]!.subarray(10).every((byte) => byte === 7)).toBe(true);
  });

  test('a header before a payload above 128 KiB leaves with the first 64 KiB; the rest is not copied', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 4 * 1024 * 1024 });
    const big = new Uint8Array(1024 * 1024).map((_, i) => i & 0xff);
    transport.write(bytes(130, 127));
    transport.write(big);
    expect(socket.writes.map((w) => w.length)).toEqual([2 + 64 * 1024, 1024 * 1024 - 64 * 1024]);
    expect(socket.sources[1]).toBe(big.buffer);
    const sent = [...socket.writes[0]!.subarray(2), ...socket.writes[1]!.subarray(0, 16)];
    expect(sent.every((byte, i) => byte === big[i])).toBe(true);
    expect(socket.writes[1]!.every((byte, i) => byte === big[64 * 1024 + i])).toBe(true);
  });

  test('behind a partial write, a header and its big payload queue as they are (no copy)', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
    socket.accept = 1;
    const first = new Uint8Array(64 * 1024);
    transport.write(first);
    const big = new Uint8Array(64 * 1024).fill(7);
    transport.write(bytes(130, 127, 0, 0, 0, 0, 0, 1, 0, 0));
    transport.write(big);
    socket.accept = Infinity;
    BunTransport.serverHandler(() => {}, () => {}).drain!(socket as unknown as Socket<BunSocketData>);
    expect(socket.writes.map((w) => w.length)).toEqual([1, 64 * 1024 - 1, 10, 64 * 1024]);
    expect(socket.sources[3]).toBe(big.buffer);
  });

  test('the untaken rest of a joined batch keeps its bytes when the next batch is joined', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 });
    const other = fakeSocket();
    const next = new BunTransport(other as unknown as Socket<BunSocketData>);
    next.start(handler([]), { writeHighWaterMark: 1024 });
    socket.accept = 1;
    transport.write(bytes(1, 2));
    transport.write(bytes(3, 4));
    next.write(bytes(9, 9));
    next.write(bytes(9, 9));
    await endOfTurn(); // both batches joined in the same shared buffer, one after the other
    socket.accept = Infinity;
    BunTransport.serverHandler(() => {}, () => {}).drain!(socket as unknown as Socket<BunSocketData>);
    expect(joined(socket.writes)).toEqual([1, 2, 3, 4]);
    expect(joined(other.writes)).toEqual([9, 9, 9, 9]);
  });

  test('a socket event in a turn that has run for 1 ms writes the batches waiting in it', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 });
    const handlers = BunTransport.serverHandler(() => {}, () => {});
    const event = fakeSocket();
    new BunTransport(event as unknown as Socket<BunSocketData>).start(handler([]), {
      writeHighWaterMark: 1024,
    });
    transport.write(bytes(1));
    handlers.drain!(event as unknown as Socket<BunSocketData>);
    expect(socket.writes).toHaveLength(0); // a fresh turn: the batch still waits
    // Other sockets' events (here: busy work) keep this turn running past the bound.
    const start = performance.now();
    while (performance.now() - start < 1.5) { /* busy */ }
    handlers.drain!(event as unknown as Socket<BunSocketData>);
    expect(joined(socket.writes)).toEqual([1]);
  });

  test('a partial write queues the rest in order; drain follows once Bun takes it', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    const log: string[] = [];
    transport.start(handler(log), { writeHighWaterMark: 4 });
    socket.accept = 2;
    expect(transport.write(bytes(1, 2, 3))).toBe(true);
    expect(transport.write(bytes(4, 5))).toBe(false);
    await endOfTurn();
    expect(transport.bufferedAmount).toBe(3); // below the mark again
    expect(log).toEqual(['drain']);
    expect(transport.write(bytes(6))).toBe(false);
    socket.accept = Infinity;
    await endOfTurn(); // 6 waits behind the queue, not ahead of it
    expect(joined(socket.writes)).toEqual([1, 2]);
    BunTransport.serverHandler(() => {}, () => {}).drain!(socket as unknown as Socket<BunSocketData>);
    expect(joined(socket.writes)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(transport.bufferedAmount).toBe(0);
    expect(log).toEqual(['drain', 'drain']);
  });

  test('afterWrites calls back once Bun took every byte written before it, or when the socket closes', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    const drain = () =>
      BunTransport.serverHandler(() => {}, () => {}).drain!(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1 << 20 });
    const calls: string[] = [];
    transport.afterWrites(() => calls.push('idle'));
    expect(calls).toEqual(['idle']);
    socket.accept = 100;
    const big = new Uint8Array(200_000);
    transport.write(big); // Bun takes 100 bytes; the rest waits in the queue as a view of `big`
    transport.afterWrites(() => calls.push('big'));
    transport.write(new Uint8Array(100)); // batched
    transport.afterWrites(() => calls.push('small'));
    await endOfTurn();
    expect(calls).toEqual(['idle']);
    socket.accept = 199_850;
    drain(); // all of `big` but 50 bytes
    expect(calls).toEqual(['idle']);
    socket.accept = 60;
    drain(); // the rest of `big` and 60 bytes of the batch's copy
    expect(calls).toEqual(['idle', 'big']);
    socket.accept = Infinity;
    drain();
    expect(calls).toEqual(['idle', 'big', 'small']);
    socket.accept = 0;
    transport.write(big);
    transport.afterWrites(() => calls.push('closed'));
    BunTransport.serverHandler(() => {}, () => {}).close!(
      socket as unknown as Socket<BunSocketData>,
      undefined,
    );
    expect(calls.at(-1)).toBe('closed');
  });

  test('end() writes the batch, then sends the FIN', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 });
    transport.write(bytes(136, 0));
    transport.end();
    expect(joined(socket.writes)).toEqual([136, 0]);
    expect(socket.ended).toBe(true);
  });
});

describe('Bun sockets', () => {
  // The transport hands Bun's `data` chunks to the engine without copying them (the engine unmasks in place
  // and keeps views). Bun's documentation does not promise a fresh buffer per call, so this checks it, with
  // the `binaryType` the transport asks for.
  test('hand every data call a buffer of its own, never reused by a later one', async () => {
    const received: Uint8Array[] = [];
    let arrived: (() => void) | null = null;
    const server = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        binaryType: 'arraybuffer', // as BunTransport's handlers ask
        data: (_socket, chunk: ArrayBuffer | Uint8Array) => {
          received.push(chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : chunk);
          arrived?.();
        },
      },
    });
    const next = () => new Promise<void>((resolve) => (arrived = resolve));
    const client = await Bun.connect({
      hostname: '127.0.0.1',
      port: server.port,
      socket: { data: () => {} },
    });
    try {
      let got = next();
      client.write(new Uint8Array(1000).fill(0x41));
      await got;
      const first = received[0]!;
      got = next();
      client.write(new Uint8Array(1000).fill(0x42));
      await got;
      expect(first.every((byte) => byte === 0x41)).toBe(true);
      expect(received.at(-1)!.buffer).not.toBe(first.buffer);
    } finally {
      client.end();
      server.stop(true);
    }
  });
});

describe('allocateUnzeroed (the engine allocate option of the Bun Upgrader and dial)', () => {
  test("Bun's Buffer.allocUnsafeSlow gives it a whole ArrayBuffer of its own, seen as a plain Uint8Array", () => {
    const [a, b] = [allocateUnzeroed(1 << 20), allocateUnzeroed(1 << 20)];
    expect([Object.getPrototypeOf(a), a.length, a.byteOffset, a.buffer.byteLength])
      .toEqual([Uint8Array.prototype, 1 << 20, 0, 1 << 20]);
    expect(a.buffer).not.toBe(b.buffer);
  });

  test('the Bun Upgrader hands the engine its message pool (allocateUnzeroed below 16 KiB) unless the options name another', () => {
    const options = new Upgrader().options;
    expect(options.allocate).toBe(messages.allocate);
    expect(options.releaseMessage).toBe(messages.release);
    // Long strings are encoded into one frame of the ring, which the transport releases once written.
    expect(options.allocateFrame).toBe(frames.allocate);
    expect(options.releaseFrame).toBe(frames.release);
    // Below the pool's 16 KiB: Buffer.allocUnsafeSlow's own ArrayBuffer (a whole one, as above).
    const small = messages.allocate(1000);
    expect([small.byteOffset, small.buffer.byteLength]).toEqual([0, 1000]);
    // From 16 KiB: a view of a pooled power-of-two buffer, used again once released.
    const large = messages.allocate(40_000);
    expect(large.buffer.byteLength).toBe(64 * 1024);
    messages.release(large);
    expect(messages.allocate(50_000).buffer).toBe(large.buffer);
    const zeroed = (length: number): Uint8Array => new Uint8Array(length);
    expect(new Upgrader({ allocate: zeroed }).options.allocate).toBe(zeroed);
  });
});
