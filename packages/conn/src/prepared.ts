/**
 * Messages encoded once and written to many connections, and a broadcast helper with a slow-consumer
 * policy (gorilla/websocket's `PreparedMessage`, plus what every chat server writes by hand).
 *
 * @module
 */

import { PreparedMessage, UsageError } from '@sansws/core';
import type { CallOptions, Conn } from './conn.ts';

// The core encodes a prepared message's frame once and shares it between server connections.
export { PreparedMessage };

/** What {@link broadcast} does with a connection whose `bufferedAmount` is above the limit. */
export type SlowConsumerPolicy = 'skip' | 'close' | 'wait';

/** Options of {@link broadcast}. */
export interface BroadcastOptions extends CallOptions {
  /**
   * For a connection with more than `limit` bytes buffered: `'skip'` it (default; it misses this message),
   * `'close'` it (1008, "slow consumer"), or `'wait'` for its turn (the broadcast resolves when every
   * connection took the message, so the slowest one paces it).
   */
  readonly policy?: SlowConsumerPolicy;
  /** Buffered bytes above which a connection counts as slow. Default 1 MiB. */
  readonly limit?: number;
}

/** What {@link broadcast} did. */
export interface BroadcastResult {
  /** Connections the message was queued on (and, with `'wait'`, handed to the transport of). */
  readonly sent: number;
  /** Slow connections skipped. */
  readonly skipped: number;
  /** Slow connections closed. */
  readonly closed: number;
  /** Connections already closed or closing, or whose write failed. */
  readonly failed: number;
}

/**
 * Writes one message to many connections, encoding it once ({@link PreparedMessage}). With `'skip'` and
 * `'close'` it never waits for a connection; with `'wait'` it resolves when every write resolved.
 */
export async function broadcast(
  conns: Iterable<Conn>,
  message: PreparedMessage | string | Uint8Array,
  options: BroadcastOptions = {},
): Promise<BroadcastResult> {
  const prepared = message instanceof PreparedMessage
    ? message
    : new PreparedMessage(typeof message === 'string' ? 'text' : 'binary', message);
  const policy = options.policy ?? 'skip';
  if (policy !== 'skip' && policy !== 'close' && policy !== 'wait') {
    throw new UsageError('INVALID_ARGUMENT', `unknown slow-consumer policy ${String(policy)}`);
  }
  const limit = options.limit ?? 1024 * 1024;
  const call = options.signal === undefined ? undefined : { signal: options.signal };
  let sent = 0;
  let skipped = 0;
  let closed = 0;
  let failed = 0;
  const waits: Promise<void>[] = [];
  for (const conn of conns) {
    if (conn.state !== 'open') {
      failed++;
      continue;
    }
    if (policy !== 'wait' && conn.bufferedAmount > limit) {
      if (policy === 'skip') skipped++;
      else {
        closed++;
        conn.close(1008, 'slow consumer').catch(() => {});
      }
      continue;
    }
    const write = conn.writePreparedMessage(prepared, call);
    if (policy === 'wait') {
      waits.push(write.then(() => void sent++, () => void failed++));
    } else {
      sent++;
      // The outcome is visible on the connection itself (closed); nothing to report here.
      write.catch(() => {});
    }
  }
  await Promise.all(waits);
  return { sent, skipped, closed, failed };
}
