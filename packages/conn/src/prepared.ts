/**
 * Messages encoded once and written to many connections, and a broadcast helper with a slow-consumer
 * policy (gorilla/websocket's `PreparedMessage`, plus what every chat server writes by hand).
 *
 * @module
 */

import { UsageError } from '@sansws/core';
import type { CallOptions, Conn, MessageType } from './conn.ts';
import { utf8Decoder, utf8Encoder } from './web.ts';

/** Payloads up to this size share one buffer with their header; larger ones are written separately. */
const COPY_THRESHOLD = 16 * 1024;

/**
 * A data message whose frame is encoded once. Server connections without compression get the very same
 * bytes; client connections (which mask every frame) and connections with compression encode it
 * themselves. Treat the payload as immutable once prepared.
 */
export class PreparedMessage {
  /** The message type. */
  readonly type: MessageType;
  /** The payload (UTF-8 for text). */
  readonly data: Uint8Array;
  #text: string | undefined;
  #frame: Uint8Array[] | undefined;

  constructor(type: MessageType, data: string | Uint8Array) {
    if (type !== 'text' && type !== 'binary') {
      throw new UsageError('INVALID_ARGUMENT', `unknown message type ${String(type)}`);
    }
    this.type = type;
    if (typeof data === 'string') {
      this.data = utf8Encoder.encode(data);
      if (type === 'text') this.#text = data;
    } else {
      this.data = data;
    }
  }

  /** Payload size in bytes. */
  get size(): number {
    return this.data.length;
  }

  /** The text (decoded once, on demand, when prepared from bytes). */
  get text(): string {
    return this.#text ??= utf8Decoder.decode(this.data);
  }

  /** The unmasked frame (RFC 6455 §5.2), FIN set, no RSV bits: header and payload, or both in one. */
  serverFrame(): readonly Uint8Array[] {
    return this.#frame ??= encodeFrame(this.type === 'text' ? 0x1 : 0x2, this.data);
  }
}

function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array[] {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const header = new Uint8Array(headerLength + (length <= COPY_THRESHOLD ? length : 0));
  header[0] = 0x80 | opcode;
  if (length < 126) {
    header[1] = length;
  } else if (length < 65536) {
    header[1] = 126;
    header[2] = length >>> 8;
    header[3] = length & 0xff;
  } else {
    header[1] = 127;
    // RFC 6455 §5.2: 64-bit length, most significant bit 0. Lengths here are below 2^53.
    const high = Math.floor(length / 2 ** 32);
    const low = length >>> 0;
    for (let i = 0; i < 4; i++) {
      header[2 + i] = (high >>> (24 - 8 * i)) & 0xff;
      header[6 + i] = (low >>> (24 - 8 * i)) & 0xff;
    }
  }
  if (length <= COPY_THRESHOLD) {
    header.set(payload, headerLength);
    return [header];
  }
  return [header, payload];
}

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
