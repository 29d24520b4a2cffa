/**
 * The WebAssembly kernels under Bun and Deno (vitest runs the full suite, kernels.test.ts, on Node):
 * that the module loads there, and that unmasking (RFC 6455 §5.3) and UTF-8 validation (RFC 3629) give
 * the same results through it as through the JavaScript paths and a fatal TextDecoder.
 *
 *   bun test ./test/kernels_runtime_test.ts         (npm run test:bun in packages/core)
 *   deno test test/kernels_runtime_test.ts          (npm run test:deno in packages/core)
 *
 * Inputs come from a seeded generator, so a failure names a seed that reproduces it.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unmaskWasm, WASM_MASK_MIN, WASM_UTF8_MIN, wasmKernels } from '../src/kernels.ts';
import { applyMask } from '../src/mask.ts';
import { isValidUtf8, Utf8Validator } from '../src/utf8.ts';
import { withJavaScript } from './wasm-off.ts';

/** xorshift32: deterministic inputs. */
function generator(seed: number): (below: number) => number {
  let x = seed || 1;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % below;
  };
}

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const words = ['a', 'json', ' ', 'é', 'Grüße', '€', '語', '😀', '\u{10ffff}', '\ud7ff'].map((w) =>
  encoder.encode(w)
);
const faults = [[0xc0, 0xaf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [
  0x80,
]];

/** WASM_UTF8_MIN bytes and more of words, sometimes with one fault or a cut sequence. */
function text(next: (below: number) => number): Uint8Array {
  const parts: number[] = [];
  const length = WASM_UTF8_MIN + next(2000);
  while (parts.length < length) parts.push(...words[next(words.length)]!);
  if (next(3) === 0) parts.splice(next(parts.length), 0, ...faults[next(faults.length)]!);
  return Uint8Array.from(parts.slice(0, length + next(2)));
}

test('the kernels load on this runtime', () => {
  assert.notEqual(wasmKernels(), null);
});

test('RFC 6455 §5.3: unmasking through the kernel gives the bytes of the JavaScript path', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const next = generator(seed);
    const size = seed % 10 === 0 ? 64 * 1024 + next(70_000) : next(4 * WASM_MASK_MIN);
    const buffer = Uint8Array.from({ length: size + 16 }, () => next(256));
    const key = Uint8Array.from({ length: 4 }, () => next(256));
    const offset = next(16);
    const start = next(size + 1);
    const end = start + next(size - start + 1);
    const phase = next(4);
    const expected = buffer.slice();
    withJavaScript(() => applyMask(expected.subarray(offset, offset + size), key, phase, start, end));
    applyMask(buffer.subarray(offset, offset + size), key, phase, start, end);
    assert.deepEqual(buffer, expected, `seed ${seed}`);
  }
});

test('RFC 3629: UTF-8 verdicts through the kernel equal TextDecoder and, at every split, the JavaScript path', () => {
  const validator = new Utf8Validator();
  const feed = (bytes: Uint8Array, cut: number) => {
    validator.reset();
    return `${validator.update(bytes, 0, cut)} ${validator.update(bytes, cut)} ${validator.finish()}`;
  };
  for (let seed = 1; seed <= 60; seed++) {
    const bytes = text(generator(seed));
    let valid = true;
    try {
      fatal.decode(bytes);
    } catch {
      valid = false;
    }
    assert.equal(isValidUtf8(bytes), valid, `seed ${seed}`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.equal(feed(bytes, cut), withJavaScript(() => feed(bytes, cut)), `seed ${seed}, cut at ${cut}`);
    }
  }
});

test('RFC 6455 §5.3 + §8.1: unmasking into another buffer while validating equals the JavaScript path piece by piece', () => {
  const kernels = wasmKernels()!;
  for (let seed = 1; seed <= 40; seed++) {
    const next = generator(seed);
    const plain = text(next);
    // Every fourth input repeated 40 times: several 64 KiB windows.
    const bytes = seed % 4 === 0
      ? Uint8Array.from(Array.from({ length: 40 }, () => [...plain]).flat())
      : plain;
    const n = bytes.length;
    const key = Uint8Array.from({ length: 4 }, () => next(256));
    const src = Uint8Array.from(bytes, (b, i) => b ^ key[i & 3]!);
    const viaJs = src.slice();
    const dst = new Uint8Array(n + 8);
    const fused = new Utf8Validator();
    const js = new Utf8Validator();
    let valid = true;
    try {
      fatal.decode(bytes);
    } catch {
      valid = false;
    }
    let at = 0;
    let ok = true;
    while (ok && at < n) {
      const end = Math.min(n, at + 1 + next(70_000));
      ok = unmaskWasm(kernels, src, key, at, at, end, dst, 8 + at, fused);
      const expected = withJavaScript(() => {
        applyMask(viaJs, key, at, at, end);
        return js.update(viaJs, at, end);
      });
      assert.equal(ok, expected, `seed ${seed}, piece at ${at}`);
      at = end;
    }
    if (ok) {
      assert.deepEqual(dst.subarray(8), bytes, `seed ${seed}`);
      assert.equal(fused.finish(), valid, `seed ${seed}`);
    } else assert.equal(valid, false, `seed ${seed}`);
  }
});
