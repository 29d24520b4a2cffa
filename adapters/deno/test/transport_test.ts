/**
 * DenoTransport's data paths against a fake `Deno.Conn`: what one turn writes leaves in one `conn.write`;
 * several large chunks are gathered into 128 KiB writes, byte for byte, partial writes included; each read's
 * bytes are handed on in a buffer of their own; the read buffer is sized to the traffic.
 */

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type { TransportHandler } from '@sansws/conn';
import { DenoTransport, Upgrader } from '@sansws/deno';
import { frames, messages, primeAllocator } from '../src/transport.ts';

/**
 * A connection whose reads wait for `deliver` and whose writes are recorded. A write accepts up to
 * `accept` bytes (all by default), and resolves after a macrotask, checking that the bytes it was given did
 * not change meanwhile (the buffer is Deno's until then).
 */
function fakeConn(accept = Infinity) {
  const writes: Uint8Array[] = [];
  /** The buffer each write was given. */
  const sources: ArrayBufferLike[] = [];
  const changed: number[] = [];
  const offered: Uint8Array[] = [];
  let pending: ((n: number | null) => void) | null = null;
  let wrote: (() => void) | null = null;
  let accepted = 0;
  let awaited = Infinity;
  let allWritten: (() => void) | null = null;
  const conn = {
    writes,
    sources,
    changed,
    offered,
    read(buffer: Uint8Array): Promise<number | null> {
      offered.push(buffer);
      return new Promise((resolve) => (pending = resolve));
    },
    write(chunk: Uint8Array): Promise<number> {
      const n = Math.min(chunk.length, accept);
      const copy = chunk.slice(0, n);
      writes.push(copy);
      sources.push(chunk.buffer);
      wrote?.();
      return new Promise((resolve) =>
        setTimeout(() => {
          if (!bytesEqual(chunk.subarray(0, n), copy)) changed.push(writes.indexOf(copy));
          accepted += n;
          resolve(n);
          if (accepted >= awaited) allWritten?.();
        }, 0)
      );
    },
    /** Resolves once writes accepted `total` bytes in all. */
    until(total: number): Promise<void> {
      awaited = total;
      return new Promise<void>((resolve) => (allWritten = resolve));
    },
    /** Completes the read in flight with `bytes` (or EOF). */
    deliver(bytes: Uint8Array | null): void {
      const resolve = pending!;
      pending = null;
      if (bytes === null) return resolve(null);
      offered.at(-1)!.set(bytes);
      resolve(bytes.length);
    },
    /** Resolves at the next `write`. */
    nextWrite: () => new Promise<void>((resolve) => (wrote = resolve)),
    closeWrite: () => Promise.resolve(),
    close: () => {},
    localAddr: { transport: 'tcp', hostname: '127.0.0.1', port: 1 },
    remoteAddr: { transport: 'tcp', hostname: '127.0.0.1', port: 2 },
  };
  return conn;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function handler(received: Uint8Array[]): TransportHandler {
  return { data: (chunk) => received.push(chunk), end: () => {}, drain: () => {}, closed: () => {} };
}

/** A started transport over `conn` whose writes stay below its high-water mark (1 MiB). */
function writingTransport(conn: ReturnType<typeof fakeConn>): DenoTransport {
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  transport.start(handler([]), { writeHighWaterMark: 1 << 20 });
  return transport;
}

/** Lets the transport's read loop take the delivered chunk and offer its next buffer. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

Deno.test('DenoTransport: chunks written in one turn, across microtasks, leave in one conn.write', async () => {
  const conn = fakeConn();
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  transport.start(handler([]), { writeHighWaterMark: 1024 });
  const written = conn.nextWrite();
  // In a microtask, as a Conn writes (from the read loop's continuation, or the application's replies).
  await Promise.resolve();
  transport.write(new Uint8Array([1, 2]));
  await Promise.resolve();
  transport.write(new Uint8Array([3]));
  await Promise.resolve();
  transport.write(new Uint8Array([4, 5]));
  await written;
  assert.deepEqual(conn.writes.map((w) => [...w]), [[1, 2, 3, 4, 5]]);
  transport.destroy();
});

Deno.test('DenoTransport: chunks that lie one after another in one buffer leave as a view of it, not joined', async () => {
  const conn = fakeConn();
  const transport = writingTransport(conn);
  const slab = new Uint8Array(4096).map((_, i) => i & 0xff);
  await Promise.resolve();
  let written = conn.nextWrite();
  for (const [from, to] of [[100, 1124], [1124, 1130], [1130, 3000]]) {
    transport.write(slab.subarray(from, to));
  }
  await written;
  assert.deepEqual(conn.sources, [slab.buffer]);
  assert.deepEqual(conn.writes.map((w) => [...w]), [[...slab.subarray(100, 3000)]]);
  await conn.until(2900);

  // A gap or another buffer: joined, in the order written.
  written = conn.nextWrite();
  transport.write(slab.subarray(0, 10));
  transport.write(slab.subarray(11, 20));
  transport.write(new Uint8Array(slab.subarray(20, 30)));
  await written;
  assert.notEqual(conn.sources[1], slab.buffer);
  assert.deepEqual([...conn.writes[1]!], [...slab.subarray(0, 10), ...slab.subarray(11, 30)]);
  transport.destroy();
});

Deno.test('DenoTransport: 64 KiB waiting start the write at once, without waiting for the end of the turn', async () => {
  const conn = fakeConn();
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
  await Promise.resolve();
  for (let i = 0; i < 4; i++) transport.write(new Uint8Array(15 * 1024).fill(i));
  assert.equal(conn.writes.length, 0);
  transport.write(new Uint8Array(15 * 1024).fill(4));
  assert.deepEqual(conn.writes.map((w) => w.length), [75 * 1024]);
  transport.destroy();
});

/**
 * Writes six binary messages as a server's engine gives them (a 10-byte header, then the 64 KiB payload
 * itself) to a connection accepting up to `accept` bytes per write: the first `early` chunks in one go, the
 * rest once the second `conn.write` was made. Checks that every byte left in order, that no buffer changed
 * while Deno held it, and that nothing stays queued; returns the writes.
 */
async function writeLargeMessages(accept: number, early: number): Promise<Uint8Array[]> {
  const conn = fakeConn(accept);
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  transport.start(handler([]), { writeHighWaterMark: 1024 * 1024 });
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < 6; i++) {
    chunks.push(new Uint8Array([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]));
    chunks.push(Uint8Array.from({ length: 64 * 1024 }, (_, j) => (j * 31 + i * 7) & 0xff));
  }
  const sent = Buffer.concat(chunks);
  const done = conn.until(sent.length);
  await Promise.resolve();
  for (const chunk of chunks.slice(0, early)) transport.write(chunk);
  if (early < chunks.length) {
    await conn.nextWrite();
    for (const chunk of chunks.slice(early)) transport.write(chunk);
  }
  await done;
  assert.ok(Buffer.concat(conn.writes).equals(sent));
  assert.deepEqual(conn.changed, []);
  assert.equal(transport.bufferedAmount, 0);
  transport.destroy();
  return conn.writes;
}

