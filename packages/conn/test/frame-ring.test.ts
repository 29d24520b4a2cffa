/**
 * FrameRing: outgoing frames cut one after another from rings whose memory is used again only when nothing
 * cut from them is live (not yet released by the transport).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameRing } from '../src/mod.ts';

/** True when `b` starts right where `a` ends, in the same buffer. */
const follows = (a: Uint8Array, b: Uint8Array): boolean =>
  a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset;

describe('FrameRing', () => {
  it('cuts frames of `min` bytes and more one after another; smaller and larger ones are arrays of their own', () => {
    const ring = new FrameRing({ size: 4096, min: 65 });
    const a = ring.allocate(1000);
    const b = ring.allocate(65);
    const c = ring.allocate(2000);
    expect(follows(a, b) && follows(b, c)).toBe(true);
    // Never at offset 0 of a ring: a chunk there is known to be an array of its own.
    expect(a.byteOffset).toBe(8);
    expect(a.buffer.byteLength).toBe(8 + 4096);
    for (const n of [0, 64]) {
      const own = ring.allocate(n);
      expect(own.length).toBe(n);
      expect(own.byteOffset).toBe(0);
      expect(own.buffer.byteLength).toBe(n);
      expect(ring.owns(own)).toBe(false);
    }
    expect(ring.owns(a) && ring.owns(c)).toBe(true);
    expect(ring.live).toBe(3065);
  });

  it('starts a full ring over only when nothing in it is live; else a spare or a new ring takes over', () => {
    const ring = new FrameRing({ size: 1000, min: 1, spares: 1 });
    const held = ring.allocate(400);
    ring.release(ring.allocate(400));
    const other = ring.allocate(400); // does not fit: `held` is live, so another ring
    expect(other.buffer).not.toBe(held.buffer);
    expect(other.byteOffset).toBe(8);
    ring.release(other);
    expect(ring.live).toBe(400); // `held`
    // Nothing live in the current ring: when it fills, it is cut from its start again.
    ring.release(ring.allocate(500));
    const again = ring.allocate(400);
    expect(again.buffer).toBe(other.buffer);
    expect(again.byteOffset).toBe(8);
    ring.release(again);
    // `held`'s ring becomes the spare once released, and takes over when the current one fills with live bytes.
    ring.release(held);
    ring.allocate(900);
    expect(ring.allocate(200).buffer).toBe(held.buffer);
  });

  it('releases a run of adjacent frames by its length; chunks of other buffers are ignored', () => {
    const ring = new FrameRing({ size: 4096, min: 1 });
    const a = ring.allocate(100);
    const b = ring.allocate(300);
    ring.release(new Uint8Array(100)); // not its own
    ring.release(new Uint8Array(new ArrayBuffer(4096), 0, 100)); // same size, another buffer
    expect(ring.live).toBe(400);
    ring.release(new Uint8Array(a.buffer, a.byteOffset, a.length + b.length));
    expect(ring.live).toBe(0);
  });

  it('releases a frame piece by piece, whatever the size of the pieces (what a socket took, then the rest)', () => {
    const ring = new FrameRing({ size: 4096, min: 65 });
    const frame = ring.allocate(1000);
    ring.release(frame.subarray(0, 3));
    ring.release(frame.subarray(3, 64));
    expect(ring.live).toBe(936);
    expect(ring.owns(frame.subarray(990))).toBe(true);
    ring.release(frame.subarray(64));
    expect(ring.live).toBe(0);
    // Arrays of their own start at offset 0 and are never counted, even when small.
    ring.release(ring.allocate(10));
    ring.release(new Uint8Array(new ArrayBuffer(64), 0, 5));
    expect(ring.live).toBe(0);
  });

  it('gives a frame larger than a ring a buffer of its own, kept once all its bytes were released, for the next of its size class', () => {
    const ring = new FrameRing({ size: 4096, min: 65, maxFree: 32 * 1024 });
    const large = ring.allocate(5000);
    // The ring's size doubled until it fits, after the same offset as in a ring.
    expect([large.byteOffset, large.buffer.byteLength]).toEqual([8, 8 + 8192]);
    expect(ring.owns(large) && ring.owns(large.subarray(4000))).toBe(true);
    expect(ring.live).toBe(5000);
    // Released in pieces (what a socket took, then the rest): free again only after the last byte.
    ring.release(large.subarray(0, 1200));
    expect(ring.allocate(6000).buffer).not.toBe(large.buffer);
    ring.release(large.subarray(1200));
    // A release of bytes it holds no longer is ignored.
    ring.release(large);
    const again = ring.allocate(8192);
    expect(again.buffer).toBe(large.buffer);
    expect(ring.live).toBe(6000 + 8192);
    // Another size class is not served from it; beyond `maxFree`, frames are arrays of their own.
    expect(ring.allocate(9000).buffer.byteLength).toBe(8 + 16384);
    const own = ring.allocate(40_000);
    expect([own.byteOffset, own.buffer.byteLength, ring.owns(own)]).toEqual([0, 40_000, false]);
  });

  it('keeps buffers of large frames up to `maxFree` bytes in all', () => {
    const ring = new FrameRing({ size: 4096, min: 65, maxFree: 16 * 1024 });
    const frames = [ring.allocate(5000), ring.allocate(5000), ring.allocate(5000)];
    for (const frame of frames) ring.release(frame);
    expect(ring.live).toBe(0);
    // Two 8 KiB buffers were kept (16 KiB); the third was left to the garbage collector.
    const next = [ring.allocate(8000), ring.allocate(8000), ring.allocate(8000)].map((f) => f.buffer);
    expect(next.slice(0, 2).sort()).toEqual(frames.slice(0, 2).map((f) => f.buffer).sort());
    expect(frames.map((f) => f.buffer)).not.toContain(next[2]);
  });

  it('never hands out memory of a frame that is still live, whatever the sizes and release order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { arbitrary: fc.record({ allocate: fc.integer({ min: 1, max: 700 }) }), weight: 3 },
            // Larger than a ring: buffers of their own, kept for later up to maxFree (some beyond it).
            { arbitrary: fc.record({ allocate: fc.integer({ min: 2049, max: 20_000 }) }), weight: 1 },
            {
              arbitrary: fc.record({ release: fc.nat(), cuts: fc.array(fc.nat(), { maxLength: 3 }) }),
              weight: 2,
            },
          ),
          { minLength: 1, maxLength: 200, size: 'max' },
        ),
        (ops) => {
          const ring = new FrameRing({ size: 2048, min: 1, spares: 2, maxFree: 24 * 1024 });
          const live: { frame: Uint8Array; seed: number }[] = [];
          let seed = 0;
          for (const op of ops) {
            if ('allocate' in op) {
              const frame = ring.allocate(op.allocate);
              expect(frame.length).toBe(op.allocate);
              // Never memory of a live frame (the contents below show it too, once, at the end).
              const overlaps = live.some(({ frame: other }) =>
                other.buffer === frame.buffer && other.byteOffset < frame.byteOffset + frame.length &&
                frame.byteOffset < other.byteOffset + other.length
              );
              expect(overlaps).toBe(false);
              seed++;
              for (let i = 0; i < frame.length; i++) frame[i] = (seed * 31 + i) & 0xff;
              live.push({ frame, seed });
            } else if (live.length > 0) {
              // Released whole or in pieces, cut anywhere.
              const [taken] = live.splice(op.release % live.length, 1);
              const frame = taken!.frame;
              const cuts = [...new Set(op.cuts.map((c) => c % (frame.length + 1)))].sort((x, y) => x - y);
              let at = 0;
              for (const cut of [...cuts, frame.length]) {
                ring.release(frame.subarray(at, cut));
                at = Math.max(at, cut);
              }
            }
          }
          for (const { frame, seed } of live) {
            expect(frame.every((byte, i) => byte === ((seed * 31 + i) & 0xff))).toBe(true);
          }
          // Arrays of their own (offset 0: larger than maxFree allows) are not counted.
          expect(ring.live).toBe(
            live.reduce((n, { frame }) => n + (frame.byteOffset === 0 ? 0 : frame.length), 0),
          );
          for (const { frame } of live) ring.release(frame);
          expect(ring.live).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
