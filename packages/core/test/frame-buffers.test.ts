/**
 * Where the engine builds its outgoing frames: frames of 65 B to 4 KiB + 8 are cut one after another from a
 * shared slab (one allocation for many frames, and a run of them can be written as one view), smaller and
 * larger ones get buffers of their own. What must hold either way: every frame is whole and stays as it
 * was written while later frames are made, on this connection or any other, and a caller's payload is
 * never written to.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runs } from './fc-runs.ts';
import { openPair, openServer, parseFrames, serverFrames } from './helpers.ts';

const payload = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

/** True when `b` starts right where `a` ends, in the same buffer. */
const follows = (a: Uint8Array, b: Uint8Array): boolean =>
  a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset;

describe('outgoing frame buffers (RFC 6455 §5.2)', () => {
  it('§5.2 small server frames sent one after another lie next to each other, each a whole frame', () => {
    const server = openServer();
    const sent = [1024, 200, 4096, 65 - 2].map((n, i) => payload(n, i));
    for (const data of sent) server.sendBinary(data);
    const out = server.takeOutput();
    expect(out.length).toBe(sent.length);
    for (let i = 1; i < out.length; i++) expect(follows(out[i - 1]!, out[i]!)).toBe(true);
    expect(serverFrames(out).map((f) => f.payload)).toEqual(sent);
  });

  it('§5.2 frames under 65 bytes and over 4 KiB + 8 get buffers of their own', () => {
    const server = openServer();
    // Frames of 2 to 64 bytes, then of 4 KiB + 9 and 16 KiB + 4 (a server's header is 4 bytes there).
    for (const n of [0, 10, 62, 4096 + 5, 16 * 1024]) {
      const data = payload(n, n);
      server.sendBinary(data);
      const [chunk] = server.takeOutput();
      expect(chunk!.byteOffset).toBe(0);
      expect(chunk!.buffer.byteLength).toBe(chunk!.length);
      expect(serverFrames([chunk!])[0]!.payload).toEqual(data);
    }
  });

  it('§5.3 small client frames come from the slab too, masked, and the payload is left as it was', () => {
    const { client, server } = openPair();
    const sent = [300, 1500, 80].map((n, i) => payload(n, i + 7));
    const copies = sent.map((p) => p.slice());
    for (const data of sent) client.sendBinary(data);
    const out = client.takeOutput();
    for (let i = 1; i < out.length; i++) expect(follows(out[i - 1]!, out[i]!)).toBe(true);
    expect(sent).toEqual(copies);
    for (const chunk of out) server.receiveData(chunk.slice());
    expect(server.takeEvents().map((e) => (e.type === 'binary' ? e.data : e.type))).toEqual(copies);
  });

  it('§5.2 a frame is never changed by frames made after it, on any connection (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            conn: fc.integer({ min: 0, max: 2 }),
            size: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 60, max: 70 })),
            text: fc.boolean(),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (sends) => {
          const pairs = [openPair(), openPair(), openPair()];
          // Every frame kept as handed out, and what it held then; compared after all the other sends.
          const kept: { chunk: Uint8Array; copy: Uint8Array; sent: Uint8Array }[] = [];
          sends.forEach(({ conn, size, text }, i) => {
            const { server, client } = pairs[conn]!;
            const from = i % 2 === 0 ? server : client;
            const sent = text ? new TextEncoder().encode('é'.repeat(size >> 1)) : payload(size, i);
            if (text) from.sendText('é'.repeat(size >> 1));
            else from.sendBinary(sent);
            const out = from.takeOutput();
            expect(out.length).toBe(1);
            kept.push({ chunk: out[0]!, copy: out[0]!.slice(), sent });
          });
          for (const { chunk, copy, sent } of kept) {
            expect(chunk).toEqual(copy);
            const frames = parseFrames(chunk);
            expect(frames.length).toBe(1);
            expect(frames[0]!.payload).toEqual(sent);
          }
        },
      ),
      { numRuns: Math.max(50, Math.floor(runs / 10)) },
    );
  });
});
