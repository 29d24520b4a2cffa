/**
 * BunTransport's write path against a fake Bun socket that records every `socket.write`: what one turn of
 * the event loop writes leaves in one system call, big chunks are not copied, partial writes keep order.
 */

import { describe, expect, test } from 'bun:test';
import type { Socket } from 'bun';
import type { TransportHandler } from '@sansws/conn';
import { type BunSocketData, BunTransport } from '../src/mod.ts';

/** A Bun socket that takes `accept` bytes per write (all of them by default) and records what it got. */
function fakeSocket() {
  const writes: Uint8Array[] = [];
  const fake = {
    data: { transport: null } as BunSocketData,
    accept: Infinity,
    ended: false,
    writes,
    setNoDelay: () => true,
    write(chunk: Uint8Array): number {
      const n = Math.min(chunk.length, fake.accept);
      writes.push(chunk.subarray(0, n));
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

  test('a big chunk is handed over as it is (no copy), after the batch before it', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
    const big = new Uint8Array(64 * 1024).fill(7);
    transport.write(bytes(130, 127));
    transport.write(big);
    expect(socket.writes).toHaveLength(2);
    expect([...socket.writes[0]!]).toEqual([130, 127]);
    expect(socket.writes[1]!.buffer).toBe(big.buffer);
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
  // and keeps views). Bun's documentation does not promise a fresh buffer per call, so this checks it.
  test('hand every data call a buffer of its own, never reused by a later one', async () => {
    const received: Uint8Array[] = [];
    let arrived: (() => void) | null = null;
    const server = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        data: (_socket, chunk) => {
          received.push(chunk);
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
