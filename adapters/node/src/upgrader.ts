/**
 * The node Upgrader: the runtime-neutral one with node's timers, a zlib codec for compression, and
 * `upgrade(req, socket, head)` for node:http / node:https `'upgrade'` events.
 *
 * @module
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import {
  type Conn,
  Upgrader as ConnUpgrader,
  type UpgraderOptions as ConnUpgraderOptions,
} from '@sansws/conn';
import type { HeaderField, HttpRequest } from '@sansws/core';
import { serverCompression, type ZlibClientCompression, type ZlibServerCompression } from '@sansws/zlib';
import { nativeMask } from './bufferutil.ts';
import { nodeTimers } from './timers.ts';
import { messages, NodeTransport } from './transport.ts';

/** Server compression on Node: the core's options, with the codec defaulting to `zlibCodec`. */
export type NodeServerCompression = ZlibServerCompression;
/** Client compression on Node: the core's options, with the codec defaulting to `zlibCodec`. */
export type NodeClientCompression = ZlibClientCompression;

/** Options of the node {@link Upgrader}: those of `@sansws/conn`'s, with node defaults filled in. */
export interface UpgraderOptions extends Omit<ConnUpgraderOptions, 'timers' | 'compression'> {
  /** Time source. Default: `performance.now()` and unref'd node timers. */
  readonly timers?: ConnUpgraderOptions['timers'];
  /**
   * permessage-deflate: `true` for the defaults over node's zlib, options (codec optional), or `false`.
   * Default `false` (see `@sansws/conn`'s `UpgraderOptions.compression` for why).
   */
  readonly compression?: boolean | NodeServerCompression;
}

/**
 * Server handshake policy and connection settings (gorilla/websocket's `Upgrader`), for node:http
 * `'upgrade'` events ({@link Upgrader.upgrade}), raw sockets and {@link listen}.
 */
export class Upgrader extends ConnUpgrader {
  constructor(options: UpgraderOptions = {}) {
    super({
      validateUtf8: isUtf8,
      allocate: messages.allocate,
      releaseMessage: messages.release,
      releaseDecodedText: false,
      mask: nativeMask(),
      ...options,
      timers: options.timers ?? nodeTimers,
      compression: serverCompression(options.compression),
    });
  }

  /**
   * Completes a WebSocket handshake from a node:http or node:https server's `'upgrade'` event:
   * `server.on('upgrade', (req, socket, head) => upgrader.upgrade(req, socket, head).then(...))`. A refused
   * handshake is answered (and the socket closed) before the promise rejects with the core's
   * `HandshakeError`.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Uint8Array = new Uint8Array(0)): Promise<Conn> {
    const transport = new NodeTransport(socket);
    // The head is a view of node's parser buffer; the engine unmasks in place, so it gets a copy.
    return this.upgradeParsedRequest(
      toHttpRequest(req),
      transport,
      head.length > 0 ? head.slice() : undefined,
    );
  }

  /** Runs the whole handshake on a raw node socket (no node:http): see `upgradeTransport`. */
  upgradeSocket(socket: Duplex): Promise<Conn> {
    return this.upgradeTransport(new NodeTransport(socket));
  }
}

/** node:http's parsed request as the core's `HttpRequest` (raw header names and order kept). */
export function toHttpRequest(req: IncomingMessage): HttpRequest {
  const headers: HeaderField[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  return { method: req.method ?? 'GET', target: req.url ?? '/', version: `HTTP/${req.httpVersion}`, headers };
}
