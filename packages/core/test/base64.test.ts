/**
 * Base64 (RFC 4648 §4), strict, as the opening handshake uses it (RFC 6455 §4.2.1, §4.2.2).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeLatin1, encodeBase64, encodeLatin1 } from '../src/base64.ts';
import { sha1 } from '../src/sha1.ts';
import { runs } from './fc-runs.ts';

const encoder = new TextEncoder();
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('RFC 4648 §10: test vectors', () => {
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('BASE64("%s") = "%s"', (plain, encoded) => {
    expect(encodeBase64(encoder.encode(plain))).toBe(encoded);
    expect(decodeBase64(encoded)).toEqual(encoder.encode(plain));
  });

  it('uses the standard alphabet, with "+" and "/"', () => {
    expect(encodeBase64(Uint8Array.of(0xfb, 0xff, 0xbf))).toBe('+/+/');
    expect(decodeBase64('+/+/')).toEqual(Uint8Array.of(0xfb, 0xff, 0xbf));
  });
});

describe('RFC 6455 §1.3 / §4.2.2: Sec-WebSocket-Accept', () => {
  it('derives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" from the sample key', () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    expect(decodeBase64(key)?.length).toBe(16);
    const accept = encodeBase64(sha1(encoder.encode(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')));
    expect(accept).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('the sample key decodes to "the sample nonce"', () => {
    expect(new TextDecoder().decode(decodeBase64('dGhlIHNhbXBsZSBub25jZQ==')!)).toBe('the sample nonce');
  });
});

describe('RFC 4648 §3: strict decoding returns null for anything malformed', () => {
  it.each([
    ['a length that is not a multiple of four', 'Zm9vYg='],
    ['missing padding', 'Zm9vYg'],
    ['a lone character', 'Z'],
    ['three padding characters', 'Zg==='],
    ['padding only', '===='],
    ['a padded quantum with one data character', 'Z==='],
    ['padding in the middle', 'Zg==Zm9v'],
    ['padding then data in the last quantum', 'Zm=v'],
    ['a space', 'Zm9v Yg=='],
    ['a trailing newline', 'Zm9vYg==\n'],
    ['a CRLF line break (RFC 2045 style)', 'Zm9v\r\nYmFy'],
    ['the URL-safe alphabet', '-_-_'],
    ['a non-ASCII character', 'Zm9é'],
    ['a character that maps to an alphabet entry when truncated to 8 bits', 'Zm9\u0141'],
    ['non-zero bits under a single "="', 'Zm9='],
    ['non-zero bits under "=="', 'Zh=='],
    ['a NUL character', 'Zm9\0'],
  ])('%s: %j', (_, text) => {
    expect(decodeBase64(text)).toBeNull();
  });
});

describe('RFC 4648 §4: properties', () => {
  it('decode(encode(x)) = x', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
      }),
      { numRuns: runs },
    );
  });

  it('encode agrees with Buffer, and decode agrees with Buffer on valid input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        expect(encodeBase64(bytes)).toBe(text);
        expect(decodeBase64(text)).toEqual(new Uint8Array(Buffer.from(text, 'base64')));
      }),
      { numRuns: runs },
    );
  });

  it('accepts exactly the canonical encodings: whatever it decodes re-encodes to the same text', () => {
    // Strings over the alphabet plus "=", so most are near-valid.
    const nearBase64 = fc.string({
      unit: fc.constantFrom(...ALPHABET, '=', '=', '=', ' ', '-'),
      maxLength: 16,
    });
    fc.assert(
      fc.property(nearBase64, (text) => {
        const decoded = decodeBase64(text);
        if (decoded !== null) {
          expect(encodeBase64(decoded)).toBe(text);
          expect(decoded).toEqual(new Uint8Array(Buffer.from(text, 'base64')));
        } else {
          // Rejected text is either not of the canonical shape or has non-zero bits under the padding.
          const canonical = encodeBase64(new Uint8Array(Buffer.from(text, 'base64')));
          expect(canonical).not.toBe(text);
        }
      }),
      { numRuns: runs * 3 },
    );
  });

  it('a decoded key of 16 bytes always came from 24 characters ending in "=="', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (nonce) => {
        const key = encodeBase64(nonce);
        expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
        expect(decodeBase64(key)).toEqual(nonce);
      }),
      { numRuns: runs },
    );
  });
});

describe('Latin-1, the handshake head and base64 text (RFC 9110 §5.5: obs-text is Latin-1 bytes)', () => {
  it('decodes any range of any bytes to one code unit per byte, across its 4096-byte slices', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 10_000 }),
        fc.nat(),
        fc.nat(),
        (bytes, a, b) => {
          const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
          const end = start + (b % (bytes.length - start + 1));
          const text = decodeLatin1(bytes, start, end);
          expect(text.length).toBe(end - start);
          for (let i = 0; i < text.length; i++) expect(text.charCodeAt(i)).toBe(bytes[start + i]);
          expect(encodeLatin1(decodeLatin1(bytes))).toEqual(bytes);
        },
      ),
      { numRuns: Math.min(runs, 200) },
    );
  });
});
