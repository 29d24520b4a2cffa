/**
 * The Bun Upgrader: the runtime-neutral one with Bun's timers, the zlib codec for compression (Bun ships
 * `node:zlib`), and `upgradeSocket` for a socket of your own `Bun.listen`.
 *
 * @module
 */

import { isUtf8 } from 'node:buffer';
import {
  type Conn,
  Upgrader as ConnUpgrader,
  type UpgraderOptions as ConnUpgraderOptions,
} from '@sansws/conn';
import { serverCompression, type ZlibClientCompression, type ZlibServerCompression } from '@sansws/zlib';
import { nativeMask } from './bufferutil.ts';
import { bunTimers } from './timers.ts';
import { type BunTransport, frames, messages } from './transport.ts';

/** Server compression on Bun: the core's options, with the codec defaulting to `zlibCodec`. */
export type BunServerCompression = ZlibServerCompression;
/** Client compression on Bun: the core's options, with the codec defaulting to `zlibCodec`. */
export type BunClientCompression = ZlibClientCompression;

/** Options of the Bun {@link Upgrader}: those of `@sansws/conn`'s, with Bun defaults filled in. */
export interface UpgraderOptions extends Omit<ConnUpgraderOptions, 'timers' | 'compression'> {
  /** Time source. Default: `performance.now()` and unref'd timers. */
  readonly timers?: ConnUpgraderOptions['timers'];
  /**
   * permessage-deflate: `true` for the defaults over `node:zlib`, options (codec optional), or `false`.
   * Default `false` (see `@sansws/conn`'s `UpgraderOptions.compression` for why).
   */
  readonly compression?: boolean | BunServerCompression;
}

/**
 * Server handshake policy and connection settings (gorilla/websocket's `Upgrader`), for {@link listen} and
 * for sockets of your own `Bun.listen` ({@link Upgrader.upgradeSocket}).
 */
export class Upgrader extends ConnUpgrader {
  constructor(options: UpgraderOptions = {}) {
    super({
      validateUtf8: isUtf8,
      allocate: messages.allocate,
      releaseMessage: messages.release,
      allocateFrame: frames.allocate,
      releaseFrame: frames.release,
      mask: nativeMask(),
      ...options,
      timers: options.timers ?? bunTimers,
      compression: serverCompression(options.compression),
    });
  }

  /** Runs the whole handshake on an accepted socket's transport: see `upgradeTransport`. */
  upgradeSocket(transport: BunTransport): Promise<Conn> {
    return this.upgradeTransport(transport);
  }
}
