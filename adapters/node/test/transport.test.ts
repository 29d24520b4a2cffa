/**
 * NodeTransport's write path over a stream.Duplex that records what reaches it: the chunks written in one
 * turn of the event loop leave in one socket write (merged when small, large payloads passed through
 * uncopied, under cork so node writes them with one writev), and nothing written is lost or reordered by
 * end() or destroy().
 */

import { Duplex } from 'node:stream';
import type { Conn, TransportHandler } from '@sansws/conn';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { allocateUnzeroed, messages, NodeTransport } from '../src/transport.ts';
import { Upgrader } from '../src/upgrader.ts';

/** A Duplex whose every _write / _writev call is recorded, as one list of buffers per call. */
function recordingSocket(): { socket: Duplex; calls: Buffer[][] } {
  const calls: Buffer[][] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      calls.push([chunk]);
      callback();
    },
    writev(chunks, callback) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      callback();
    },
  });
  return { socket, calls };
}

const handler: TransportHandler = { data() {}, end() {}, drain() {}, closed() {} };
const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill);
const joined = (calls: Buffer[][]): Buffer => Buffer.concat(calls.flat());

describe('NodeTransport writes', () => {
  it('small chunks written in one turn leave as one write of one buffer', async () => {
    const { socket, calls } = recordingSocket();
    const transport = new NodeTransport(socket);
    transport.start(handler, { writeHighWaterMark: 1 << 20 });
    for (let i = 0; i < 64; i++) transport.write(bytes(18, i));
    expect(calls).toEqual([]);
    expect(transport.bufferedAmount).toBe(64 * 18);
    await tick();
    expect(calls.length).toBe(1);
    expect(calls[0]!.length).toBe(1);
    expect(joined(calls)).toEqual(Buffer.concat(Array.from({ length: 64 }, (_, i) => bytes(18, i))));
  });

  it('chunks that lie one after another in one buffer leave as one view of it, not a copy', async () => {
    const { socket, calls } = recordingSocket();
    const transport = new NodeTransport(socket);
    transport.start(handler, { writeHighWaterMark: 1 << 20 });
    const slab = new Uint8Array(4096).map((_, i) => i & 0xff);
    const pieces = [slab.subarray(100, 1124), slab.subarray(1124, 1130), slab.subarray(1130, 3000)];
    for (const piece of pieces) transport.write(piece);
    await tick();
    expect(calls.length).toBe(1);
    expect(calls[0]!.length).toBe(1);
    const written = calls[0]![0]!;
    expect(written.buffer).toBe(slab.buffer);
    expect([written.byteOffset, written.length]).toEqual([100, 2900]);

    // A gap, another buffer, or the same bytes out of order: copied together, in the order written.
    for (
      const others of [
        [slab.subarray(0, 10), slab.subarray(11, 20)],
        [slab.subarray(0, 10), new Uint8Array(slab.subarray(10, 20))],
        [slab.subarray(10, 20), slab.subarray(0, 10)],
      ]
    ) {
      calls.length = 0;
      for (const piece of others) transport.write(piece);
      await tick();
      expect(calls.length).toBe(1);
      expect(calls[0]![0]!.buffer).not.toBe(slab.buffer);
      expect(joined(calls)).toEqual(Buffer.concat(others));
    }
  });

  it('large payloads go through uncopied, in one writev with the small pieces around them merged', async () => {
    const { socket, calls } = recordingSocket();
    const transport = new NodeTransport(socket);
    transport.start(handler, { writeHighWaterMark: 1 << 20 });
    const large = [bytes(65536, 1), bytes(65536, 2)];
    const pieces = [bytes(4, 9), large[0]!, bytes(4, 8), bytes(2, 7), large[1]!];
    for (const piece of pieces) transport.write(piece);
    await tick();
    expect(calls.length).toBe(1);
    const written = calls[0]!;
    expect(written.map((b) => b.length)).toEqual([4, 65536, 6, 65536]);
    expect(written[1]!.buffer).toBe(large[0]!.buffer);
    expect(written[3]!.buffer).toBe(large[1]!.buffer);
    expect(joined(calls).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('runs of adjacent chunks of 4 KiB or more leave as views, what lies between them as one copy', async () => {
    const { socket, calls } = recordingSocket();
    const transport = new NodeTransport(socket);
    transport.start(handler, { writeHighWaterMark: 1 << 20 });
    // Two slabs, as the engine's frames fill one and go on in the next; two frames of their own between.
    const slabs = [new Uint8Array(65536).fill(1), new Uint8Array(65536).fill(2)];
    const pieces = [
      slabs[0]!.subarray(60000, 62048),
      slabs[0]!.subarray(62048, 65536),
      bytes(18, 3),
      bytes(20, 4),
      slabs[1]!.subarray(0, 100),
      slabs[1]!.subarray(100, 5000),
    ];
    for (const piece of pieces) transport.write(piece);
    await tick();
    expect(calls.length).toBe(1);
    const written = calls[0]!;
    expect(written.map((b) => b.length)).toEqual([5536, 38, 5000]);
    expect(written[0]!.buffer).toBe(slabs[0]!.buffer);
    expect(written[0]!.byteOffset).toBe(60000);
    expect(written[2]!.buffer).toBe(slabs[1]!.buffer);
    expect(written[2]!.byteOffset).toBe(0);
    expect(slabs.some((slab) => slab.buffer === written[1]!.buffer)).toBe(false);
    expect(joined(calls).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('whatever the chunks, one turn leaves in one write, in order, with no run of 4 KiB copied (property)', async () => {
    const segment = fc.oneof(
      fc.record({
        slab: fc.constant(true),
        sizes: fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 6 }),
      }),
      fc.record({ slab: fc.constant(false), sizes: fc.tuple(fc.integer({ min: 1, max: 9000 })) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 8 }), async (segments) => {
        const { socket, calls } = recordingSocket();
        const transport = new NodeTransport(socket);
        transport.start(handler, { writeHighWaterMark: 1 << 30 });
        const pieces: Uint8Array[] = [];
        const runs: Uint8Array[] = []; // the runs of 4 KiB or more, as one view each
        let seed = 0;
        for (const { slab, sizes } of segments) {
          const total = sizes.reduce((a, b) => a + b, 0);
          const buffer = new Uint8Array(total + 16).map(() => seed++ & 0xff);
          let at = slab ? 16 : 0;
          const from = at;
          for (const size of sizes) {
            pieces.push(buffer.subarray(at, at + size));
            at += size;
          }
          if (at - from >= 4096) runs.push(buffer.subarray(from, at));
        }
        for (const piece of pieces) transport.write(piece);
        await tick();
        expect(calls.length).toBe(1);
        expect(joined(calls).equals(Buffer.concat(pieces))).toBe(true);
        for (const run of runs) {
          expect(
            calls[0]!.some((b) =>
              b.buffer === run.buffer && b.byteOffset === run.byteOffset && b.length === run.length
            ),
          )
            .toBe(true);
        }
        expect(calls[0]!.length).toBeLessThanOrEqual(2 * runs.length + 1);
      }),
      { numRuns: 200 },
    );
  });

  it('end() and destroy() hand over what was written first', async () => {
    for (const finish of ['end', 'destroy'] as const) {
      const { socket, calls } = recordingSocket();
      const transport = new NodeTransport(socket);
      transport.start(handler, { writeHighWaterMark: 1 << 20 });
      transport.write(bytes(3, 1));
      transport.write(bytes(2, 2));
      transport[finish]();
      await tick();
      expect(joined(calls)).toEqual(Buffer.from([1, 1, 1, 2, 2]));
    }
  });

  it('reports backpressure for collected bytes and drains once they are written', async () => {
    const { socket, calls } = recordingSocket();
    const transport = new NodeTransport(socket);
    let drained = 0;
    transport.start({ ...handler, drain: () => drained++ }, { writeHighWaterMark: 100 });
    expect(transport.write(bytes(60, 1))).toBe(true);
    expect(transport.write(bytes(60, 2))).toBe(false);
    await tick();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls.length).toBe(1);
    expect(drained).toBe(1);
    expect(transport.bufferedAmount).toBe(0);
  });
});

describe('NodeTransport afterWrites (what Conn.release waits for)', () => {
  /**
   * A Duplex that completes each write only when the test says so, or when destroyed (as a net.Socket
   * completes the write in flight when it is destroyed).
   */
  function gatedSocket(): { socket: Duplex; open: () => void } {
    const waiting: Array<() => void> = [];
    const open = (): void => waiting.splice(0).forEach((callback) => callback());
    const socket = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        waiting.push(callback);
      },
      writev(_chunks, callback) {
        waiting.push(callback);
      },
      destroy(error, callback) {
        open();
        callback(error);
      },
    });
    return { socket, open };
  }

  it('calls back at once when nothing is written, else once the writes made before it completed', async () => {
    const { socket, open } = gatedSocket();
    const transport = new NodeTransport(socket);
    transport.start(handler, { writeHighWaterMark: 1 << 20 });
    const calls: string[] = [];
    transport.afterWrites(() => calls.push('idle'));
    expect(calls).toEqual(['idle']);
    transport.write(bytes(100_000, 1));
    transport.afterWrites(() => calls.push('first'));
    await tick();
    expect(calls).toEqual(['idle']); // flushed, not yet completed
    // Collected nothing since: waits behind what the socket still holds.
    transport.afterWrites(() => calls.push('second'));
    transport.write(bytes(10, 2));
    transport.afterWrites(() => calls.push('third'));
    await tick();
    expect(calls).toEqual(['idle']);
    for (let i = 0; i < 3; i++) {
      open();
      await tick();
    }
    expect(calls).toEqual(['idle', 'first', 'second', 'third']);
  });

  it('calls back when the socket is destroyed with writes pending, and at once afterwards', async () => {
    const { socket } = gatedSocket();
    const transport = new NodeTransport(socket);
    transport.start(handler, { writeHighWaterMark: 1 << 20 });
    const calls: string[] = [];
    transport.write(bytes(100_000, 1));
    await tick();
    transport.afterWrites(() => calls.push('written'));
    transport.write(bytes(10, 2));
    transport.afterWrites(() => calls.push('collected'));
    transport.destroy();
    await tick();
    await tick();
    expect(calls.sort()).toEqual(['collected', 'written']);
    transport.afterWrites(() => calls.push('after'));
    expect(calls.at(-1)).toBe('after');
  });
});

