/**
 * bufferutil's native `mask` (an N-API addon, which Bun loads), the engine's `mask` on Bun when that
 * optional dependency is installed.
 *
 * @module
 */

import type { Masker } from '@sansws/core';

let cached: Masker | null | undefined; // undefined: not looked for yet; null: not there

/**
 * bufferutil's `mask` if the package is installed and its native build loads under Bun (its JavaScript
 * fallback, a byte loop, is slower than the core's kernel and is not used); else `undefined`. Looked up on
 * first call with Bun's `require`, which resolves from this module, so importing `@sansws/bun` stays as
 * cheap.
 */
export function nativeMask(): Masker | undefined {
  if (cached === undefined) {
    cached = null;
    try {
      const candidate: unknown = (require('bufferutil') as { mask?: unknown }).mask;
      const native = typeof candidate === 'function' &&
        Function.prototype.toString.call(candidate).includes('[native code]');
      if (native) cached = candidate as Masker;
    } catch {
      // not installed, or its native build did not load
    }
  }
  return cached ?? undefined;
}
