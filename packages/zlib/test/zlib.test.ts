import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { DeflateCodec } from '../../core/src/deflate.ts';
import { createZlibCodec, zlibCodec } from '../src/mod.ts';
import { inflateAll as inflateWith } from './helpers.ts';

// The codec satisfies the core's interface structurally (a compile-time check, run by tsc on the tests).
const asCore: DeflateCodec = zlibCodec;
void asCore;

const TRAILER = [0x00, 0x00, 0xff, 0xff];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const json = (n: number): Uint8Array =>
  text(JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i}`, ok: i % 3 === 0 }))));

function inflateAll(
  inflater: ReturnType<typeof zlibCodec.createInflater>,
  data: Uint8Array,
  maxOutput = Infinity,
): { status: string; out: Buffer } {
  const { status, out } = inflateWith(inflater, data, maxOutput);
  return { status, out: Buffer.from(out) };
}

/** 64 MiB of zeros, compressed: about 64 KiB that inflates 1030-fold. */
const BOMB = new Uint8Array(deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }));

describe('ZlibDeflater (the sending half of RFC 7692 §7.2.1)', () => {
  it('ends every call with the sync-flush marker 00 00 ff ff', () => {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    for (const m of [text('Hello'), new Uint8Array(0), json(100)]) {
      expect([...d.deflate(m).subarray(-4)]).toEqual(TRAILER);
    }
    d.close();
  });

  it('keeps its LZ77 window between calls (context takeover), and reset() drops it', () => {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    const m = json(50);
    const first = d.deflate(m).length;
    const second = d.deflate(m).length;
    expect(second).toBeLessThan(first / 10);
    d.reset();
    expect(d.deflate(m).length).toBe(first);
    d.close();
  });

  it('compresses "Hello" as in RFC 7692 §7.2.3.1', () => {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    expect([...d.deflate(text('Hello'))]).toEqual([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, ...TRAILER]);
    d.close();
  });

  it('accepts every window 8..15 (8 is compressed with 9, see window8.test.ts)', () => {
    for (let w = 8; w <= 15; w++) {
      const d = zlibCodec.createDeflater({ windowBits: w, level: 6, memLevel: 8 });
      const i = zlibCodec.createInflater({ windowBits: w });
      const m = json(200);
      expect(inflateAll(i, d.deflate(m)).out).toEqual(Buffer.from(m));
      d.close();
      i.close();
    }
  });
});

describe('ZlibInflater (the receiving half of RFC 7692 §7.2.2)', () => {
  it('inflates a stream fed in arbitrary pieces, keeping its window between messages', () => {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    const i = zlibCodec.createInflater({ windowBits: 15 });
    for (let k = 0; k < 5; k++) {
      const m = json(100 + k);
      const c = d.deflate(m);
      const out: Uint8Array[] = [];
      for (let o = 0; o < c.length; o += 7) {
        expect(i.inflate(c.subarray(o, o + 7), Infinity, (x) => out.push(x))).toBe('ok');
      }
      expect(Buffer.concat(out)).toEqual(Buffer.from(m));
    }
    d.close();
    i.close();
  });

  it('hands out plain Uint8Arrays for output chunks of up to 1 KiB, and takes inputs of any kind and size', () => {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    const i = zlibCodec.createInflater({ windowBits: 15 });
    const messages = [text('short'), json(3), json(2_000)];
    for (const m of messages) {
      const c = d.deflate(m);
      d.reset(); // each message on its own, for the fresh inflaters below
      // The same bytes as a fresh array, a view into a larger buffer, and a Buffer.
      const padded = new Uint8Array(c.length + 8);
      padded.set(c, 5);
      for (const input of [new Uint8Array(c), padded.subarray(5, 5 + c.length), Buffer.from(c)]) {
        const j = zlibCodec.createInflater({ windowBits: 15 });
        const out: Uint8Array[] = [];
        expect(j.inflate(input, Infinity, (x) => out.push(x))).toBe('ok');
        expect(Buffer.concat(out)).toEqual(Buffer.from(m));
        for (const x of out) if (x.length <= 1024) expect(x.constructor).toBe(Uint8Array);
        j.close();
      }
      const out: Uint8Array[] = [];
      expect(i.inflate(c, Infinity, (x) => out.push(x))).toBe('ok');
      expect(Buffer.concat(out)).toEqual(Buffer.from(m));
    }
    d.close();
    i.close();
  });

  it("reports 'end' after a BFINAL block (RFC 7692 §7.2.3.4) and decodes again after reset()", () => {
    const i = zlibCodec.createInflater({ windowBits: 15 });
    const bfinal = Uint8Array.of(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, ...TRAILER);
    expect(inflateAll(i, bfinal)).toEqual({ status: 'end', out: Buffer.from('Hello') });
    i.reset();
    const hello = Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, ...TRAILER);
    expect(inflateAll(i, hello)).toEqual({ status: 'ok', out: Buffer.from('Hello') });
    i.close();
  });

  it("reports 'invalid' for malformed data, and stays failed", () => {
    const i = zlibCodec.createInflater({ windowBits: 15 });
    expect(inflateAll(i, Uint8Array.of(0xff, 0xff, 0xff)).status).toBe('invalid');
    expect(inflateAll(i, Uint8Array.of(0xf2, 0x48, 0x05, 0x00)).status).toBe('invalid');
    i.close();
  });

  it('rejects a distance beyond its window (a 10-bit inflater, a 15-bit stream)', () => {
    const m = new Uint8Array(4096);
    let x = 1;
    for (let k = 0; k < m.length; k++) m[k] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const i = createZlibCodec({ chunkSize: 64 }).createInflater({ windowBits: 10 });
    const c = deflateRawSync(Buffer.concat([m, m]), { windowBits: 15, finishFlush: 2 });
    expect(inflateAll(i, c).status).toBe('invalid');
    i.close();
  });

  it('uses the native output bound on this runtime', () => {
    const i = zlibCodec.createInflater({ windowBits: 15 });
    expect(i.nativeBound).toBe(true);
    i.close();
    expect(createZlibCodec({ portableBound: true }).createInflater({ windowBits: 15 }).nativeBound).toBe(
      false,
    );
  });

  it('after close(), fails every call instead of reaching the closed handle (Node aborts on that)', () => {
    const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
    const i = zlibCodec.createInflater({ windowBits: 15 });
    const c = d.deflate(text('Hello'));
    d.close();
    i.close();
    expect(() => d.deflate(text('Hello'))).toThrow('zlib stream closed');
    expect(inflateAll(i, c).status).toBe('invalid');
    d.reset();
    i.reset();
    d.close();
    i.close();
  });

  it('refuses a chunkSize below 64', () => {
    expect(() => createZlibCodec({ chunkSize: 63 })).toThrow(RangeError);
  });
});

describe('bounded inflation (decompression bombs)', () => {
  for (
    const [name, codec, slack] of [
      ['native bound', zlibCodec, 16 * 1024],
      ['portable bound', createZlibCodec({ portableBound: true }), 64 * 1032 + 8 * 1032],
    ] as const
  ) {
    it(`${name}: a 64 MiB zero bomb against a 1 MiB limit stops with 'too-big', delivering ≤ 1 MiB`, () => {
      const limit = 1024 * 1024;
      const i = codec.createInflater({ windowBits: 15 });
      let delivered = 0;
      const before = process.memoryUsage().arrayBuffers;
      const status = i.inflate(BOMB, limit, (c) => (delivered += c.length));
      // Allocated output cannot have been collected during the synchronous call, so this delta bounds what
      // the inflater allocated (a collection would only make it smaller).
      const allocated = process.memoryUsage().arrayBuffers - before;
      expect(status).toBe('too-big');
      expect(delivered).toBeLessThanOrEqual(limit);
      expect(allocated).toBeLessThan(limit + slack + 1024 * 1024);
      expect(i.inflate(BOMB.subarray(0, 10), limit, () => {})).toBe('invalid');
      i.close();
    });

    it(`${name}: output of exactly the limit is accepted, one byte more is not`, () => {
      const m = json(300);
      const c = deflateRawSync(m, { finishFlush: 2 });
      const ok = codec.createInflater({ windowBits: 15 });
      expect(inflateAll(ok, c, m.length)).toEqual({ status: 'ok', out: Buffer.from(m) });
      const over = codec.createInflater({ windowBits: 15 });
      expect(inflateAll(over, c, m.length - 1).status).toBe('too-big');
      ok.close();
      over.close();
    });
  }
});