Deno.test('DenoTransport: a header and its large payload leave in one write, a queue of them in 128 KiB writes (RFC 6455 §5.2 frames, byte for byte)', async () => {
  const writes = await writeLargeMessages(Infinity, 12);
  // The first message starts the loop at once (64 KiB wait); the others gather while it is written.
  assert.deepEqual(writes.map((w) => w.length), [65546, 131072, 131072, 65586]);
});

Deno.test('DenoTransport: partial writes resume where they stopped, and the gather buffer is not refilled while Deno holds it', async () => {
  // More arrive while the first gathered write is still partly written.
  const writes = await writeLargeMessages(10_000, 6);
  assert.ok(writes.every((w) => w.length <= 10_000));
});

Deno.test('DenoTransport: a read that fills the buffer is handed on in it and the next read gets a new one; a smaller read is copied out; none is overwritten by a later read', async () => {
  const conn = fakeConn();
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  const received: Uint8Array[] = [];
  transport.start(handler(received), { writeHighWaterMark: 1024 });
  const large = Uint8Array.from({ length: 2048 }, (_, i) => i & 0xff);
  conn.deliver(large);
  await settle();
  assert.equal(received[0]!.buffer, conn.offered[0]!.buffer);
  assert.notEqual(conn.offered[1]!.buffer, conn.offered[0]!.buffer);
  conn.deliver(new Uint8Array(100).fill(7));
  await settle();
  assert.notEqual(received[1]!.buffer, conn.offered[1]!.buffer);
  // The small read's buffer is kept for the next read, which must not show through the chunks handed on.
  assert.equal(conn.offered[2]!.buffer, conn.offered[1]!.buffer);
  conn.deliver(new Uint8Array(4096).fill(9));
  await settle();
  conn.deliver(new Uint8Array(4096).fill(5));
  await settle();
  assert.ok(bytesEqual(received[0]!, large));
  assert.ok(bytesEqual(received[1]!, new Uint8Array(100).fill(7)));
  assert.ok(bytesEqual(received[2]!, new Uint8Array(4096).fill(9)));
  // At the largest size too, where the size no longer changes: two full reads, two buffers.
  while (conn.offered.at(-1)!.length < 256 * 1024) {
    conn.deliver(new Uint8Array(conn.offered.at(-1)!.length));
    await settle();
  }
  conn.deliver(new Uint8Array(256 * 1024).fill(1));
  await settle();
  conn.deliver(new Uint8Array(256 * 1024).fill(2));
  await settle();
  assert.ok(bytesEqual(received.at(-2)!, new Uint8Array(256 * 1024).fill(1)));
  assert.ok(bytesEqual(received.at(-1)!, new Uint8Array(256 * 1024).fill(2)));
  transport.destroy();
});

