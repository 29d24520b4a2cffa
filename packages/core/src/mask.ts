/**
 * XOR masking (RFC 6455 §5.3). The same operation masks and unmasks.
 *
 * Hot path: every byte a server receives goes through here. The middle of the buffer is processed as
 * 32-bit words through a Uint32Array view (which needs 4-byte alignment, hence the byte loops at both
 * ends), with the key rotated to the payload position so that a payload unmasked piece by piece, as it
 * arrives in several chunks, gives the same result as one pass over the whole. From WASM_MASK_MIN bytes
 * on, the WebAssembly SIMD kernel (kernels.ts) does the work instead, where the runtime can run it.
 */

import { unmaskWasm, WASM_MASK_MIN, wasmKernels } from './kernels.ts';

const keyBytes = new Uint8Array(4);
// Same buffer read as one native-endian word: XOR with it is XOR with the 4 key bytes in memory order.
const keyWord = new Uint32Array(keyBytes.buffer);

/** Below this many bytes a byte loop beats creating a Uint32Array view. */
const WORD_LOOP_THRESHOLD = 32;

/**
 * XORs `data[start..end)` in place with `key`, starting at key position `phase` (the number of payload
 * bytes already processed before `start`, modulo 4).
 */
export function applyMask(
  data: Uint8Array,
  key: Uint8Array,
  phase: number,
  start = 0,
  end = data.length,
): void {
  if (end - start >= WASM_MASK_MIN) {
    const kernels = wasmKernels();
    if (kernels !== null) {
      unmaskWasm(kernels, data, key, phase, start, end, data, start, null);
      return;
    }
  }
  const k0 = key[0]!, k1 = key[1]!, k2 = key[2]!, k3 = key[3]!;
  let i = start;
  let p = phase & 3;
  if (end - i >= WORD_LOOP_THRESHOLD) {
    // Align to a 4-byte address, byte by byte.
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i]! ^= p === 0 ? k0 : p === 1 ? k1 : p === 2 ? k2 : k3;
      i++;
      p = (p + 1) & 3;
    }
    const words = (end - i) >>> 2;
    keyBytes[0] = key[p]!;
    keyBytes[1] = key[(p + 1) & 3]!;
    keyBytes[2] = key[(p + 2) & 3]!;
    keyBytes[3] = key[(p + 3) & 3]!;
    const mask = keyWord[0]!;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= mask;
    i += words << 2; // whole words keep the phase unchanged
  }
  for (; i < end; i++) {
    data[i]! ^= p === 0 ? k0 : p === 1 ? k1 : p === 2 ? k2 : k3;
    p = (p + 1) & 3;
  }
}
