/**
 * The error family of the core. Three kinds, so that callers can tell whose fault a failure is:
 *
 * - {@link ProtocolError}: the peer broke RFC 6455 / RFC 7692. Carries the close code to send.
 * - {@link HandshakeError}: the opening handshake failed. Carries the HTTP status (sent or received).
 * - {@link UsageError}: the local caller misused the API (wrong state, bad argument).
 *
 * Every error has a stable string `code` from a literal union, so `switch (err.code)` narrows.
 */

/** Stable codes of {@link ProtocolError}. */
export type ProtocolErrorCode =
  | 'RESERVED_BITS'
  | 'RESERVED_OPCODE'
  | 'MASK_EXPECTED'
  | 'MASK_UNEXPECTED'
  | 'LENGTH_TOO_LARGE'
  | 'CONTROL_FRAME_TOO_LONG'
  | 'CONTROL_FRAME_FRAGMENTED'
  | 'UNEXPECTED_CONTINUATION'
  | 'EXPECTED_CONTINUATION'
  | 'INVALID_UTF8'
  | 'INVALID_CLOSE_PAYLOAD'
  | 'INVALID_CLOSE_CODE'
  | 'FRAME_TOO_BIG'
  | 'MESSAGE_TOO_BIG'
  | 'DATA_AFTER_CLOSE'
  | 'INVALID_COMPRESSED_DATA'
  | 'PING_TIMEOUT'
  | 'CLOSE_TIMEOUT'
  | 'ABNORMAL_CLOSURE';

// The subclasses declare their fields and assign them in the constructor (rather than with parameter
// properties), so that the compiled classes carry no field declarations (`code; closeCode; …`), which
// would only be set to undefined and then overwritten.

/** Base class of every error thrown or reported by sansws. */
export abstract class WebSocketError extends Error {
  abstract readonly code: string;
}

/** The peer misbehaved; `closeCode` is the status code the connection is (or was) closed with. */
export class ProtocolError extends WebSocketError {
  override readonly name = 'ProtocolError';
  declare readonly code: ProtocolErrorCode;
  /** The close code the connection is (or was) closed with. */
  declare readonly closeCode: number;
  constructor(code: ProtocolErrorCode, closeCode: number, message: string) {
    super(message);
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** Stable codes of {@link HandshakeError}. */
export type HandshakeErrorCode =
  | 'MALFORMED_HTTP'
  | 'HEADERS_TOO_LARGE'
  | 'INVALID_METHOD'
  | 'INVALID_HTTP_VERSION'
  | 'MISSING_HOST'
  | 'INVALID_UPGRADE'
  | 'INVALID_CONNECTION'
  | 'UNSUPPORTED_VERSION'
  | 'INVALID_KEY'
  | 'FORBIDDEN_ORIGIN'
  | 'INVALID_EXTENSIONS'
  | 'INVALID_SUBPROTOCOL'
  | 'INVALID_STATUS'
  | 'INVALID_ACCEPT'
  | 'REJECTED'
  | 'BODY_TOO_LARGE'
  | 'UNEXPECTED_EOF';

/** One HTTP header field as it appeared on the wire: name and value, in order, duplicates kept. */
export type HeaderField = readonly [name: string, value: string];

/**
 * The opening handshake failed. On the server, `status` is the HTTP status sent back; on the client,
 * `status` is the status received (0 when no valid status line arrived), with its headers and body.
 */
export class HandshakeError extends WebSocketError {
  override readonly name = 'HandshakeError';
  declare readonly code: HandshakeErrorCode;
  /** The HTTP status sent (server) or received (client; 0 when no valid status line arrived). */
  declare readonly status: number;
  /** The response's header fields (client), else empty. */
  declare readonly headers: readonly HeaderField[];
  /** The response's body (client), else empty. */
  declare readonly body: Uint8Array;
  constructor(
    code: HandshakeErrorCode,
    status: number,
    message: string,
    headers: readonly HeaderField[] = [],
    body: Uint8Array = new Uint8Array(0),
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/** Stable codes of {@link UsageError}. */
export type UsageErrorCode = 'INVALID_STATE' | 'INVALID_ARGUMENT';

/** The local caller misused the API: a command in the wrong state, or a bad argument. */
export class UsageError extends WebSocketError {
  override readonly name = 'UsageError';
  declare readonly code: UsageErrorCode;
  constructor(code: UsageErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * `new UsageError('INVALID_ARGUMENT', message)`, or with `'INVALID_STATE'`: one short call for the many
 * argument and state checks, which keeps the minified core small. Not exported from the package.
 * @internal
 */
export function usageError(message: string, code: UsageErrorCode = 'INVALID_ARGUMENT'): UsageError {
  return new UsageError(code, message);
}
