/**
 * Base64 (RFC 4648 §4, the standard alphabet with padding), synchronous and dependency-free.
 *
 * The handshake needs it twice: to check that Sec-WebSocket-Key is the base64 of 16 bytes and to write
 * Sec-WebSocket-Accept (RFC 6455 §4.2.1, §4.2.2). Both directions use the universal `atob`/`btoa` (on
 * Latin-1 strings, one character per byte); `atob` forgives whitespace and missing padding, so a decoded
 * text is accepted only if it is exactly the canonical encoding of its bytes.
 */

import { atob, btoa } from './platform.ts';

/**
 * Encodes `bytes` as base64 with the standard alphabet and `=` padding (RFC 4648 §4).
 */
export function encodeBase64(bytes: Uint8Array): string {
  let latin1 = '';
  for (const byte of bytes) latin1 += String.fromCharCode(byte);
  return btoa(latin1);
}

/**
 * Decodes strict base64 (RFC 4648 §4): standard alphabet only, length a multiple of four, padding
 * present exactly when needed and only at the end, no whitespace or line breaks (§3.1, §3.3), and the
 * unused bits before the padding zero (§3.5), so that every byte string has exactly one accepted
 * encoding.
 *
 * @returns the decoded bytes, or null if `text` is not canonical base64.
 */
export function decodeBase64(text: string): Uint8Array | null {
  let latin1: string;
  try {
    latin1 = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(latin1.length);
  for (let i = 0; i < latin1.length; i++) bytes[i] = latin1.charCodeAt(i);
  // Every rule above holds exactly when re-encoding gives the same text back.
  return encodeBase64(bytes) === text ? bytes : null;
}
