/**
 * bufferutil's native `mask`, the engine's `mask` on Node when that optional dependency is installed.
 *
 * @module
 */

import { createRequire } from 'node:module';
import type { Masker } from '@sansws/core';

let loaded: Masker | null | undefined; // undefined: not tried yet; null: not available

/**
 * bufferutil's `mask` if the package is installed and its native build loads (bufferutil falls back to a
 * JavaScript byte loop otherwise, slower than the core's own kernels, so that one is not used); else
 * `undefined`. Loaded on first call, not at import, so that importing `@sansws/node` costs nothing more.
 */
export function nativeMask(): Masker | undefined {
  if (loaded === undefined) {
    loaded = null;
    try {
      // `url` typed here: Deno checks this package with its tsconfig's lib, whose ImportMeta has none.
      const here = (import.meta as unknown as { url: string }).url;
      const mask: unknown = (createRequire(here)('bufferutil') as { mask?: unknown }).mask;
      if (typeof mask === 'function' && Function.prototype.toString.call(mask).includes('[native code]')) {
        loaded = mask as Masker;
      }
    } catch {
      // not installed, or its native build did not load
    }
  }
  return loaded ?? undefined;
}
