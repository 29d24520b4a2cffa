/**
 * SHA-1 (FIPS 180-4), which RFC 6455 §4.2.2 uses to derive Sec-WebSocket-Accept.
 */

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha1 } from '../src/sha1.ts';
import { runs } from './fc-runs.ts';

const encoder = new TextEncoder();

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('FIPS 180-4 SHA-1: published vectors', () => {
  it.each([
    ['the empty string', '', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['"abc" (one block)', 'abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    [
      'the 448-bit message (padding spills into a second block)',
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
    ],
    [
      'the 896-bit message',
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno' +
      'ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'a49b2446a02c645bf419f995b67091253a04a259',
    ],
    [
      '"The quick brown fox jumps over the lazy dog"',
      'The quick brown fox jumps over the lazy dog',
      '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12',
    ],
  ])('%s', (_, message, digest) => {
    const result = sha1(encoder.encode(message));
    expect(result).toBeInstanceOf(Uint8Array);
    expect(result.length).toBe(20);
    expect(hexOf(result)).toBe(digest);
  });

  it('one million "a"', () => {
    expect(hexOf(sha1(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      '34aa973cd4c4daa4f61eeb2bdbad27316534016f',
    );
  });
});

describe('FIPS 180-4 SHA-1: agrees with node:crypto', () => {
  it('at every length around the block and padding boundaries', () => {
    for (let length = 0; length <= 200; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 151 + length) & 0xff);
      expect(hexOf(sha1(data))).toBe(createHash('sha1').update(data).digest('hex'));
    }
  });

  it('on arbitrary bytes, including views with a non-zero byteOffset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 7 }), (data, skip) => {
        const view = data.subarray(Math.min(skip, data.length));
        expect(hexOf(sha1(view))).toBe(createHash('sha1').update(view).digest('hex'));
      }),
      { numRuns: runs },
    );
  });

  it('leaves its input untouched', () => {
    const data = encoder.encode('dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    const copy = data.slice();
    sha1(data);
    expect(data).toEqual(copy);
  });
});
