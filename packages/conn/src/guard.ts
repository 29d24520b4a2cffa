/**
 * Per-call cancellation: one {@link CallGuard} per read or write call combines the caller's AbortSignal and
 * the connection's timeout for that kind of call. Only the call fails; the connection is left usable.
 */

import type { TimerHandle, Timers } from './transport.ts';
import { abortReason, type AbortSignalLike } from './web.ts';

export class CallGuard {
  #failed = false;
  #failure: unknown = undefined;
  #onFail: (() => void) | null = null;
  #timer: TimerHandle | undefined;
  readonly #signal: AbortSignalLike | undefined;
  readonly #timers: Timers;
  readonly #listener = (): void => this.#fail(abortReason(this.#signal!));

  constructor(
    signal: AbortSignalLike | undefined,
    timers: Timers,
    timeout: number,
    timeoutError: () => unknown,
  ) {
    this.#signal = signal;
    this.#timers = timers;
    if (signal !== undefined) {
      if (signal.aborted) this.#fail(abortReason(signal));
      else signal.addEventListener('abort', this.#listener, { once: true });
    }
    if (timeout > 0 && !this.#failed) {
      this.#timer = timers.setTimeout(() => {
        this.#timer = undefined;
        this.#fail(timeoutError());
      }, timeout);
    }
  }

  /** Whether the call was aborted or timed out. */
  get failed(): boolean {
    return this.#failed;
  }
  get failure(): unknown {
    return this.#failure;
  }

  /** Registers what to do when the guard fires (at most one at a time); `null` to unregister. */
  onFail(callback: (() => void) | null): void {
    this.#onFail = callback;
  }

  /**
   * Waits for `executor`'s resolution, or rejects with the abort reason or the timeout error, calling the
   * cancel function the executor returned so that nothing is left registered.
   */
  wait<T>(executor: (resolve: (value: T) => void) => () => void): Promise<T> {
    if (this.#failed) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const cancel = executor((value) => {
        if (settled) return;
        settled = true;
        this.#onFail = null;
        resolve(value);
      });
      if (settled) return;
      this.#onFail = () => {
        settled = true;
        cancel();
        reject(this.#failure);
      };
    });
  }

  /** Releases the timer and the signal listener. */
  dispose(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#signal?.removeEventListener('abort', this.#listener);
    this.#onFail = null;
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = error;
    const callback = this.#onFail;
    this.#onFail = null;
    callback?.();
  }
}
