/**
 * DenoTransport's data paths against a fake `Deno.Conn`: what one turn writes leaves in one `conn.write`;
 * each read's bytes are handed on in a buffer of their own; the read buffer is sized to the traffic.
 */

import assert from 'node:assert/strict';
import type { TransportHandler } from '@sansws/conn';
import { DenoTransport } from '@sansws/deno';

/** A connection whose reads wait for `deliver` and whose writes are recorded (and accepted whole). */
function fakeConn() {
  const writes: Uint8Array[] = [];
  const offered: Uint8Array[] = [];
  let pending: ((n: number | null) => void) | null = null;
  let wrote: (() => void) | null = null;
  const conn = {
    writes,
    offered,
    read(buffer: Uint8Array): Promise<number | null> {
      offered.push(buffer);
      return new Promise((resolve) => (pending = resolve));
    },
    write(chunk: Uint8Array): Promise<number> {
      writes.push(chunk.slice());
      wrote?.();
      return Promise.resolve(chunk.length);
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

function handler(received: Uint8Array[]): TransportHandler {
  return { data: (chunk) => received.push(chunk), end: () => {}, drain: () => {}, closed: () => {} };
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

Deno.test('DenoTransport: a read is handed on in a buffer of its own, never overwritten by the next read', async () => {
  const conn = fakeConn();
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  const received: Uint8Array[] = [];
  transport.start(handler(received), { writeHighWaterMark: 1024 });
  conn.deliver(new Uint8Array([1, 2, 3]));
  await settle();
  conn.deliver(new Uint8Array([9, 9, 9]));
  await settle();
  assert.deepEqual(received.map((c) => [...c]), [[1, 2, 3], [9, 9, 9]]);
  transport.destroy();
});

Deno.test('DenoTransport: an idle read offers 2 KiB; reads that fill the buffer double it, up to 64 KiB', async () => {
  const conn = fakeConn();
  const transport = new DenoTransport(conn as unknown as Deno.Conn);
  transport.start(handler([]), { writeHighWaterMark: 1024 });
  assert.deepEqual(conn.offered[0]!.length, 2 * 1024);
  for (let i = 0; i < 10; i++) {
    conn.deliver(new Uint8Array(conn.offered.at(-1)!.length));
    await settle();
  }
  assert.deepEqual(conn.offered.map((b) => b.length / 1024), [2, 4, 8, 16, 32, 64, 64, 64, 64, 64, 64]);
  // Small reads shrink it back (halving after every 4 in a row), so a connection gone quiet holds a small
  // buffer; one read that is not small starts the count again.
  for (let i = 0; i < 3; i++) {
    conn.deliver(new Uint8Array(16));
    await settle();
  }
  conn.deliver(new Uint8Array(32 * 1024));
  await settle();
  assert.equal(conn.offered.at(-1)!.length, 64 * 1024);
  for (let i = 0; i < 4 * 5; i++) {
    conn.deliver(new Uint8Array(16));
    await settle();
  }
  assert.deepEqual(conn.offered.at(-1)!.length, 2 * 1024);
  transport.destroy();
});
