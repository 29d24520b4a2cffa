/**
 * @module
 * `@sansws/node`: sansws on Node. node:net / node:tls sockets and node:http `'upgrade'` events as
 * transports, an {@link Upgrader} with `upgrade(req, socket, head)`, a standalone {@link listen}er that
 * serves WebSocket and plain HTTP on one port, and {@link dial} for `ws://` and `wss://` (proxies from the
 * environment). The runtime-neutral API of `@sansws/conn` is re-exported, so that applications import
 * only this package.
 */

export { Upgrader } from './upgrader.ts';
export type { NodeClientCompression, NodeServerCompression, UpgraderOptions } from './upgrader.ts';
export { toHttpRequest } from './upgrader.ts';
export { connect, dial } from './dial.ts';
export type { DialOptions } from './dial.ts';
export { listen } from './listen.ts';
export type { Listener, ListenOptions } from './listen.ts';
export { NodeTransport } from './transport.ts';
export { nodeTimers } from './timers.ts';

// The runtime-neutral API, re-exported.
export {
  broadcast,
  CloseError,
  Conn,
  ConnError,
  PreparedMessage,
  proxyFromEnv,
  readRequestHead,
} from '@sansws/conn';
export type {
  BroadcastOptions,
  BroadcastResult,
  CallOptions,
  CloseErrorCode,
  CloseHandler,
  CloseInfo,
  ConnErrorCode,
  ConnOptions,
  DialResult,
  Message,
  MessageBytes,
  MessageHandler,
  MessageReader,
  MessageType,
  MessageWriter,
  PingHandler,
  PongHandler,
  Refusal,
  ShutdownOptions,
  SlowConsumerPolicy,
  Transport,
  WriteOptions,
} from '@sansws/conn';
export { HandshakeError, ProtocolError, UsageError, WebSocketError } from '@sansws/core';
export type { HeaderField, HttpRequest, HttpResponse } from '@sansws/core';
