import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
const runs = Number(process.env.SANSWS_FC_RUNS ?? 1000);
import { zlibCodec } from '../src/mod.ts';
import { StrictInflater } from './strict-inflate.ts';

/** Messages that exercise long and short matches: repeated words, runs, and noise. */
const message = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.array(fc.constantFrom('alpha', 'bravo', 'charlie', ' ', '{"id":', '}', '0123456789'), { maxLength: 600 })
    .map((words) => new TextEncoder().encode(words.join(''))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 5000 })).map(([b, n]) =>
    new Uint8Array(n).fill(b)
  ),
);

describe('RFC 7692 §7.1.2: window bits vs zlib', () => {
  it('a deflater for an agreed 8-bit window never reaches back more than 256 bytes (strict decoder)', () => {
    // zlib compresses with a 9-bit window when asked for 8, but limits distances to 512 − 262 = 250.
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 9 }),
        (msgs, level) => {
          const d = zlibCodec.createDeflater({ windowBits: 8, level, memLevel: 8 });
          const strict = new StrictInflater(256);
          for (const m of msgs) {
            expect(strict.push(d.deflate(m))).toEqual(m);
          }
          expect(strict.maxDistance).toBeLessThanOrEqual(250);
          d.close();
        },
      ),
      { numRuns: Math.max(20, Math.floor(runs / 10)) },
    );
  });

  it('a deflater for window n (9..15) never reaches back more than 2^n bytes, across messages', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 9, max: 15 }),
        fc.array(message, { minLength: 1, maxLength: 6 }),
        (bits, msgs) => {
          const d = zlibCodec.createDeflater({ windowBits: bits, level: 6, memLevel: 8 });
          const strict = new StrictInflater(2 ** bits);
          for (const m of msgs) expect(strict.push(d.deflate(m))).toEqual(m);
          d.close();
        },
      ),
      { numRuns: Math.max(20, Math.floor(runs / 20)) },
    );
  });

  it('an inflater for an agreed 8-bit window accepts 256-byte-window streams and zlib\'s "8 as 9" streams', () => {
    const d = zlibCodec.createDeflater({ windowBits: 8, level: 9, memLevel: 9 });
    const i = zlibCodec.createInflater({ windowBits: 8 });
    const m = new TextEncoder().encode('abcdefgh'.repeat(40) + 'x'.repeat(300) + 'abcdefgh'.repeat(40));
    for (let k = 0; k < 3; k++) {
      const out: Uint8Array[] = [];
      expect(i.inflate(d.deflate(m), Infinity, (c) => out.push(c))).toBe('ok');
      expect(Buffer.concat(out)).toEqual(Buffer.from(m));
    }
    d.close();
    i.close();
  });
});
