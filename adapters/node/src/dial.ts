/**
 * `dial` on node: node:net / node:tls connections, proxies from the environment, zlib compression.
 *
 * @module
 */

import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  type ConnectTarget,
  dial as connDial,
  type DialOptions as ConnDialOptions,
  type DialResult,
  type Transport,
} from '@sansws/conn';
import { parseWebSocketUrl } from '@sansws/core';
import { nodeTimers } from './timers.ts';
import { NodeTransport, tlsOptions } from './transport.ts';
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
 * The proxy for `url` per the environment conventions of curl and most HTTP clients: `https_proxy` /
 * `HTTPS_PROXY` (falling back to the http ones) for `wss://`, `http_proxy` / `HTTP_PROXY` for `ws://`; `null`
 * when none is set or `no_proxy` / `NO_PROXY` lists the host (`*`, a host, a `.domain` or `domain` suffix,
 * optionally with `:port`).
 */
export function proxyFromEnv(url: string, env: Readonly<Record<string, string | undefined>>): string | null {
  const target = parseWebSocketUrl(url);
  const pick = (...names: string[]): string | undefined =>
    names.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const proxy = target.secure
    ? pick('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY')
    : pick('http_proxy', 'HTTP_PROXY');
  if (proxy === undefined) return null;
  const host = target.hostname.toLowerCase();
  for (const raw of (pick('no_proxy', 'NO_PROXY') ?? '').split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return null;
    let port: number | undefined;
    const withPort = /^(.*):(\d+)$/.exec(entry);
    if (
      withPort !== null && !entry.endsWith(']') && (withPort[1]!.includes(']') || !withPort[1]!.includes(':'))
    ) {
      entry = withPort[1]!;
      port = Number(withPort[2]);
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (port !== undefined && port !== target.port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return null;
  }
  return proxy;
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
    ...options,
    connect: options.connect ?? connect,
    timers: options.timers ?? nodeTimers,
    compression: clientCompression(options.compression),
    proxy,
  });
}
