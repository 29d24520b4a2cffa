/** Bun's timers and monotonic clock, as the `Timers` sansws injects. */

import type { Timers } from '@sansws/conn';

/**
 * `performance.now()` and unref'd timers: a pending keepalive or close timer never keeps a process alive
 * on its own (sockets do).
 */
export const bunTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
