/**
 * `dial` on Deno: `Deno.connect` / `Deno.connectTls` (or `Deno.startTls` when the certificate name differs
 * from the host), proxies from the environment, zlib compression.
 *
 * Permissions: `--allow-net` for the hosts dialled (and the proxy); reading the proxy from the environment
 * needs `--allow-env` for those variables, and without it no proxy is used (never a permission prompt).
 *
 * @module
 */

import {
  type ConnectTarget,
  dial as connDial,
  type DialOptions as ConnDialOptions,
  type DialResult,
  proxyFromEnv,
  type Transport,
} from '@sansws/conn';
import { denoTimers } from './timers.ts';
import { denoTlsOptions, DenoTransport, frames, messages } from './transport.ts';
import { clientCompression } from '@sansws/zlib';
import type { DenoClientCompression } from './upgrader.ts';

/** Options of the Deno {@link dial}. */
export interface DialOptions extends Omit<ConnDialOptions, 'connect' | 'timers' | 'compression' | 'proxy'> {
  /** How to connect. Default: `Deno.connect`, or TLS for `wss://`. */
  readonly connect?: ConnDialOptions['connect'];
  /** Time source. Default: `performance.now()` and unref'd timers. */
  readonly timers?: ConnDialOptions['timers'];
  /** permessage-deflate: `true` for the defaults over `node:zlib`, options (codec optional), or `false` (default). */
  readonly compression?: boolean | DenoClientCompression;
  /**
   * An HTTP(S) CONNECT proxy URL (`http://user:pass@proxy:3128`), or `null` for none. Default: from the
   * environment (`https_proxy` / `HTTPS_PROXY` for `wss://`, `http_proxy` / `HTTP_PROXY` for `ws://`),
   * unless `no_proxy` / `NO_PROXY` matches the host; variables we may not read count as unset.
   */
  readonly proxy?: string | null;
}

/**
 * Connects with `Deno.connect`, or TLS when `target.tls` is set (`Deno.connectTls`, or `Deno.connect` and
 * `Deno.startTls` when the certificate name is not the host). Resolves once the TLS handshake verified the
 * server's certificate.
 */
export async function connect(target: ConnectTarget): Promise<Transport> {
  const signal = target.signal;
  if (signal.aborted) throw signal.reason;
  let conn: Deno.Conn | undefined;
  let aborted = false;
  let rejectAbort!: (reason: unknown) => void;
  const abortion = new Promise<never>((_, reject) => (rejectAbort = reject));
  abortion.catch(() => {});
  const onAbort = (): void => {
    aborted = true;
    try {
      conn?.close();
    } catch {
      // already closed
    }
    rejectAbort(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const settle = async <T>(promise: Promise<T>): Promise<T> => {
    try {
      return await Promise.race([promise, abortion]);
    } catch (error) {
      if (aborted) {
        // The operation may still complete: close what it opens.
        promise.then((late) => (late as { close?: () => void })?.close?.(), () => {});
      }
      throw error;
    }
  };
  try {
    const tls = target.tls;
    if (tls === null) {
      conn = await settle(Deno.connect({ hostname: target.hostname, port: target.port }));
    } else if (tls.servername === target.hostname) {
      conn = await settle(Deno.connectTls({ port: target.port, ...denoTlsOptions(tls) }));
      await settle((conn as Deno.TlsConn).handshake());
    } else {
      const tcp = await settle(Deno.connect({ hostname: target.hostname, port: target.port }));
      conn = tcp;
      conn = await settle(Deno.startTls(tcp, denoTlsOptions(tls)));
      await settle((conn as Deno.TlsConn).handshake());
    }
    return new DenoTransport(conn);
  } catch (error) {
    try {
      conn?.close();
    } catch {
      // already closed
    }
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY'];

/** The proxy variables this process may read (a permission query never prompts). */
export function proxyEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const variable of PROXY_VARIABLES) {
    if (Deno.permissions.querySync({ name: 'env', variable }).state === 'granted') {
      env[variable] = Deno.env.get(variable);
    }
  }
  return env;
}

/**
 * Opens a WebSocket connection (`ws://` or `wss://`), directly or through an HTTP(S) CONNECT proxy, and
 * resolves with the connection and the server's response. See `@sansws/conn`'s `dial` for the errors.
 */
export function dial(url: string, options: DialOptions = {}): Promise<DialResult> {
  let proxy: string | null;
  try {
    proxy = options.proxy !== undefined ? options.proxy : proxyFromEnv(url, proxyEnv());
  } catch (error) {
    return Promise.reject(error);
  }
  return connDial(url, {
    allocateFrame: frames.allocate,
    releaseFrame: frames.release,
    allocate: messages.allocate,
    releaseMessage: messages.release,
    releaseDecodedText: false,
    ...options,
    connect: options.connect ?? connect,
    timers: options.timers ?? denoTimers,
    compression: clientCompression(options.compression),
    proxy,
  });
}
