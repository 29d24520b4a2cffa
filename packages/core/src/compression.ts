/**
 * Glue between the handshake and permessage-deflate (RFC 7692): turns the compression options of a
 * connection into the handshake's extension hooks, and the agreed parameters into the transform the
 * engine uses.
 */

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

/** The server's `negotiateExtensions` hook for these options. */
export function serverExtensionHook(
  options: ServerCompressionOptions,
): (values: readonly string[], request: HttpRequest) => { header: string | null; result: unknown } {
  return (values, request) => {
    const agreed = negotiateDeflate(values, options, request);
    return agreed === null
      ? { header: null, result: null }
      : { header: agreed.header, result: agreed.params };
  };
}

/** The client's offer and response check for these options. */
export function clientExtensionHooks(
  options: ClientCompressionOptions,
): { header: string; accept: (values: readonly string[]) => unknown } {
  return { header: deflateOfferHeader(options), accept: (values) => acceptDeflateResponse(values, options) };
}

/** The transform for agreed parameters (as returned by the hooks), or null when compression is off. */
export function createCompressor(
  agreed: unknown,
  role: 'server' | 'client',
  options: ServerCompressionOptions | ClientCompressionOptions | undefined,
): PerMessageDeflate | null {
  if (agreed === null || agreed === undefined || options === undefined) return null;
  return new PerMessageDeflate(agreed as DeflateParams, role, options.codec, options);
}
