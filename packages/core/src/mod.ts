/**
 * @module
 * `@sansws/core`: a pure, synchronous, sans-I/O WebSocket protocol engine (RFC 6455).
 *
 * Bytes in, events out; commands in, bytes out. No sockets, timers or runtime globals: the caller feeds
 * received bytes, the current time and (optionally) a random source, and writes what the engine produces.
 * See docs/core.md for the model, the order of calls and buffer ownership. permessage-deflate (RFC 7692) is
 * in `@sansws/core/deflate`, so that it is loaded and bundled only by programs that compress.
 */

export { ServerConnection } from './server.ts';
export type { AcceptOutcome, ServerConnectionOptions } from './server.ts';
export { ClientConnection, parseWebSocketUrl } from './client.ts';
export type { ClientConnectionOptions, WebSocketTarget } from './client.ts';
export { Connection } from './connection.ts';
export { PreparedMessage } from './prepared.ts';
export type { ConnectionOptions, MessageCompressor, SendOptions, TransportAction } from './connection.ts';
export type { ConnectionState } from './states.ts';
export type { Masker } from './mask.ts';
export type {
  BinaryEvent,
  ClosedEvent,
  CloseEvent,
  MessageChunkEvent,
  MessageEndEvent,
  MessageStartEvent,
  OpenEvent,
  PingEvent,
  PongEvent,
  RequestEvent,
  ResponseEvent,
  TextEvent,
  WebSocketEvent,
} from './events.ts';
export { HandshakeError, ProtocolError, UsageError, WebSocketError } from './errors.ts';
export type { HandshakeErrorCode, HeaderField, ProtocolErrorCode, UsageErrorCode } from './errors.ts';
export { acceptRequest, checkSameOrigin, computeAccept, rejectResponse } from './handshake.ts';
export type { AcceptResult, ServerHandshakeOptions } from './handshake.ts';
export { getHeader, getHeaderValues, RequestHeadParser, serializeResponse } from './http.ts';
export type { HttpRequest, HttpResponse } from './http.ts';
export { isValidUtf8, Utf8Validator } from './utf8.ts';
export type { ClientCompression, ServerCompression } from './compression.ts';
