/**
 * The WebAssembly kernels (src/kernels.ts, wasm/kernels.wat) against the JavaScript paths they replace
 * above a size threshold: unmasking (RFC 6455 §5.3) and UTF-8 validation (RFC 3629, RFC 6455 §8.1).
 * The JavaScript paths are themselves tested against oracles in receive.test.ts and utf8.test.ts; here
 * the inputs are long enough for the kernels, and every verdict must be the same with them on and off.
 */

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  setWasmKernelsEnabled,
  unmaskWasm,
  WASM_MASK_MIN,
  WASM_UTF8_MIN,
  wasmKernels,
} from '../src/kernels.ts';
import { applyMask } from '../src/mask.ts';
import { isValidUtf8, Utf8Validator } from '../src/utf8.ts';
import { withJavaScript } from './wasm-off.ts';
import { runs } from './fc-runs.ts';
import { concatBytes, decoderAccepts } from './helpers.ts';

const encoder = new TextEncoder();

/** The first index at which `a` and `b` differ, or -1 (toEqual is slow on 100 KiB arrays). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

afterEach(() => setWasmKernelsEnabled('reload'));

// The WebAssembly global as a value (the test's type library declares only its namespace).
const webAssembly = (globalThis as unknown as {
  WebAssembly: { validate(bytes: Uint8Array): boolean; Instance: new (...args: never[]) => object };
}).WebAssembly;

describe('the WebAssembly module', () => {
  it('is what wasm/kernels.wat assembles to (npm run wasm)', async () => {
    const build = fileURLToPath(new URL('../wasm/build.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [build, '--check']);
    expect(stdout).toMatch(/matches/);
  }, 30_000);

  it('loads on this runtime, so the properties below compare two different paths', () => {
    expect(wasmKernels()).not.toBeNull();
  });
});

describe('the JavaScript fallback', () => {
  const key = Uint8Array.of(1, 2, 3, 4);
  const data = () => new Uint8Array(1000).fill(0x61);

  it('is used for good when WebAssembly is missing', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly')!;
    try {
      delete (globalThis as { WebAssembly?: unknown }).WebAssembly;
      setWasmKernelsEnabled('reload');
      expect(wasmKernels()).toBeNull();
      const bytes = data();
      applyMask(bytes, key, 0);
      expect(bytes.subarray(0, 4)).toEqual(Uint8Array.of(0x60, 0x63, 0x62, 0x65));
      expect(isValidUtf8(data())).toBe(true);
    } finally {
      Object.defineProperty(globalThis, 'WebAssembly', saved);
    }
    // Still off: the runtime was found wanting once.
    expect(wasmKernels()).toBeNull();
  });

  it('is used when the runtime cannot validate the module (no SIMD)', () => {
    const validate = vi.spyOn(webAssembly, 'validate').mockReturnValue(false);
    try {
      setWasmKernelsEnabled('reload');
      expect(wasmKernels()).toBeNull();
      expect(isValidUtf8(concatBytes([data(), Uint8Array.of(0xc0)]))).toBe(false);
    } finally {
      validate.mockRestore();
    }
  });

  it('is used when instantiating throws', () => {
    const instance = vi.spyOn(webAssembly, 'Instance').mockImplementation(() => {
      throw new Error('out of memory');
    });
    try {
      setWasmKernelsEnabled('reload');
      expect(wasmKernels()).toBeNull();
    } finally {
      instance.mockRestore();
    }
  });
});

describe('RFC 6455 §5.3: unmasking through the kernel', () => {
  /** Byte by byte, straight from §5.3: j = i MOD 4, transformed-octet-i = original-octet-i XOR key-j. */
  function reference(data: Uint8Array, key: Uint8Array, phase: number, start: number, end: number): void {
    for (let i = start; i < end; i++) data[i]! ^= key[(phase + i - start) & 3]!;
  }

  const maskCase = fc
    .record({
      size: fc.oneof(
        fc.integer({ min: 0, max: 3 * WASM_MASK_MIN }),
        fc.integer({ min: 64 * 1024 - 40, max: 140_000 }),
      ),
      offset: fc.integer({ min: 0, max: 15 }), // the view's byteOffset: every alignment
      key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      phase: fc.nat({ max: 7 }),
      seed: fc.nat(),
      cut: fc.tuple(fc.nat(), fc.nat()),
    })
    .map(({ size, offset, key, phase, seed, cut }) => {
      const buffer = new Uint8Array(offset + size + 7);
      for (let i = 0; i < buffer.length; i++) buffer[i] = (seed + i * 2654435761) >>> 24;
      const data = buffer.subarray(offset, offset + size);
      const a = cut[0] % (size + 1);
      const b = cut[1] % (size + 1);
      return { buffer, data, key, phase, start: Math.min(a, b), end: Math.max(a, b) };
    });

  it('gives the bytes of the §5.3 definition, and of the JavaScript path, for any range, phase and alignment', () => {
    fc.assert(
      fc.property(maskCase, ({ buffer, data, key, phase, start, end }) => {
        const expected = buffer.slice();
        reference(expected.subarray(data.byteOffset), key, phase, start, end);
        const viaJs = buffer.slice();
        withJavaScript(() =>
          applyMask(viaJs.subarray(data.byteOffset, data.byteOffset + data.length), key, phase, start, end)
        );
        applyMask(data, key, phase, start, end);
        // Compared whole, so a write outside [start, end) shows too.
        expect(firstDifference(buffer, expected)).toBe(-1);
        expect(firstDifference(viaJs, expected)).toBe(-1);
      }),
      { numRuns: Math.max(100, runs / 4) },
    );
  });

  it('unmasks a payload arriving in pieces of any size as one pass would', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: WASM_MASK_MIN, maxLength: 5 * WASM_MASK_MIN }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 2 * WASM_MASK_MIN }), { minLength: 1, maxLength: 8 }),
        (payload, key, sizes) => {
          const whole = payload.slice();
          applyMask(whole, key, 0);
          const pieces = payload.slice();
          let at = 0;
          for (let k = 0; at < pieces.length; k++) {
            const next = Math.min(pieces.length, at + sizes[k % sizes.length]!);
            applyMask(pieces.subarray(at, next), key, at);
            at = next;
          }
          expect(pieces).toEqual(whole);
        },
      ),
      { numRuns: Math.max(100, runs / 4) },
    );
  });
});

