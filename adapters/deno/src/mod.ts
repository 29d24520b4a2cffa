/**
 * @module
 * `@sansws/deno`: sansws on Deno. `Deno.listen` / `Deno.connect` connections (and their TLS forms) as
 * transports, an {@link Upgrader}, a standalone {@link listen}er that serves WebSocket and plain HTTP on one
 * port, and {@link dial} for `ws://` and `wss://` (proxies from the environment). Behaviour is that of
 * `@sansws/node`: the engine and the connection layer are shared. The runtime-neutral API of
 * `@sansws/conn` is re-exported, so that applications import only this package.
 *
 * Permissions: `--allow-net`; `--allow-read` only to read TLS files; `--allow-env` (for the proxy
 * variables) only to take the proxy from the environment.
 */

export { Upgrader } from './upgrader.ts';
export type { DenoClientCompression, DenoServerCompression, UpgraderOptions } from './upgrader.ts';
export { connect, dial, proxyEnv } from './dial.ts';
export type { DialOptions } from './dial.ts';
export { listen } from './listen.ts';
export type { Listener, ListenOptions, ListenTlsOptions } from './listen.ts';
export { DenoTransport } from './transport.ts';
export { denoTimers } from './timers.ts';
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