Deno.test('DenoTransport: an idle read offers 2 KiB; reads that fill the buffer double it, up to 256 KiB', async () => {
  const conn = fakeConn();
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  transport.start(handler([]), { writeHighWaterMark: 1024 });
  assert.deepEqual(conn.offered[0]!.length, 2 * 1024);
  for (let i = 0; i < 10; i++) {
    conn.deliver(new Uint8Array(conn.offered.at(-1)!.length));
    await settle();
  }
  assert.deepEqual(conn.offered.map((b) => b.length / 1024), [2, 4, 8, 16, 32, 64, 128, 256, 256, 256, 256]);
  // Small reads shrink it back (halving after every 4 in a row), so a connection gone quiet holds a small
  // buffer; one read that is not small starts the count again.
  for (let i = 0; i < 3; i++) {
    conn.deliver(new Uint8Array(16));
    await settle();
  }
  conn.deliver(new Uint8Array(128 * 1024));
  await settle();
  assert.equal(conn.offered.at(-1)!.length, 256 * 1024);
  for (let i = 0; i < 4 * 7; i++) {
    conn.deliver(new Uint8Array(16));
    await settle();
  }
  assert.deepEqual(conn.offered.at(-1)!.length, 2 * 1024);
  transport.destroy();
});

Deno.test('DenoTransport: the first transport primes glibc (one 16 MiB buffer allocated and dropped), once per process', () => {
  new DenoTransport(fakeConn() as unknown as Deno.Conn);
  // Had constructing a transport not primed, this first explicit call would.
  assert.equal(primeAllocator(), false);
  new DenoTransport(fakeConn() as unknown as Deno.Conn);
  assert.equal(primeAllocator(), false);
});

/** A frame from the transport's FrameRing, filled with `seed`. */
function ringFrame(n: number, seed: number): Uint8Array {
  return frames.allocate(n).fill(seed);
}

Deno.test('DenoTransport: frames from its FrameRing stay as they are until written, then are released', async () => {
  const live = frames.live;
  const conn = fakeConn(1000);
  const transport = writingTransport(conn);
  const a = ringFrame(3000, 1);
  const b = ringFrame(3000, 2);
  transport.write(a);
  transport.write(b);
  await conn.until(6000);
  await settle();
  assert.deepEqual(conn.changed, []);
  assert.equal(frames.live, live);
  const sent = new Uint8Array(Buffer.concat(conn.writes));
  assert.deepEqual(sent, new Uint8Array(6000).fill(1, 0, 3000).fill(2, 3000));
});

