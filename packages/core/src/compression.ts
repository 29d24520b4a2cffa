/**
 * How the engine meets a compression extension without depending on it: the server and client halves
 * that {@link ServerConnectionOptions.compression} and {@link ClientConnectionOptions.compression} take.
 * `@sansws/core/deflate` makes them for permessage-deflate (RFC 7692), so a program that never compresses
 * never loads or bundles the deflate code.
 */

import type { MessageCompressor } from './connection.ts';
import type { HttpRequest } from './http.ts';

/**
 * The server half of a compression extension, as `serverPerMessageDeflate()` from `@sansws/core/deflate`
 * makes it. The engine calls {@link ServerCompression.negotiate} while it accepts a handshake and
 * {@link ServerCompression.compressor} once the connection opens with what was agreed.
 */
export interface ServerCompression {
  /**
   * Answers the values of the request's `Sec-WebSocket-Extensions` headers: the response header and what
   * was agreed, or `header: null` to decline. Throws a `HandshakeError` to refuse the handshake.
   */
  readonly negotiate: (
    offers: readonly string[],
    request: HttpRequest,
  ) => { header: string | null; result: unknown };
  /** The per-message transform for an agreement `negotiate` returned. */
  readonly compressor: (agreed: unknown) => MessageCompressor;
}

/**
 * The client half of a compression extension, as `clientPerMessageDeflate()` from `@sansws/core/deflate`
 * makes it: the offer, the check of the server's answer and the transform.
 */
export interface ClientCompression {
  /** The `Sec-WebSocket-Extensions` value to offer. */
  readonly offer: string;
  /**
   * Checks the values of the response's `Sec-WebSocket-Extensions` headers: what was agreed, or null
   * when the server declined. Throws a `HandshakeError` when the answer is not one the offer allows.
   */
  readonly accept: (values: readonly string[]) => unknown;
  /** The per-message transform for an agreement `accept` returned. */
  readonly compressor: (agreed: unknown) => MessageCompressor;
}