describe('RFC 6455 §5.3 + §8.1: unmasking into another buffer, validating on the way (unmaskWasm)', () => {
  const faults = [[0xc0, 0xaf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [
    0x80,
  ]];
  const textCase = fc.record({
    text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 * WASM_MASK_MIN }),
    repeat: fc.integer({ min: 1, max: 90 }), // up to ~180 KiB: several 64 KiB windows
    fault: fc.option(fc.tuple(fc.nat(), fc.nat({ max: faults.length - 1 }))),
    cut: fc.option(fc.nat({ max: 3 })), // cut the end inside a sequence
    key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    sizes: fc.array(fc.integer({ min: 1, max: 80_000 }), { minLength: 1, maxLength: 6 }),
    srcOffset: fc.nat({ max: 15 }),
    dstOffset: fc.nat({ max: 15 }),
  });

  it('writes the §5.3 bytes to the destination and rejects at the same piece as the JavaScript path and TextDecoder', () => {
    const kernels = wasmKernels()!;
    fc.assert(
      fc.property(textCase, ({ text, repeat, fault, cut, key, sizes, srcOffset, dstOffset }) => {
        const parts = Array.from(encoder.encode(text.repeat(repeat)));
        if (fault !== null) parts.splice(fault[0] % parts.length, 0, ...faults[fault[1]]!);
        const plain = Uint8Array.from(cut === null ? parts : parts.slice(0, parts.length - cut));
        const n = plain.length;
        const src = new Uint8Array(srcOffset + n);
        for (let i = 0; i < n; i++) src[srcOffset + i] = plain[i]! ^ key[i & 3]!;
        const dst = new Uint8Array(dstOffset + n);
        const fused = new Utf8Validator();
        const js = new Utf8Validator();
        const viaJs = src.slice();
        let at = 0;
        for (let k = 0; at < n; k++) {
          const next = Math.min(n, at + sizes[k % sizes.length]!);
          const ok = unmaskWasm(
            kernels,
            src,
            key,
            at,
            srcOffset + at,
            srcOffset + next,
            dst,
            dstOffset + at,
            fused,
          );
          const expected = withJavaScript(() => {
            applyMask(viaJs, key, at, srcOffset + at, srcOffset + next);
            return js.update(viaJs, srcOffset + at, srcOffset + next);
          });
          expect(ok).toBe(expected); // fails fast at the same piece
          if (!ok) {
            expect(decoderAccepts(plain)).toBe(false);
            return;
          }
          at = next;
        }
        expect(firstDifference(dst.subarray(dstOffset), plain)).toBe(-1);
        expect(dst.subarray(0, dstOffset).every((b) => b === 0)).toBe(true); // nothing written before `at`
        expect(fused.finish()).toBe(decoderAccepts(plain));
      }),
      { numRuns: Math.max(50, runs / 10) },
    );
  });

  it('in place (destination = source) gives the bytes of applyMask', () => {
    const kernels = wasmKernels()!;
    const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24);
    const key = Uint8Array.of(1, 2, 3, 4);
    const expected = data.slice();
    withJavaScript(() => applyMask(expected, key, 3, 5, 69_999));
    expect(unmaskWasm(kernels, data, key, 3, 5, 69_999, data, 5, null)).toBe(true);
    expect(firstDifference(data, expected)).toBe(-1);
  });
});

