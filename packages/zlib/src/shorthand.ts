/**
 * The `compression` shorthand every adapter accepts: `true` for permessage-deflate with its defaults over
 * this codec, the core's options with the codec left out, or `false`. One place, so that `@sansws/node`,
 * `@sansws/bun` and `@sansws/deno` read the option identically.
 */

import type { ClientCompressionOptions, DeflateCodec, ServerCompressionOptions } from '@sansws/core/deflate';
import { zlibCodec } from './mod.ts';

/** Server compression: the core's options, with the codec defaulting to `zlibCodec`. */
export type ZlibServerCompression = Omit<ServerCompressionOptions, 'codec'> & {
  readonly codec?: DeflateCodec;
};
/** Client compression: the core's options, with the codec defaulting to `zlibCodec`. */
export type ZlibClientCompression = Omit<ClientCompressionOptions, 'codec'> & {
  readonly codec?: DeflateCodec;
};

/** `true` / options without a codec → the core's server options with `zlibCodec`; off → `false`. */
export function serverCompression(
  value: boolean | ZlibServerCompression | undefined,
): ServerCompressionOptions | false {
  if (value === undefined || value === false) return false;
  if (value === true) return { codec: zlibCodec };
  return { ...value, codec: value.codec ?? zlibCodec };
}

/** `true` / options without a codec → the core's client options with `zlibCodec`; off → `false`. */
export function clientCompression(
  value: boolean | ZlibClientCompression | undefined,
): ClientCompressionOptions | false {
  if (value === undefined || value === false) return false;
  if (value === true) return { codec: zlibCodec };
  return { ...value, codec: value.codec ?? zlibCodec };
}
