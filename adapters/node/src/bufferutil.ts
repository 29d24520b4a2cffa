/**
 * bufferutil's native `mask`, the engine's `mask` on Node when that optional dependency is installed.
 *
 * @module
 */

import { createRequire } from 'node:module';
import type { Masker } from '@sansws/core';

let loaded: Masker | null | undefined; // undefined: not tried yet; null: not available

/**
 * bufferutil's `mask` if the package is installed and its native build loads; else `undefined`. Loaded on
 * first call, not at import, so that importing `@sansws/node` costs nothing more.
 */
export function nativeMask(): Masker | undefined {
  if (loaded === undefined) {
    loaded = pickNativeMask(() => {
      // `url` typed here: Deno checks this package with its tsconfig's lib, whose ImportMeta has none.
      const here = (import.meta as unknown as { url: string }).url;
      return createRequire(here)('bufferutil');
    });
  }
  return loaded ?? undefined;
}

/**
 * The `mask` of what `load` returns if it is a native function; null if `load` throws (not installed, or
 * no build for this platform) or gives anything else: bufferutil falls back to a JavaScript byte loop
 * when its native build does not load, and that one is slower than the core's own kernel.
 */
export function pickNativeMask(load: () => unknown): Masker | null {
  try {
    const mask: unknown = (load() as { mask?: unknown } | null)?.mask;
    const native = typeof mask === 'function' &&
      Function.prototype.toString.call(mask).includes('[native code]');
    return native ? mask as Masker : null;
  } catch {
    return null;
  }
}
