/**
 * The Bun adapter's `allocateFrame`: outgoing frames cut from rings whose memory is used again only once
 * every frame cut from it was released (handed to the socket or copied), and the transport's part in that:
 * it releases every chunk it consumed and keeps no view of a ring.
 */

import { describe, expect, test } from 'bun:test';
import type { Socket } from 'bun';
import fc from 'fast-check';
import type { TransportHandler } from '@sansws/conn';
import { type BunSocketData, BunTransport } from '../src/mod.ts';
import { allocateFrame, liveBytesOf, releaseFrame, resetFrames } from '../src/frames.ts';

/** The largest frame the engine asks for: a 16 KiB payload with a client's header. */
const LARGEST = 16 * 1024 + 8;

/** A frame from the allocator, filled with `seed`. */
function cut(n: number, seed: number): Uint8Array {
  const frame = allocateFrame(n);
  frame.fill(seed & 0xff);
  return frame;
}

/** Two frames cut one after the other that lie in the same ring (a wrap between them is retried). */
function adjacentPair(a: number, b: number): [Uint8Array, Uint8Array] {
  for (;;) {
    const first = cut(a, 1);
    const second = cut(b, 2);
    if (second.buffer === first.buffer && second.byteOffset === first.byteOffset + a) return [first, second];
    releaseFrame(first);
    releaseFrame(second);
  }
}

function fakeSocket() {
  const writes: Uint8Array[] = [];
  const fake = {
    data: { transport: null } as BunSocketData,
    accept: Infinity,
    writes,
    setNoDelay: () => true,
    write(chunk: Uint8Array, byteOffset = 0, byteLength = chunk.length - byteOffset): number {
      const n = Math.min(byteLength, fake.accept);
      writes.push(chunk.slice(byteOffset, byteOffset + n));
      return n;
    },
    end: () => {},
    terminate: () => {},
    pause: () => {},
    resume: () => {},
  };
  return fake;
}

const quiet: TransportHandler = { data: () => {}, end: () => {}, drain: () => {}, closed: () => {} };
const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const drain = (socket: ReturnType<typeof fakeSocket>) =>
  BunTransport.serverHandler(() => {}, () => {}).drain!(socket as unknown as Socket<BunSocketData>);
const concat = (chunks: readonly Uint8Array[]) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
};

describe('allocateFrame (the engine option of the Bun Upgrader and dial)', () => {
  test('frames of 65 bytes and more are cut one after another from a ring, smaller ones are their own', () => {
    const [a, b] = adjacentPair(1028, 65);
    expect(a.buffer.byteLength).toBeGreaterThanOrEqual(64 * 1024);
    const small = cut(64, 3);
    expect(small.byteOffset).toBe(0);
    expect(small.buffer.byteLength).toBe(64);
    releaseFrame(a);
    releaseFrame(b);
    releaseFrame(small);
  });

  test('a ring is cut from its start again only when no frame cut from it is live', () => {
    const held = cut(1000, 1);
    const ring = held.buffer;
    let frame: Uint8Array;
    let n = 0;
    do {
      frame = cut(LARGEST, n++);
      releaseFrame(frame);
    } while (frame.buffer === ring && n < 1000);
    // The ring filled up while `held` was live: another one took over, and `held` kept its bytes.
    expect(frame.buffer).not.toBe(ring);
    expect(held.every((byte) => byte === 1)).toBe(true);
    releaseFrame(held);
    expect(liveBytesOf(held)).toBe(0);
    // With nothing live in it, the ring now in use is cut from its start again when it fills.
    const next = frame.buffer;
    let again: Uint8Array;
    n = 0;
    do {
      again = cut(LARGEST, n++);
      releaseFrame(again);
    } while (again.byteOffset !== 0 && n < 1000);
    expect(again.buffer).toBe(next);
  });

  test('a run of adjacent frames is released at once, by its length', () => {
    const [a, b] = adjacentPair(500, 700);
    const live = liveBytesOf(a);
    releaseFrame(new Uint8Array(a.buffer, a.byteOffset, a.length + b.length));
    expect(liveBytesOf(a)).toBe(live - 1200);
  });
});

