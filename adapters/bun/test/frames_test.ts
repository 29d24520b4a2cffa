/**
 * The Bun adapter's outgoing frames come from a FrameRing (`frames`, the engines' `allocateFrame`), whose
 * memory is used again once every frame cut from it was released: BunTransport releases the bytes of every
 * chunk once the socket took them or they were copied, and the rest of a partial write waits uncopied, live
 * until written.
 */

import { Buffer } from 'node:buffer';
import { describe, expect, test } from 'bun:test';
import type { Socket } from 'bun';
import fc from 'fast-check';
import type { TransportHandler } from '@sansws/conn';
import { type BunSocketData, BunTransport } from '../src/mod.ts';
import { frames } from '../src/transport.ts';

/** The largest frame of a ring (256 KiB): larger ones (a long string a Conn encoded) get buffers of their own. */
const LARGEST = 256 * 1024;

/** A frame from the allocator, filled with `seed`. */
function cut(n: number, seed: number): Uint8Array {
  const frame = frames.allocate(n);
  frame.fill(seed & 0xff);
  return frame;
}

/** Two frames cut one after the other that lie in the same ring (a wrap between them is retried). */
function adjacentPair(a: number, b: number): [Uint8Array, Uint8Array] {
  for (;;) {
    const first = cut(a, 1);
    const second = cut(b, 2);
    if (second.buffer === first.buffer && second.byteOffset === first.byteOffset + a) return [first, second];
    frames.release(first);
    frames.release(second);
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

describe('BunTransport with frames from the FrameRing', () => {
  test('writes release what the socket took; the rest of a partial write stays live, uncopied, until written', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(quiet, { writeHighWaterMark: 1 << 20 });
    const [a, b] = adjacentPair(1000, 1000);
    const live = frames.live;
    socket.accept = 100;
    transport.write(a);
    transport.write(b);
    await endOfTurn();
    expect(frames.live).toBe(live - 100);
    // Frames cut while the rest waits (past the end of the ring, several times over) never reuse its memory.
    const later: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) later.push(cut(60 * 1024, 0xee));
    expect(a.every((byte) => byte === 1) && b.every((byte) => byte === 2)).toBe(true);
    socket.accept = 250;
    drain(socket);
    expect(frames.live).toBe(live - 350 + 20 * 60 * 1024);
    socket.accept = Infinity;
    drain(socket);
    expect(frames.live).toBe(live - 2000 + 20 * 60 * 1024);
    for (const frame of later) frames.release(frame);
    const sent = Buffer.concat(socket.writes);
    expect(sent.length).toBe(2000);
    expect(sent.subarray(0, 1000).every((byte) => byte === 1)).toBe(true);
    expect(sent.subarray(1000).every((byte) => byte === 2)).toBe(true);
  });

  test('a frame larger than a ring, written in parts, is released as the socket takes it and then used again', () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(quiet, { writeHighWaterMark: 1 << 30 });
    const live = frames.live;
    const frame = cut(LARGEST + 100_000, 9);
    transport.write(new Uint8Array([0x81, 0x7f])); // a header first, as a server writes it
    socket.accept = 70_000;
    transport.write(frame);
    // Live: exactly the frame's bytes the socket has not taken yet (the rest waits uncopied).
    const taken = () => socket.writes.reduce((n, chunk) => n + chunk.length, 0) - 2;
    expect(taken()).toBeGreaterThan(0);
    expect(frames.live).toBe(live + frame.length - taken());
    drain(socket);
    expect(frames.live).toBe(live + frame.length - taken());
    expect(taken()).toBeLessThan(frame.length);
    socket.accept = Infinity;
    drain(socket);
    expect(frames.live).toBe(live);
    const sent = Buffer.concat(socket.writes);
    expect(sent.length).toBe(2 + LARGEST + 100_000);
    expect(sent.subarray(2).every((byte) => byte === 9)).toBe(true);
    // All of it was written: its buffer serves the next frame of its size class.
    const next = frames.allocate(LARGEST + 50_000);
    expect(next.buffer === frame.buffer).toBe(true);
    frames.release(next);
  });

  test('frames of a batch that is joined, or dropped with a closed socket, are released', async () => {
    const socket = fakeSocket();
    const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
    transport.start(quiet, { writeHighWaterMark: 1 << 20 });
    const frame = cut(300, 5);
    const live = frames.live;
    transport.write(new Uint8Array([1, 2, 3])); // not adjacent: the batch is joined
    transport.write(frame);
    await endOfTurn();
    expect(frames.live).toBe(live - 300);
    const dropped = cut(400, 6);
    const before = frames.live;
    transport.write(dropped);
    BunTransport.serverHandler(() => {}, () => {}).close!(
      socket as unknown as Socket<BunSocketData>,
      undefined,
    );
    expect(frames.live).toBe(before - 400);
    const late = cut(500, 7);
    const beforeLate = frames.live;
    expect(transport.write(late)).toBe(false);
    expect(frames.live).toBe(beforeLate - 500);
  });

  test('whatever the sizes and partial writes, the socket gets every byte in order and no frame stays live (property)', async () => {
    const op = fc.oneof(
      { arbitrary: fc.record({ frame: fc.integer({ min: 2, max: 64 * 1024 + 14 }) }), weight: 6 },
      // Larger than a ring: a buffer of its own, used again for a later one once all of it was written.
      { arbitrary: fc.record({ frame: fc.integer({ min: LARGEST + 1, max: 3 * LARGEST }) }), weight: 1 },
      { arbitrary: fc.record({ own: fc.integer({ min: 1, max: 80 * 1024 }) }), weight: 1 },
      {
        arbitrary: fc.record({ accept: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: Infinity }) }),
        weight: 2,
      },
      { arbitrary: fc.constant({ turn: true }), weight: 2 },
      { arbitrary: fc.constant({ drain: true }), weight: 1 },
    );
    // The rings fill up and wrap many times over the runs.
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 150, size: 'max' }), async (ops) => {
        const socket = fakeSocket();
        const transport = new BunTransport(socket as unknown as Socket<BunSocketData>);
        transport.start(quiet, { writeHighWaterMark: 1 << 30 });
        const expected: Uint8Array[] = [];
        const live = frames.live;
        let seq = 0;
        for (const step of ops) {
          if ('frame' in step) {
            const frame = frames.allocate(step.frame);
            for (let i = 0; i < frame.length; i++) frame[i] = (seq + i * 7) & 0xff;
            seq++;
            expected.push(frame.slice());
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
        // Compared as a whole (a failing toEqual's diff of megabytes would take minutes).
        expect(Buffer.concat(socket.writes).equals(Buffer.concat(expected))).toBe(true);
        // Every frame was consumed: none keeps its ring from being used again.
        expect(frames.live).toBe(live);
      }),
      { numRuns: 60 },
    );
  });
});
