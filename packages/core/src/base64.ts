/**
 * Base64 (RFC 4648 §4, the standard alphabet with padding), synchronous and dependency-free.
 *
 * The handshake needs it twice: to check that Sec-WebSocket-Key is the base64 of 16 bytes and to write
 * Sec-WebSocket-Accept (RFC 6455 §4.2.1, §4.2.2). `atob`/`btoa` work on Latin-1 strings and are not in
 * the core's type environment, and a header check wants a decoder that says "malformed" rather than one
 * that skips whitespace and forgives missing padding, so both directions are written here.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='

/** Six-bit value of each ASCII character, or -1 for characters outside the alphabet (including '='). */
const VALUES: Int8Array = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes `bytes` as base64 with the standard alphabet and `=` padding (RFC 4648 §4).
 */
export function encodeBase64(bytes: Uint8Array): string {
  let text = '';
  const whole = bytes.length - (bytes.length % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  if (bytes.length - whole === 1) {
    const n = bytes[i]! << 16;
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + '==';
  } else if (bytes.length - whole === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + '=';
  }
  return text;
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
  if (text.length % 4 !== 0) return null;
  const padding = text.length === 0
    ? 0
    : text.charCodeAt(text.length - 1) !== PAD
    ? 0
    : text.charCodeAt(text.length - 2) !== PAD
    ? 1
    : 2;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  const dataChars = text.length - padding;
  let n = 0;
  let j = 0;
  for (let i = 0; i < dataChars; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? VALUES[code]! : -1;
    if (value < 0) return null;
    n = (n << 6) | value;
    if ((i & 3) === 3) {
      bytes[j++] = n >>> 16;
      bytes[j++] = (n >>> 8) & 0xff;
      bytes[j++] = n & 0xff;
      n = 0;
    }
  }
  if (padding === 1) {
    // Three characters carry 18 bits for 2 bytes; the last 2 bits must be zero.
    if ((n & 0x3) !== 0) return null;
    bytes[j++] = n >>> 10;
    bytes[j++] = (n >>> 2) & 0xff;
  } else if (padding === 2) {
    // Two characters carry 12 bits for 1 byte; the last 4 bits must be zero.
    if ((n & 0xf) !== 0) return null;
    bytes[j++] = n >>> 4;
  }
  return bytes;
}