Deno.test('DenoTransport: a ring frame cut at the end of the gather buffer is released in two parts, its rest live until written', async () => {
  const live = frames.live;
  const conn = fakeConn();
  const transport = writingTransport(conn);
  // A large chunk keeps the write loop busy while nine 16,000-byte frames queue: 144,000 bytes, so the ninth is
  // cut at the end of the 131,072-byte gather buffer.
  const big = new Uint8Array(70_000).fill(9);
  transport.write(big);
  await conn.nextWrite();
  const sent = Array.from({ length: 9 }, (_, i) => ringFrame(16_000, i + 1));
  const expected = Buffer.concat([big, ...sent.map((frame) => frame.slice())]);
  for (const frame of sent) transport.write(frame);
  await conn.nextWrite();
  // The ninth frame's rest waits uncopied: its 12,928 bytes stay live.
  assert.equal(frames.live, live + 12_928);
  // What frames cut later from the memory of the eight copied ones would do to it.
  for (const frame of sent.slice(0, 8)) frame.fill(0xee);
  await conn.until(214_000);
  assert.deepEqual(conn.writes.map((w) => w.length), [70_000, 131_072, 12_928]);
  assert.ok(Buffer.concat(conn.writes).equals(expected));
  await settle();
  assert.equal(frames.live, live);
});

Deno.test('DenoTransport: ring frames still queued when the connection closes are released', () => {
  const live = frames.live;
  const conn = fakeConn();
  const transport = writingTransport(conn);
  transport.write(ringFrame(500, 3));
  assert.equal(frames.live, live + 500);
  transport.destroy();
  assert.equal(frames.live, live);
  assert.equal(transport.write(ringFrame(700, 4)), false);
  assert.equal(frames.live, live);
});

Deno.test('DenoTransport: a frame larger than a ring stays as it is while written in parts, then is released and used again', async () => {
  const live = frames.live;
  const conn = fakeConn(100_000);
  const transport = writingTransport(conn);
  const large = ringFrame(300_000, 5);
  assert.equal(large.byteOffset, 8);
  transport.write(large);
  await conn.until(300_000);
  await settle();
  // Each write saw the frame's bytes unchanged until Deno had them (nothing reused its memory meanwhile).
  assert.deepEqual(conn.changed, []);
  assert.deepEqual(conn.writes.map((w) => w.length), [100_000, 100_000, 100_000]);
  assert.ok(conn.writes.every((w) => w.every((byte) => byte === 5)));
  assert.equal(frames.live, live);
  // Its buffer serves the next frame of its size class.
  const next = frames.allocate(400_000);
  assert.equal(next.buffer, large.buffer);
  frames.release(next);
});

Deno.test('the Deno Upgrader gives its Conns the ring for long strings (allocateFrame and releaseFrame)', () => {
  const options = new Upgrader().options;
  assert.equal(options.allocateFrame, frames.allocate);
  assert.equal(options.releaseFrame, frames.release);
});

Deno.test('the Deno Upgrader assembles messages in its pool, buffers of the size asked for; decoded text keeps its bytes', () => {
  const options = new Upgrader().options;
  assert.equal(options.allocate, messages.allocate);
  assert.equal(options.releaseMessage, messages.release);
  assert.equal(options.releaseDecodedText, false);
  const bytes = messages.allocate(100_000);
  assert.deepEqual([bytes.length, bytes.buffer.byteLength], [100_000, 100_000]);
});

Deno.test('DenoTransport: afterWrites calls back once Deno wrote every byte written before it, or the connection closed', async () => {
  const conn = fakeConn(100_000);
  const transport = writingTransport(conn);
  const calls: string[] = [];
  transport.afterWrites(() => calls.push('idle'));
  assert.deepEqual(calls, ['idle']);
  transport.write(new Uint8Array(250_000));
  transport.afterWrites(() => calls.push('large'));
  transport.write(new Uint8Array(10));
  transport.afterWrites(() => calls.push('small'));
  await conn.until(200_000);
  await settle();
  assert.deepEqual(calls, ['idle']);
  await conn.until(250_000);
  await settle();
  assert.deepEqual(calls, ['idle', 'large']);
  await conn.until(250_010);
  await settle();
  assert.deepEqual(calls, ['idle', 'large', 'small']);
  transport.write(new Uint8Array(300_000));
  transport.afterWrites(() => calls.push('closed'));
  transport.destroy();
  assert.equal(calls.at(-1), 'closed');
  transport.afterWrites(() => calls.push('after'));
  assert.equal(calls.at(-1), 'after');
});
