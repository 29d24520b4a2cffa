/**
 * The events a connection produces, one discriminated union. Take them with `takeEvents()`.
 */

import type { WebSocketError } from './errors.ts';
import type { HttpRequest, HttpResponse } from './http.ts';

/** Server: a complete handshake request arrived; answer with `accept()` or `reject()`. */
export interface RequestEvent {
  readonly type: 'request';
  readonly request: HttpRequest;
}
/** Client: a complete handshake response arrived (followed by `open`, or by `closed` if it was refused). */
export interface ResponseEvent {
  readonly type: 'response';
  readonly response: HttpResponse;
}
/** The opening handshake completed. */
export interface OpenEvent {
  readonly type: 'open';
  /** The negotiated subprotocol, or null. */
  readonly subprotocol: string | null;
  /** The negotiated `Sec-WebSocket-Extensions` value, or null. */
  readonly extensions: string | null;
}
/**
 * A whole text message (not in streaming mode). `data` is decoded on first access (then cached); `bytes`
 * is the message as received, valid UTF-8. The event is a class instance whose `data` and `bytes` are
 * getters: spread or deep-compare it through `data` (`toJSON()` gives `{ type, data }`).
 */
export interface TextEvent {
  readonly type: 'text';
  readonly data: string;
  readonly bytes: Uint8Array;
}
/** A whole binary message (not in streaming mode). The receiver owns `data`. */
export interface BinaryEvent {
  readonly type: 'binary';
  readonly data: Uint8Array;
}
/** Streaming mode: a message starts. Chunks follow, then `messageEnd`. */
export interface MessageStartEvent {
  readonly type: 'messageStart';
  readonly messageType: 'text' | 'binary';
  /** The message was sent compressed (RFC 7692). */
  readonly compressed: boolean;
}
/**
 * Streaming mode: a piece of the current message, decompressed. For text it is UTF-8 that is valid so
 * far, but a piece may end inside a multi-byte sequence.
 */
export interface MessageChunkEvent {
  readonly type: 'messageChunk';
  readonly data: Uint8Array;
}
/** Streaming mode: the current message is complete and valid. */
export interface MessageEndEvent {
  readonly type: 'messageEnd';
}
/** A ping arrived. The engine has already answered it with a pong unless `autoPong` is off. */
export interface PingEvent {
  readonly type: 'ping';
  readonly data: Uint8Array;
}
/** A pong arrived. `rtt` is set (in the caller's time unit) when it answers a ping this engine sent. */
export interface PongEvent {
  readonly type: 'pong';
  readonly data: Uint8Array;
  readonly rtt: number | undefined;
}
/** A close frame arrived (the engine echoes it). `code` is 1005 when the frame had no status code. */
export interface CloseEvent {
  readonly type: 'close';
  readonly code: number;
  readonly reason: string;
}
/**
 * The connection is closed; always the last event. `code` is the close code received (1005: none), the
 * code we failed with, or 1006 when the transport dropped without a closing handshake. `clean` tells a
 * completed closing handshake from anything else; `error` is what caused an unclean close, if anything.
 */
export interface ClosedEvent {
  readonly type: 'closed';
  readonly code: number;
  readonly reason: string;
  readonly clean: boolean;
  readonly error: WebSocketError | undefined;
}

/** Every event a connection can produce. */
export type WebSocketEvent =
  | RequestEvent
  | ResponseEvent
  | OpenEvent
  | TextEvent
  | BinaryEvent
  | MessageStartEvent
  | MessageChunkEvent
  | MessageEndEvent
  | PingEvent
  | PongEvent
  | CloseEvent
  | ClosedEvent;