describe('RFC 3629 / RFC 6455 §8.1: UTF-8 validation through the kernel', () => {
  const text = (unit: 'grapheme' | 'binary' | 'binary-ascii', maxLength: number) =>
    fc.string({ unit, maxLength }).map((s) => encoder.encode(s));
  // Sequences that are wrong in each way RFC 3629 §4 rules out, and sequences cut short.
  const faults = [
    'c0 af',
    'c1 bf',
    'e0 80 af',
    'e0 9f bf',
    'f0 80 80 af',
    'f0 8f bf bf',
    'ed a0 80',
    'ed bf bf',
    'f4 90 80 80',
    'f5 80 80 80',
    'ff',
    'fe',
    '80',
    'bf',
    'c2',
    'e1 80',
    'f1 80 80',
    'c2 41',
    'e1 41',
    'e1 80 41',
    'f1 80 80 41',
    'f8 88 80 80 80',
  ].map((h) => Uint8Array.from(h.split(' '), (x) => parseInt(x, 16)));
  const piece = fc.oneof(
    { arbitrary: text('grapheme', 24), weight: 6 },
    { arbitrary: text('binary', 24), weight: 4 },
    { arbitrary: text('binary-ascii', 90), weight: 6 },
    { arbitrary: fc.constantFrom(...faults), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 3 }), weight: 1 },
  );
  /** Long enough for the kernel (WASM_UTF8_MIN bytes and more), with faults, if any, anywhere in a 16-byte block. */
  const longInput = fc
    .tuple(fc.array(piece, { maxLength: 40 }), fc.nat({ max: 400 }), fc.nat({ max: 40 }))
    .map(([parts, before, after]) =>
      concatBytes([
        new Uint8Array(WASM_UTF8_MIN + before).fill(0x20),
        ...parts,
        new Uint8Array(after).fill(0x2e),
      ])
    );

  it('isValidUtf8 agrees with a fatal TextDecoder', () => {
    fc.assert(
      fc.property(longInput, (bytes) => {
        expect(isValidUtf8(bytes)).toBe(decoderAccepts(bytes));
      }),
      { numRuns: runs },
    );
  });

  it('Utf8Validator, cut anywhere in two, says the same after each piece as the JavaScript path', () => {
    const validator = new Utf8Validator();
    const feed = (bytes: Uint8Array, cut: number) => {
      validator.reset();
      return [validator.update(bytes, 0, cut), validator.update(bytes, cut), validator.finish()];
    };
    fc.assert(
      fc.property(longInput, (bytes) => {
        const valid = decoderAccepts(bytes);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const verdicts = feed(bytes, cut);
          const js = withJavaScript(() => feed(bytes, cut));
          if (verdicts.join() !== js.join()) {
            expect.fail(`cut at ${cut}: ${verdicts} but ${js} in JavaScript`);
          }
          if (verdicts[2] !== valid) {
            expect.fail(`cut at ${cut}: finish() ${verdicts[2]}, TextDecoder ${valid}`);
          }
        }
      }),
      { numRuns: Math.max(20, runs / 20) },
    );
  });

  it('every two bytes then two continuation bytes, across and inside a 16-byte block, as the JS path', () => {
    const bytes = new Uint8Array(WASM_UTF8_MIN + 50).fill(0x61);
    for (const at of [13, 14, 15, 16, 40]) {
      for (let pair = 0; pair < 0x10000; pair++) {
        bytes.set([pair >> 8, pair & 0xff, 0x80, 0x80], at);
        const verdict = isValidUtf8(bytes);
        if (verdict !== withJavaScript(() => isValidUtf8(bytes))) {
          expect.fail(`${(pair >> 8).toString(16)} ${(pair & 0xff).toString(16)} 80 80 at ${at}: ${verdict}`);
        }
      }
    }
  });

  it('finds a fault on either side of the 64 KiB windows, and a sequence cut by a window', () => {
    // Mostly 3- and 4-byte sequences, so the windows cut many of them.
    const base = encoder.encode('€😀語a'.repeat(20_000)).subarray(0, 200_000);
    expect(isValidUtf8(base)).toBe(decoderAccepts(base));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: -20, max: 20 }),
        fc.constantFrom(...faults),
        (window, delta, fault) => {
          const bytes = base.slice();
          bytes.set(fault, window * 64 * 1024 + delta);
          expect(isValidUtf8(bytes)).toBe(decoderAccepts(bytes));
        },
      ),
      { numRuns: Math.max(50, runs / 10) },
    );
  });
});
