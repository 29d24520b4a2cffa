/** Deno's timers and monotonic clock, as the `Timers` sansws injects. */

import type { Timers } from '@sansws/conn';

/**
 * `performance.now()` and unref'd timers (`Deno.unrefTimer`): a pending keepalive or close timer never
 * keeps a process alive on its own (sockets do).
 */
export const denoTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    Deno.unrefTimer(timer);
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as number),
};
