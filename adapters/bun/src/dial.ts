/**
 * `dial` on Bun: `Bun.connect` (plain or TLS), proxies from the environment, zlib compression.
 *
 * @module
 */

import { isUtf8 } from 'node:buffer';
import {
  type ConnectTarget,
  dial as connDial,
  type DialOptions as ConnDialOptions,
  type DialResult,
  proxyFromEnv,
  type Transport,
} from '@sansws/conn';
import { nativeMask } from './bufferutil.ts';
import { bunTimers } from './timers.ts';
import { type BunSocketData, bunTlsOptions, BunTransport, frames, messages } from './transport.ts';
import { clientCompression } from '@sansws/zlib';
import type { BunClientCompression } from './upgrader.ts';

/** Options of the Bun {@link dial}. */
export interface DialOptions extends Omit<ConnDialOptions, 'connect' | 'timers' | 'compression' | 'proxy'> {
  /** How to connect. Default: `Bun.connect`, with TLS for `wss://`. */
  readonly connect?: ConnDialOptions['connect'];
  /** Time source. Default: `performance.now()` and unref'd timers. */
  readonly timers?: ConnDialOptions['timers'];
  /** permessage-deflate: `true` for the defaults over `node:zlib`, options (codec optional), or `false` (default). */
  readonly compression?: boolean | BunClientCompression;
  /**
   * An HTTP(S) CONNECT proxy URL (`http://user:pass@proxy:3128`), or `null` for none. Default: from the
   * environment (`https_proxy` / `HTTPS_PROXY` for `wss://`, `http_proxy` / `HTTP_PROXY` for `ws://`),
   * unless `no_proxy` / `NO_PROXY` matches the host.
   */
  readonly proxy?: string | null;
}

/**
 * Connects with `Bun.connect`, with TLS when `target.tls` is set. Resolves once the connection is ready:
 * for TLS, after the handshake verified the server's certificate (Bun itself only reports a failed
 * verification; we refuse it unless `rejectUnauthorized` is false).
 */
export function connect(target: ConnectTarget): Promise<Transport> {
  return new Promise<Transport>((resolve, reject) => {
    let settled = false;
    let pending: Awaited<ReturnType<typeof Bun.connect<BunSocketData>>> | undefined;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      pending?.terminate();
      reject(target.signal.reason);
    };
    const data: BunSocketData = {
      transport: null,
      verify: target.tls === null ? undefined : target.tls.rejectUnauthorized !== false,
      ready: (socket, error) => {
        target.signal.removeEventListener('abort', onAbort);
        if (settled) {
          socket.terminate();
          return;
        }
        settled = true;
        if (error !== null) reject(error);
        else resolve(new BunTransport(socket));
      },
    };
    target.signal.addEventListener('abort', onAbort, { once: true });
    Bun.connect<BunSocketData>({
      hostname: target.hostname,
      port: target.port,
      allowHalfOpen: true,
      data,
      socket: BunTransport.clientHandler,
      ...(target.tls !== null ? { tls: bunTlsOptions(target.tls) } : {}),
    }).then(
      (socket) => {
        pending = socket;
        if (settled && data.transport === null) socket.terminate();
      },
      (error: unknown) => {
        if (data.ready === undefined) return;
        data.ready = undefined;
        target.signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        reject(error);
      },
    );
  });
}

/**
 * Opens a WebSocket connection (`ws://` or `wss://`), directly or through an HTTP(S) CONNECT proxy, and
 * resolves with the connection and the server's response. See `@sansws/conn`'s `dial` for the errors.
 */
export function dial(url: string, options: DialOptions = {}): Promise<DialResult> {
  let proxy: string | null;
  try {
    proxy = options.proxy !== undefined ? options.proxy : proxyFromEnv(url, Bun.env);
  } catch (error) {
    return Promise.reject(error);
  }
  return connDial(url, {
    validateUtf8: isUtf8,
    allocate: messages.allocate,
    releaseMessage: messages.release,
    allocateFrame: frames.allocate,
    releaseFrame: frames.release,
    mask: nativeMask(),
    ...options,
    connect: options.connect ?? connect,
    timers: options.timers ?? bunTimers,
    compression: clientCompression(options.compression),
    proxy,
  });
}
