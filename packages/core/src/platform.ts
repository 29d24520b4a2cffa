/**
 * The few universal Web APIs the core uses (available on Node ≥ 18, Bun, Deno and browsers), typed
 * locally so that the core compiles with no DOM, node, bun or deno type library.
 */

interface TextDecoderLike {
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
interface TextEncoderLike {
  encode(input: string): Uint8Array;
  encodeInto(input: string, dest: Uint8Array): { read: number; written: number };
}

const web = globalThis as unknown as {
  TextDecoder: new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }) => TextDecoderLike;
  TextEncoder: new () => TextEncoderLike;
  crypto: { getRandomValues<T extends Uint8Array>(array: T): T };
  atob(text: string): string;
  btoa(latin1: string): string;
};

/** Creates a UTF-8 decoder that keeps a byte-order mark (WebSocket text is not BOM-stripped). */
export function createUtf8Decoder(fatal = false): TextDecoderLike {
  return new web.TextDecoder('utf-8', { fatal, ignoreBOM: true });
}

export const utf8Decoder: TextDecoderLike = createUtf8Decoder();
export const utf8Encoder: TextEncoderLike = new web.TextEncoder();

/** Fills `array` with cryptographically strong random bytes. */
export function getRandomValues(array: Uint8Array): void {
  web.crypto.getRandomValues(array);
}

/** `atob`: base64 to a Latin-1 string (WHATWG forgiving-base64: lenient; throws on invalid input). */
export function atob(text: string): string {
  return web.atob(text);
}

/** `btoa`: a Latin-1 string to base64 with padding. */
export function btoa(latin1: string): string {
  return web.btoa(latin1);
}