describe('NodeTransport closes', () => {
  it("a socket's error reaches the handler's closed, whether it came before or after start", async () => {
    for (const early of [false, true]) {
      const { socket } = recordingSocket();
      const transport = new NodeTransport(socket);
      const closed: unknown[] = [];
      const start = (): void =>
        transport.start({ ...handler, closed: (error) => closed.push(error) }, {
          writeHighWaterMark: 1 << 20,
        });
      if (!early) start();
      const boom = new Error('boom');
      socket.destroy(boom);
      await new Promise((resolve) => socket.once('close', resolve));
      if (early) start();
      expect(closed).toEqual([boom]);
    }
  });

  it('a socket closed without an error reports none, and only once', async () => {
    const { socket } = recordingSocket();
    const transport = new NodeTransport(socket);
    const closed: unknown[] = [];
    transport.start({ ...handler, closed: (error) => closed.push(error) }, { writeHighWaterMark: 1 << 20 });
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(closed).toEqual([undefined]);
  });
});

describe('allocateUnzeroed (the engine allocate option of the node Upgrader and dial)', () => {
  it('gives a plain Uint8Array of exactly the length asked, over memory of its own', () => {
    for (const length of [1, 125, 65536, 1 << 20]) {
      const buffer = allocateUnzeroed(length);
      expect(Object.getPrototypeOf(buffer)).toBe(Uint8Array.prototype);
      expect(buffer.length).toBe(length);
      expect(buffer.byteOffset).toBe(0);
      expect(buffer.buffer.byteLength).toBe(length);
    }
    expect(allocateUnzeroed(65536).buffer).not.toBe(allocateUnzeroed(65536).buffer);
  });

  it('backs the pool the node Upgrader hands the engine unless the options say otherwise', () => {
    const options = new Upgrader().options;
    expect(options.allocate).toBe(messages.allocate);
    expect(options.releaseMessage).toBe(messages.release);
    expect(options.releaseDecodedText).toBe(false);
    const zeroed = (length: number): Uint8Array => new Uint8Array(length);
    expect(new Upgrader({ allocate: zeroed }).options.allocate).toBe(zeroed);
    // The pool's buffers are of the size asked for and come from allocateUnzeroed (unzeroed memory).
    const bytes = messages.allocate(100_000);
    expect([bytes.length, bytes.buffer.byteLength]).toEqual([100_000, 100_000]);
  });
});

