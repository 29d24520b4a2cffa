/**
 * XOR masking (RFC 6455 §5.3). The same operation masks and unmasks.
 *
 * Hot path: every byte a server receives goes through here. The middle of the buffer is processed as
 * 32-bit words through a Uint32Array view (which needs 4-byte alignment, hence the byte loops at both
 * ends), with the key rotated to the payload position so that a payload unmasked piece by piece, as it
 * arrives in several chunks, gives the same result as one pass over the whole. From WASM_MASK_MIN bytes
 * on, the WebAssembly SIMD kernel (kernels.ts) does the work instead, where the runtime can run it, or
 * a masker that an adapter injects (`ConnectionOptions.mask`: bufferutil's native one on Node).
 */

import { unmaskWasm, WASM_MASK_MIN, wasmKernels } from './kernels.ts';

/**
 * An injected masking routine with the signature of bufferutil's `mask`: XORs `source[0, length)` with
 * `key` (`key[0]` applies to `source[0]`) and writes the result to `output` from `offset`, which may be
 * `source` itself (in place).
 */
export type Masker = (
  source: Uint8Array,
  key: Uint8Array,
  output: Uint8Array,
  offset: number,
  length: number,
) => void;

const keyBytes = new Uint8Array(4);
// Same buffer read as one native-endian word: XOR with it is XOR with the 4 key bytes in memory order.
const keyWord = new Uint32Array(keyBytes.buffer);

/**
 * From this many bytes an injected masker is used: below it the kernel's copy in and out of its window stays
 * in cache and beats the call (bufferutil's `mask` against the kernel, in place or into another buffer, on
 * Node and Bun: slower at 1–4 KiB, faster from 16 KiB, 1.4–1.8× at 64 KiB).
 */
const NATIVE_MASK_MIN = 8 * 1024;

/** Below this many bytes a byte loop beats creating a Uint32Array view. */
const WORD_LOOP_THRESHOLD = 32;

/** Puts `key` rotated to `phase` in `keyBytes` (and so in `keyWord`). */
function rotate(key: Uint8Array, phase: number): void {
  for (let i = 0; i < 4; i++) keyBytes[i] = key[(phase + i) & 3]!;
}

/**
 * XORs `data[start..end)` with `key`, starting at key position `phase` (the number of payload bytes
 * already processed before `start`, modulo 4), writing the result to `dst` from `at`: in place by
 * default; `data` is never modified when `dst` is another buffer. From NATIVE_MASK_MIN bytes `native` does
 * the work if given; if it throws, the core's own paths run, which is right when it threw before writing
 * (an in-place masker that fails halfway is a local bug the core cannot see).
 */
export function applyMask(
  data: Uint8Array,
  key: Uint8Array,
  phase: number,
  start = 0,
  end = data.length,
  native?: Masker,
  dst = data,
  at = start,
): void {
  const n = end - start;
  if (n >= WASM_MASK_MIN) {
    if (native !== undefined && n >= NATIVE_MASK_MIN) {
      rotate(key, phase);
      try {
        return native(new Uint8Array(data.buffer, data.byteOffset + start, n), keyBytes, dst, at, n);
      } catch {
        // fall through to our own
      }
    }
    const kernels = wasmKernels();
    if (kernels !== null) {
      unmaskWasm(kernels, data, key, phase, start, end, dst, at, null);
      return;
    }
  }
  if (dst !== data) {
    // Copied first and unmasked there, so that the source stays as it was.
    dst.set(new Uint8Array(data.buffer, data.byteOffset + start, n), at);
    start = at;
    end = at + n;
    data = dst;
  }
  let i = start;
  let p = phase & 3;
  if (n >= WORD_LOOP_THRESHOLD) {
    // Align to a 4-byte address, byte by byte.
    for (; ((data.byteOffset + i) & 3) !== 0; i++, p = (p + 1) & 3) data[i]! ^= key[p]!;
    const words = (end - i) >>> 2;
    rotate(key, p);
    const mask = keyWord[0]!;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= mask;
    i += words << 2; // whole words keep the phase unchanged
  }
  for (; i < end; i++, p = (p + 1) & 3) data[i]! ^= key[p]!;
}