describe('BunTransport with frames from the rings', () => {
  test('writes release the frames; the rest of a partial write is a copy, unchanged when its ring is reused', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(quiet, { writeHighWaterMark: 1 << 20 });
    const [a, b] = adjacentPair(1000, 1000);
    const live = liveBytesOf(a);
    socket.accept = 100;
    transport.write(a);
    transport.write(b);
    await endOfTurn();
    expect(liveBytesOf(a)).toBe(live - 2000);
    // What a later frame cut from the same memory would do to it.
    a.fill(0xee);
    b.fill(0xee);
    socket.accept = Infinity;
    drain(socket);
    const sent = concat(socket.writes);
    expect(sent.length).toBe(2000);
    expect(sent.subarray(0, 1000).every((byte) => byte === 1)).toBe(true);
    expect(sent.subarray(1000).every((byte) => byte === 2)).toBe(true);
  });

  test('frames of a batch that is joined, or dropped with a closed socket, are released', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(quiet, { writeHighWaterMark: 1 << 20 });
    const frame = cut(300, 5);
    const live = liveBytesOf(frame);
    transport.write(new Uint8Array([1, 2, 3])); // not adjacent: the batch is joined
    transport.write(frame);
    await endOfTurn();
    expect(liveBytesOf(frame)).toBe(live - 300);
    const dropped = cut(400, 6);
    const before = liveBytesOf(dropped);
    transport.write(dropped);
    BunTransport.serverHandler(() => {}, () => {}).close!(
      socket as unknown as Socket<BunSocketData>,
      undefined,
    );
    expect(liveBytesOf(dropped)).toBe(before - 400);
    const late = cut(500, 7);
    const beforeLate = liveBytesOf(late);
    expect(transport.write(late)).toBe(false);
    expect(liveBytesOf(late)).toBe(beforeLate - 500);
  });

  test('whatever the sizes and partial writes, the socket gets every byte in order and no frame stays live (property)', async () => {
    const op = fc.oneof(
      { arbitrary: fc.record({ frame: fc.integer({ min: 2, max: LARGEST }) }), weight: 6 },
      { arbitrary: fc.record({ own: fc.integer({ min: 1, max: 80 * 1024 }) }), weight: 1 },
      {
        arbitrary: fc.record({ accept: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: Infinity }) }),
        weight: 2,
      },
      { arbitrary: fc.constant({ turn: true }), weight: 2 },
      { arbitrary: fc.constant({ drain: true }), weight: 1 },
    );
    // The rings hold only this property's frames from here on, and fill up and wrap many times over the runs.
    resetFrames();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 150, size: 'max' }), async (ops) => {
        const socket = fakeSocket();
        const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
        transport.start(quiet, { writeHighWaterMark: 1 << 30 });
        const expected: Uint8Array[] = [];
        const frames: Uint8Array[] = [];
        let seq = 0;
        for (const step of ops) {
          if ('frame' in step) {
            const frame = allocateFrame(step.frame);
            for (let i = 0; i < frame.length; i++) frame[i] = (seq + i * 7) & 0xff;
            seq++;
            expected.push(frame.slice());
            if (frame.length >= 65) frames.push(frame);
            transport.write(frame);
          } else if ('own' in step) {
            const chunk = new Uint8Array(step.own).fill(seq++ & 0xff);
            expected.push(chunk.slice());
            transport.write(chunk);
          } else if ('accept' in step) {
            socket.accept = step.accept;
          } else if ('turn' in step) {
            await endOfTurn();
          } else {
            drain(socket);
          }
        }
        socket.accept = Infinity;
        await endOfTurn();
        drain(socket);
        expect(concat(socket.writes)).toEqual(concat(expected));
        // Every frame was consumed: none keeps its ring from being used again.
        for (const frame of frames) expect(liveBytesOf(frame)).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
