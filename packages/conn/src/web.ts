/**
 * The few universal Web APIs this package uses (Node ≥ 18, Bun, Deno, browsers), typed locally so that it
 * compiles without DOM, node, bun or deno type libraries.
 */

/** The part of the Web `AbortSignal` used here; any real `AbortSignal` fits. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

interface TextDecoderLike {
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
interface TextEncoderLike {
  encode(input: string): Uint8Array;
  encodeInto(input: string, destination: Uint8Array): { read: number; written: number };
}

const web = globalThis as unknown as {
  TextDecoder: new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }) => TextDecoderLike;
  TextEncoder: new () => TextEncoderLike;
  btoa(data: string): string;
};

/** UTF-8 without BOM stripping: WebSocket text keeps a leading U+FEFF. */
export const utf8Decoder: TextDecoderLike = new web.TextDecoder('utf-8', { ignoreBOM: true });
export const utf8Encoder: TextEncoderLike = new web.TextEncoder();

/** Base64 of a Latin-1/ASCII string (basic auth credentials are percent-decoded UTF-8 first). */
export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return web.btoa(binary);
}

/** The reason an aborted signal rejects with: its own `reason`, or a plain AbortError. */
export function abortReason(signal: AbortSignalLike): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error('the operation was aborted');
  error.name = 'AbortError';
  return error;
}

export function concatBytes(pieces: readonly Uint8Array[], length?: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  let total = length ?? 0;
  if (length === undefined) { for (const piece of pieces) total += piece.length; }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
