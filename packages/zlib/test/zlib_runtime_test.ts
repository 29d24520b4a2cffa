/**
 * The codec under Bun and Deno (vitest runs zlib.test.ts and window8.test.ts on Node): what it takes from
 * their `node:zlib` (a native handle whose `writeSync` reports errors to `onerror` during the call and fills
 * the stream's `_writeState`) works there as on Node.
 *
 *   bun test ./packages/zlib/test/zlib_runtime_test.ts
 *   deno test packages/zlib/test/zlib_runtime_test.ts
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { createZlibCodec, zlibCodec, type ZlibInflater } from '../src/mod.ts';
import { inflateAll as inflateWith, join } from './helpers.ts';

const TRAILER = [0x00, 0x00, 0xff, 0xff];
const encoder = new TextEncoder();
const json = (n: number): Uint8Array =>
  encoder.encode(JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i}` }))));

/** One `inflate` call; every chunk it delivers must be a plain Uint8Array. */
function inflateAll(
  inflater: ZlibInflater,
  data: Uint8Array,
  maxOutput = Infinity,
): { status: string; out: Uint8Array } {
  const { status, out, plain } = inflateWith(inflater, data, maxOutput);
  assert.ok(plain);
  return { status, out };
}

test('RFC 7692 §7.2.3.1: "Hello" compresses to the RFC\'s bytes, every call ending in 00 00 ff ff', () => {
  const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
  assert.deepEqual([...d.deflate(encoder.encode('Hello'))], [
    0xf2,
    0x48,
    0xcd,
    0xc9,
    0xc9,
    0x07,
    0x00,
    ...TRAILER,
  ]);
  for (const m of [new Uint8Array(0), json(3), json(2_000)]) {
    assert.deepEqual([...d.deflate(m).subarray(-4)], TRAILER);
  }
  d.close();
});

test('RFC 7692 §7.2.1/§7.2.2: round trips keep the window between messages, over views and many output buffers', () => {
  const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
  const i = zlibCodec.createInflater({ windowBits: 15 });
  const m = json(500); // about 14 KiB: within the 32 KiB window
  const first = d.deflate(m);
  const again = d.deflate(m);
  assert.ok(again.length < first.length / 10, `${again.length} against ${first.length}`);
  const big = json(3_000); // about 90 KiB: several 16 KiB output buffers, inflating
  for (const [c, out] of [[first, m], [again, m], [d.deflate(big), big]] as const) {
    const padded = new Uint8Array(c.length + 9);
    padded.set(c, 4);
    assert.deepEqual(inflateAll(i, padded.subarray(4, 4 + c.length)), { status: 'ok', out });
  }
  d.reset();
  assert.equal(d.deflate(m).length, first.length);
  d.close();
  i.close();
});

test("RFC 7692 §7.2.3.4: 'end' after a BFINAL block, and decoding again after reset()", () => {
  const i = zlibCodec.createInflater({ windowBits: 15 });
  const bfinal = Uint8Array.of(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, ...TRAILER);
  assert.deepEqual(inflateAll(i, bfinal), { status: 'end', out: encoder.encode('Hello') });
  i.reset();
  const hello = Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, ...TRAILER);
  assert.deepEqual(inflateAll(i, hello), { status: 'ok', out: encoder.encode('Hello') });
  i.close();
});

test("RFC 7692 §8.2.3.1 (malformed data): 'invalid', and the inflater stays failed", () => {
  const i = zlibCodec.createInflater({ windowBits: 15 });
  assert.equal(inflateAll(i, Uint8Array.of(0xff, 0xff, 0xff)).status, 'invalid');
  assert.equal(
    inflateAll(i, Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, ...TRAILER)).status,
    'invalid',
  );
  i.close();
});

test("RFC 7692 §7.1.2.1: a distance beyond the agreed window is 'invalid'", () => {
  const m = new Uint8Array(4096);
  let x = 1;
  for (let k = 0; k < m.length; k++) m[k] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const c = deflateRawSync(join([m, m]), { windowBits: 15, finishFlush: 2 });
  const i = createZlibCodec({ chunkSize: 64 }).createInflater({ windowBits: 10 });
  assert.equal(inflateAll(i, new Uint8Array(c)).status, 'invalid');
  i.close();
});

test("bounded inflation: a 64 MiB bomb against 1 MiB is 'too-big' with nothing delivered; exactly the limit is ok", () => {
  const bomb = new Uint8Array(deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }));
  const i = zlibCodec.createInflater({ windowBits: 15 });
  let delivered = 0;
  assert.equal(i.inflate(bomb, 1024 * 1024, (c) => (delivered += c.length)), 'too-big');
  assert.equal(delivered, 0);
  assert.equal(i.inflate(bomb.subarray(0, 10), 1024 * 1024, () => {}), 'invalid');
  i.close();
  const m = json(300);
  const c = new Uint8Array(deflateRawSync(m, { finishFlush: 2 }));
  const ok = zlibCodec.createInflater({ windowBits: 15 });
  assert.deepEqual(inflateAll(ok, c, m.length), { status: 'ok', out: m });
  const over = zlibCodec.createInflater({ windowBits: 15 });
  assert.equal(inflateAll(over, c, m.length - 1).status, 'too-big');
  ok.close();
  over.close();
});

test('after close(), every call fails instead of reaching the closed handle', () => {
  const d = zlibCodec.createDeflater({ windowBits: 15, level: 6, memLevel: 8 });
  const i = zlibCodec.createInflater({ windowBits: 15 });
  const c = d.deflate(encoder.encode('Hello'));
  d.close();
  i.close();
  assert.throws(() => d.deflate(encoder.encode('Hello')), /zlib stream closed/);
  assert.equal(inflateAll(i, c).status, 'invalid');
  d.reset();
  i.reset();
  d.close();
  i.close();
});
