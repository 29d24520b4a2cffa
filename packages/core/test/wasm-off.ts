/** Shared by kernels.test.ts (vitest) and kernels_runtime_test.ts (Bun, Deno). */

import { setWasmKernelsEnabled } from '../src/kernels.ts';

/** Runs `f` with the WebAssembly kernels off (the JavaScript paths), then turns them back on. */
export function withJavaScript<T>(f: () => T): T {
  setWasmKernelsEnabled(false);
  try {
    return f();
  } finally {
    setWasmKernelsEnabled(true);
  }
}
