/**
 * @module
 * `@sansws/conn`: runtime-neutral WebSocket connections over a small {@link Transport} interface, in
 * gorilla/websocket's shape: an {@link Upgrader} (server), {@link dial} (client) and {@link Conn} (whole and
 * streamed messages, backpressure both ways, pings with round-trip times, typed close errors), plus
 * {@link PreparedMessage} and {@link broadcast}. Runtime adapters (`@sansws/node`, …) implement `Transport`
 * and `Timers` and re-export this API.
 */

export { Conn } from './conn.ts';
export type {
  CallOptions,
  CloseHandler,
  CloseInfo,
  ConnInit,
  ConnOptions,
  ConnSettings,
  Message,
  MessageBytes,
  MessageHandler,
  MessageReader,
  MessageType,
  MessageWriter,
  PingHandler,
  PongHandler,
  WriteOptions,
} from './conn.ts';
export { connOpened, connSettings } from './conn.ts';
export { CloseError, ConnError } from './errors.ts';
export type { CloseErrorCode, ConnErrorCode } from './errors.ts';
export { broadcast, PreparedMessage } from './prepared.ts';
export type { BroadcastOptions, BroadcastResult, SlowConsumerPolicy } from './prepared.ts';
export { readRequestHead, Upgrader } from './upgrader.ts';
export type {
  ReadRequestHeadOptions,
  Refusal,
  RequestHead,
  ShutdownOptions,
  UpgraderOptions,
} from './upgrader.ts';
export { dial, proxyFromEnv } from './dialer.ts';
export type { Connect, ConnectTarget, DialOptions, DialResult } from './dialer.ts';
export { BufferPool } from './buffer-pool.ts';
export { FrameRing } from './frame-ring.ts';
export { serveTransport } from './serve.ts';
export type { FetchResponseLike, ServeTransportOptions } from './serve.ts';
export type {
  ClientTlsOptions,
  NetAddress,
  TimerHandle,
  Timers,
  Transport,
  TransportHandler,
} from './transport.ts';
export type { AbortSignalLike } from './web.ts';
