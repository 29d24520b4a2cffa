/**
 * @module
 * `@sansws/core/deflate`: permessage-deflate (RFC 7692) for the engine, kept out of the main entry so
 * that a program which never compresses does not load or bundle it.
 *
 * ```ts
 * import { ServerConnection } from '@sansws/core';
 * import { serverPerMessageDeflate } from '@sansws/core/deflate';
 * import { zlibCodec } from '@sansws/zlib';
 *
 * const server = new ServerConnection({ compression: serverPerMessageDeflate({ codec: zlibCodec }) });
 * ```
 */

import type { ClientCompression, ServerCompression } from './compression.ts';
import {
  acceptDeflateResponse,
  type DeflateCodec,
  deflateOfferHeader,
  type DeflateOptions,
  type DeflateParams,
  negotiateDeflate,
  PerMessageDeflate,
  type ServerDeflateOptions,
} from './deflate.ts';
import type { HttpRequest } from './http.ts';

/** Server compression: permessage-deflate settings, the per-request policy, and the codec to use. */
export interface ServerCompressionOptions extends ServerDeflateOptions<HttpRequest> {
  /** The DEFLATE implementation (e.g. `zlibCodec` from `@sansws/zlib`). */
  readonly codec: DeflateCodec;
}

/** Client compression: what to offer, and the codec to use. */
export interface ClientCompressionOptions extends DeflateOptions {
  /** The DEFLATE implementation (e.g. `zlibCodec` from `@sansws/zlib`). */
  readonly codec: DeflateCodec;
}

/**
 * A server's permessage-deflate (RFC 7692 §7): accepts the first offer its settings can honour and
 * compresses with `options.codec`. Pass it as `ServerConnectionOptions.compression`.
 */
export function serverPerMessageDeflate(options: ServerCompressionOptions): ServerCompression {
  return {
    negotiate: (values, request) => {
      const agreed = negotiateDeflate(values, options, request);
      return agreed === null
        ? { header: null, result: null }
        : { header: agreed.header, result: agreed.params };
    },
    compressor: (agreed) => new PerMessageDeflate(agreed as DeflateParams, 'server', options.codec, options),
  };
}

/**
 * A client's permessage-deflate (RFC 7692 §7): offers what `options` ask for, checks the server's answer
 * against the offer, and compresses with `options.codec`. Pass it as `ClientConnectionOptions.compression`.
 */
export function clientPerMessageDeflate(options: ClientCompressionOptions): ClientCompression {
  return {
    offer: deflateOfferHeader(options),
    accept: (values) => acceptDeflateResponse(values, options),
    compressor: (agreed) => new PerMessageDeflate(agreed as DeflateParams, 'client', options.codec, options),
  };
}

export type { ClientCompression, ServerCompression } from './compression.ts';
export type {
  DeflateCodec,
  DeflateOptions,
  Deflater,
  DeflaterOptions,
  Inflater,
  InflaterOptions,
  InflateStatus,
  ServerDeflateOptions,
} from './deflate.ts';
