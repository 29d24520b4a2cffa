/**
 * `dial` on node: node:net / node:tls connections, proxies from the environment, zlib compression.
 *
 * @module
 */

import { isUtf8 } from 'node:buffer';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type ConnectTarget,
  dial as connDial,
  type DialOptions as ConnDialOptions,
  type DialResult,
  proxyFromEnv,
  type Transport,
} from '@sansws/conn';
import { nativeMask } from './bufferutil.ts';
import { nodeTimers } from './timers.ts';
import { messages, NodeTransport, tlsOptions } from './transport.ts';
import { clientCompression } from '@sansws/zlib';
import type { NodeClientCompression } from './upgrader.ts';

/** Options of the node {@link dial}. */
export interface DialOptions extends Omit<ConnDialOptions, 'connect' | 'timers' | 'compression' | 'proxy'> {
  /** How to connect. Default: node:net, or node:tls for `wss://`. */
  readonly connect?: ConnDialOptions['connect'];
  /** Time source. Default: `performance.now()` and unref'd node timers. */
  readonly timers?: ConnDialOptions['timers'];
  /** permessage-deflate: `true` for the defaults over node's zlib, options (codec optional), or `false` (default). */
  readonly compression?: boolean | NodeClientCompression;
  /**
   * An HTTP(S) CONNECT proxy URL (`http://user:pass@proxy:3128`), or `null` for none. Default: from the
   * environment (`https_proxy` / `HTTPS_PROXY` for `wss://`, `http_proxy` / `HTTP_PROXY` for `ws://`),
   * unless `no_proxy` / `NO_PROXY` matches the host.
   */
  readonly proxy?: string | null;
}

/** Connects with node:net, or node:tls when `target.tls` is set. */
export function connect(target: ConnectTarget): Promise<Transport> {
  return new Promise<Transport>((resolve, reject) => {
    const socket = target.tls === null
      ? netConnect({ host: target.hostname, port: target.port })
      : tlsConnect({ host: target.hostname, port: target.port, ...tlsOptions(target.tls) });
    const ready = target.tls === null ? 'connect' : 'secureConnect';
    const cleanup = (): void => {
      socket.off('error', onError);
      socket.off(ready, onReady);
      target.signal.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      resolve(new NodeTransport(socket));
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(target.signal.reason);
    };
    socket.once(ready, onReady);
    socket.once('error', onError);
    target.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Opens a WebSocket connection (`ws://` or `wss://`), directly or through an HTTP(S) CONNECT proxy, and
 * resolves with the connection and the server's response. See `@sansws/conn`'s `dial` for the errors.
 */
export function dial(url: string, options: DialOptions = {}): Promise<DialResult> {
  let proxy: string | null;
  try {
    proxy = options.proxy !== undefined ? options.proxy : proxyFromEnv(url, process.env);
  } catch (error) {
    return Promise.reject(error);
  }
  return connDial(url, {
    validateUtf8: isUtf8,
    allocate: messages.allocate,
    releaseMessage: messages.release,
    releaseDecodedText: false,
    mask: nativeMask(),
    ...options,
    connect: options.connect ?? connect,
    timers: options.timers ?? nodeTimers,
    compression: clientCompression(options.compression),
    proxy,
  });
}
