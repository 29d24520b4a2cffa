/**
 * Errors of the connection layer. Like the core's, each has a stable string `code` from a literal union,
 * so that `switch (err.code)` narrows.
 *
 * - {@link CloseError}: the connection is closed (or closing); reads and writes reject with it. Its code
 *   tells a normal close from an error close and from an abnormal one (no closing handshake).
 * - {@link ConnError}: a timeout, a proxy failure, or another failure of this layer.
 *
 * Handshake refusals are the core's `HandshakeError` (status, headers, body); local misuse is the core's
 * `UsageError`.
 *
 * @module
 */

import { WebSocketError } from '@sansws/core';

/**
 * Stable codes of {@link CloseError}:
 *
 * - `CLOSED_NORMALLY`: the closing handshake completed with 1000 (normal), 1001 (going away) or 1005 (no
 *   status code, as a browser's `close()` sends).
 * - `CLOSED_WITH_ERROR`: a close code other than those, e.g. 1002 (protocol error), 1009 (too big), 1011,
 *   or an application code 3000–4999; sent by the peer, or by us when we failed the connection.
 * - `CLOSED_ABNORMALLY`: 1006, no closing handshake: the transport dropped, a keepalive or close timeout
 *   fired, or `terminate()` was called.
 * - `CLOSING`: a write after the closing handshake started (the final outcome is not known yet).
 */
export type CloseErrorCode = 'CLOSED_NORMALLY' | 'CLOSED_WITH_ERROR' | 'CLOSED_ABNORMALLY' | 'CLOSING';

/** The connection is closed, or closing: what reads and writes reject with from then on. */
export class CloseError extends WebSocketError {
  override readonly name = 'CloseError';
  constructor(
    readonly code: CloseErrorCode,
    /** The close code: received, sent when we failed, or 1006 when there was no closing handshake. */
    readonly closeCode: number,
    /** The close reason. */
    readonly reason: string,
    /** Whether close frames were exchanged. */
    readonly clean: boolean,
    /** What caused an unclean close: a core `ProtocolError` (with its own `code`), or a transport error. */
    cause?: unknown,
  ) {
    super(describe(code, closeCode, reason), cause === undefined ? undefined : { cause });
  }

  /** Whether this is a normal close (`CLOSED_NORMALLY`): iteration over a Conn ends quietly on it. */
  get normal(): boolean {
    return this.code === 'CLOSED_NORMALLY';
  }
}

function describe(code: CloseErrorCode, closeCode: number, reason: string): string {
  const tail = reason === '' ? `${closeCode}` : `${closeCode} ${JSON.stringify(reason)}`;
  switch (code) {
    case 'CLOSED_NORMALLY':
      return `the connection closed normally (${tail})`;
    case 'CLOSED_WITH_ERROR':
      return `the connection closed with an error (${tail})`;
    case 'CLOSED_ABNORMALLY':
      return `the connection closed abnormally (${tail})`;
    case 'CLOSING':
      return `the connection is closing (${tail})`;
  }
}

/** Classifies a finished connection. */
export function closeErrorCode(closeCode: number, clean: boolean): CloseErrorCode {
  if (closeCode === 1006) return 'CLOSED_ABNORMALLY';
  if (clean && (closeCode === 1000 || closeCode === 1001 || closeCode === 1005)) return 'CLOSED_NORMALLY';
  return 'CLOSED_WITH_ERROR';
}

/**
 * Stable codes of {@link ConnError}:
 *
 * - `READ_TIMEOUT` / `WRITE_TIMEOUT`: a read or write call waited longer than the connection's
 *   `readTimeout` / `writeTimeout`; only that call fails, the connection stays usable.
 * - `HANDSHAKE_TIMEOUT`: the opening handshake (or the dial: connect, proxy and handshake) took longer than
 *   `handshakeTimeout`; the transport was destroyed.
 * - `PROXY_FAILED`: the HTTP CONNECT proxy refused the tunnel (`status`) or answered something invalid.
 * - `TRANSPORT_CLOSED`: the transport closed before the opening handshake completed.
 */
export type ConnErrorCode =
  | 'READ_TIMEOUT'
  | 'WRITE_TIMEOUT'
  | 'HANDSHAKE_TIMEOUT'
  | 'PROXY_FAILED'
  | 'TRANSPORT_CLOSED';

/** A failure of the connection layer itself (timeouts, proxies). */
export class ConnError extends WebSocketError {
  override readonly name = 'ConnError';
  constructor(
    readonly code: ConnErrorCode,
    message: string,
    /** For `PROXY_FAILED`: the proxy's HTTP status (0 when it sent no valid status line). */
    readonly status = 0,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
