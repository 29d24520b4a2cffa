/**
 * WebAssembly SIMD kernels for the two per-byte loops of receiving: unmasking (RFC 6455 §5.3) and UTF-8
 * validation (RFC 3629). Internal: mask.ts and utf8.ts call these above a size threshold and keep their
 * own JavaScript loops for short inputs and as the fallback.
 *
 * Theory of operation. The module (source: wasm/kernels.wat, bytes: kernels-wasm.ts) is compiled and
 * instantiated synchronously on first use. If `WebAssembly` is missing, cannot validate the module (no
 * SIMD), or anything throws, the kernels stay off for the life of the process and callers use their
 * JavaScript paths. Input is copied into a fixed window of the module's memory, processed there, and (for
 * unmasking) copied out to its destination, which may be the input itself or another buffer (the message
 * being assembled); text is validated in the window between the two copies (unmaskWasm); a long input goes through the window slice by slice, so the memory never grows
 * with the message. Both copies are `TypedArray.prototype.set`, which runs at memcpy speed, so the cost
 * over JavaScript is two cheap passes and one call per window. The module must stay small: browsers have
 * refused synchronous compilation on the main thread above a size limit (Chrome: 4 KB, later 8 MB); such a
 * refusal throws, and the JavaScript paths take over.
 */

import { decodeBase64 } from './base64.ts';
import { KERNELS_WASM } from './kernels-wasm.ts';

// The few WebAssembly members used, typed here so that the core needs no DOM type library.
export interface WasmExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  mask(start: number, end: number, key: number): void;
  utf8(start: number, end: number): number;
}
interface WasmNamespace {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: WasmExports };
}

/**
 * From this many bytes applyMask uses the kernel: there it beats the JavaScript word loop on all three
 * runtimes (bench/kernels.ts: on Node from about 512 B, on Bun and Deno from about 1 KiB).
 */
export const WASM_MASK_MIN = 1024;
/**
 * From this many bytes the UTF-8 validator uses the kernel (bench/kernels.ts: it wins on Node and Deno
 * from about 128 B, on Bun, whose JIT runs the JavaScript loop fastest, from about 512 B).
 */
export const WASM_UTF8_MIN = 512;

/**
 * Bytes per slice. Large enough that the per-call cost vanishes, small enough to stay in L2 cache
 * between the copy in, the kernel and the copy out. A multiple of 4, so slices keep the mask phase.
 */
const WINDOW = 64 * 1024;
/** The mask kernel works 16 bytes at a time and may write up to 15 bytes past the end of its range. */
const SLACK = 16;
const PAGE = 64 * 1024;

let kernels: WasmExports | null | undefined; // undefined: not tried yet; null: off for good
let loaded: WasmExports | null | undefined; // what instantiating gave, kept while tests turn them off
let memory: Uint8Array = new Uint8Array(0);
/** The last view of `memory[0, n)` that unmaskWasm copied out of, kept: its messages tend to repeat sizes. */
let outView: Uint8Array = memory;

function instantiate(): WasmExports | null {
  try {
    const wasm = (globalThis as unknown as { WebAssembly?: WasmNamespace }).WebAssembly;
    const bytes = decodeBase64(KERNELS_WASM);
    if (wasm === undefined || bytes === null || !wasm.validate(bytes)) return null;
    const exports = new wasm.Instance(new wasm.Module(bytes), {}).exports;
    const pages = Math.ceil((WINDOW + SLACK) / PAGE) - exports.memory.buffer.byteLength / PAGE;
    if (pages > 0) exports.memory.grow(pages);
    memory = new Uint8Array(exports.memory.buffer, 0, WINDOW + SLACK);
    outView = memory.subarray(0, 0);
    return exports;
  } catch {
    return null;
  }
}

/** The kernels, instantiating them on first call; null if this runtime cannot run them. */
export function wasmKernels(): WasmExports | null {
  if (kernels === undefined) kernels = loaded = instantiate();
  return kernels;
}

/**
 * For tests only (not exported from mod.ts): `false` turns the kernels off, as on a runtime without
 * WebAssembly SIMD, so that the JavaScript fallbacks run; `true` turns them back on. `'reload'` forgets
 * the instance, so that the next use instantiates the module again.
 */
export function setWasmKernelsEnabled(enabled: boolean | 'reload'): void {
  if (enabled === 'reload') loaded = undefined;
  kernels = enabled === false ? null : loaded;
}

/** What unmaskWasm feeds the unmasked bytes to: a Utf8Validator (typed here: utf8.ts imports this module). */
export interface PieceValidator {
  update(bytes: Uint8Array, start: number, end: number): boolean;
}

/**
 * Unmasks `src[start..end)` with `key` rotated to `phase`, as applyMask does, writing the result to `dst`
 * from `at` (`dst` may be `src` with `at` = `start`: in place). With `utf8`, the unmasked bytes are fed to
 * it while they are in the module's memory, so that unmasking and validating text cost one copy in and
 * one copy out per window, whatever the destination.
 *
 * @returns false as soon as `utf8` rejects a window (that window is not written); true otherwise.
 */
export function unmaskWasm(
  kernels: WasmExports,
  src: Uint8Array,
  key: Uint8Array,
  phase: number,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
  utf8: PieceValidator | null,
): boolean {
  const p = phase & 3;
  // The key as a little-endian word whose first byte applies at the slice's first byte.
  const word = key[p]! | (key[(p + 1) & 3]! << 8) | (key[(p + 2) & 3]! << 16) | (key[(p + 3) & 3]! << 24);
  for (let i = start; i < end; i += WINDOW) {
    const n = end - i < WINDOW ? end - i : WINDOW;
    // Views only where needed: `src` itself when it is the whole range (a view costs 35–90 ns).
    memory.set(n === src.length ? src : src.subarray(i, i + n));
    kernels.mask(0, n, word);
    if (utf8 !== null && !utf8.update(memory, 0, n)) return false;
    if (outView.length !== n) outView = memory.subarray(0, n);
    dst.set(outView, at + i - start);
  }
  return true;
}

/**
 * Validates `bytes[start..end)`, which starts between code points, as UTF-8 (RFC 3629).
 *
 * @returns -1 if it cannot be the start of valid UTF-8; otherwise the index up to which it is complete,
 * valid UTF-8. At most 18 bytes are left after that index (a short tail, and a sequence it cuts), for
 * the caller to finish.
 */
export function validateUtf8Wasm(
  kernels: WasmExports,
  bytes: Uint8Array,
  start: number,
  end: number,
): number {
  let i = start;
  if (bytes.buffer === memory.buffer) {
    // Already in the module's memory (unmaskWasm's window): validated where it is, no copy.
    const stop = end - i >= 16 ? kernels.utf8(i, end) : i;
    return stop < 0 ? -1 : stop;
  }
  while (end - i >= 16) {
    const n = end - i < WINDOW ? end - i : WINDOW;
    memory.set(bytes.subarray(i, i + n));
    const stop = kernels.utf8(0, n);
    if (stop < 0) return -1;
    // The kernel stops at a 16-byte block boundary, or up to 3 bytes before it to leave a sequence that
    // the window cuts whole for the next call: at least 13 bytes of progress, since n >= 16.
    i += stop;
  }
  return i;
}
