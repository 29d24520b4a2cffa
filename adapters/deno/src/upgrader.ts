/**
 * The Deno Upgrader: the runtime-neutral one with Deno's timers, the zlib codec for compression (Deno ships
 * `node:zlib`), and `upgradeConn` for a connection of your own `Deno.listen`.
 *
 * @module
 */

import {
  type Conn,
  Upgrader as ConnUpgrader,
  type UpgraderOptions as ConnUpgraderOptions,
} from '@sansws/conn';
import { serverCompression, type ZlibClientCompression, type ZlibServerCompression } from '@sansws/zlib';
import { denoTimers } from './timers.ts';
import { DenoTransport, frames, messages } from './transport.ts';

/** Server compression on Deno: the core's options, with the codec defaulting to `zlibCodec`. */
export type DenoServerCompression = ZlibServerCompression;
/** Client compression on Deno: the core's options, with the codec defaulting to `zlibCodec`. */
export type DenoClientCompression = ZlibClientCompression;

/** Options of the Deno {@link Upgrader}: those of `@sansws/conn`'s, with Deno defaults filled in. */
export interface UpgraderOptions extends Omit<ConnUpgraderOptions, 'timers' | 'compression'> {
  /** Time source. Default: `performance.now()` and unref'd timers. */
  readonly timers?: ConnUpgraderOptions['timers'];
  /**
   * permessage-deflate: `true` for the defaults over `node:zlib`, options (codec optional), or `false`.
   * Default `false` (see `@sansws/conn`'s `UpgraderOptions.compression` for why).
   */
  readonly compression?: boolean | DenoServerCompression;
}

/**
 * Server handshake policy and connection settings (gorilla/websocket's `Upgrader`), for {@link listen} and
 * for connections of your own `Deno.listen` ({@link Upgrader.upgradeConn}).
 */
export class Upgrader extends ConnUpgrader {
  constructor(options: UpgraderOptions = {}) {
    // No validateUtf8: Deno's node:buffer isUtf8 is slower than the core's own kernel on non-ASCII text
    // (docs/core.md), so received text is validated by the core.
    super({
      allocateFrame: frames.allocate,
      releaseFrame: frames.release,
      allocate: messages.allocate,
      releaseMessage: messages.release,
      releaseDecodedText: false,
      ...options,
      timers: options.timers ?? denoTimers,
      compression: serverCompression(options.compression),
    });
  }

  /** Runs the whole handshake on a connection of your own `Deno.listen`: see `upgradeTransport`. */
  upgradeConn(conn: Deno.Conn): Promise<Conn> {
    return this.upgradeTransport(new DenoTransport(conn));
  }
}