describe('priming the allocator (one 16 MiB buffer before the first message buffer of 64 KiB or more)', () => {
  it('connections that exchange only smaller messages never prime; the first 64 KiB message does, once', async () => {
    vi.resetModules();
    const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const primings = (): number => spy.mock.calls.filter(([size]) => size === 16 * 1024 * 1024).length;
    // A fresh module, so that the process-wide flag starts unset whatever ran before in this worker.
    const node = await import('../src/mod.ts');
    const echo = async (conn: Conn): Promise<void> => {
      try {
        for (;;) {
          const message = await conn.readMessageBytes();
          await conn.writeMessage(message.type, message.data);
        }
      } catch {
        // the client's close ends the echo
      }
    };
    const server = await node.listen({ port: 0, host: '127.0.0.1', handler: echo });
    try {
      const clients = await Promise.all([0, 1, 2].map(() => node.dial(server.url)));
      // 65,535 bytes: the largest message below the threshold, assembled across reads like a large one.
      for (const size of [0, 16, 125, 126, 4096, 65535]) {
        for (const { conn } of clients) {
          await conn.writeMessage('binary', new Uint8Array(size).fill(7));
          expect((await conn.readMessageBytes()).data.length).toBe(size);
        }
      }
      expect(primings()).toBe(0);
      const { conn } = clients[0]!;
      for (let i = 0; i < 2; i++) {
        await conn.writeMessage('binary', new Uint8Array(65536).fill(i));
        const echoed = await conn.readMessageBytes();
        expect(echoed.data).toEqual(new Uint8Array(65536).fill(i));
        expect(primings()).toBe(1);
      }
      await Promise.all(clients.map(({ conn }) => conn.close()));
    } finally {
      spy.mockRestore();
      await server.shutdown({ timeout: 1000 });
    }
  });
});
