/**
 * Benchmark inputs: payloads, masked client frames, and the socket-like chunking of a frame stream.
 *
 * Everything is deterministic (a seeded xorshift generator), so two runs feed the same bytes.
 */

import { Buffer } from 'node:buffer';

/** How a socket delivers a busy stream: full 64 KiB reads. */
export const CHUNK_SIZE = 64 * 1024;

/** A small seeded PRNG (xorshift32); good enough for payloads and masking keys, not for anything else. */
export class Prng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.#x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x >>> 0;
    return this.#x;
  }
  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.next() & 0xff;
  }
}

/** Random bytes. */
export function binaryPayload(size: number, rng: Prng): Uint8Array {
  const bytes = new Uint8Array(size);
  rng.fill(bytes);
  return bytes;
}

// Mostly ASCII words with some 2-, 3- and 4-byte UTF-8 sequences, like chat or JSON text in many languages.
const WORDS = [
  'the',
  'quick',
  'brown',
  'fox',
  'jumps',
  'over',
  'lazy',
  'dog',
  '{"id":',
  '42,',
  '"name":',
  'value',
  'wörld',
  'naïve',
  'café',
  'Grüße',
  '€10',
  '✓',
  '日本語',
  '😀',
];

/** Valid UTF-8 text of exactly `size` bytes (cut at a code point boundary, padded with ASCII). */
export function textPayload(size: number, rng: Prng): { text: string; bytes: Uint8Array } {
  const encoder = new TextEncoder();
  let text = '';
  let length = 0;
  while (length < size) {
    const word = WORDS[rng.next() % WORDS.length]! + ' ';
    text += word;
    length += encoder.encode(word).length;
  }
  let bytes = encoder.encode(text).subarray(0, size);
  // Back off to a code point boundary: drop trailing continuation bytes and their lead byte.
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && bytes[end - 1]! >= 0xc0) end--;
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, end));
  out.fill(0x2e, end); // '.'
  bytes = out;
  return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), bytes };
}

/** Share of ASCII bytes in `bytes`, for the report. */
export function asciiShare(bytes: Uint8Array): number {
  let ascii = 0;
  for (const b of bytes) if (b < 0x80) ascii++;
  return bytes.length === 0 ? 1 : ascii / bytes.length;
}

/** Size of a masked frame header (RFC 6455 §5.2) for a payload of `length` bytes. */
export function maskedHeaderSize(length: number): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4;
}

/** Writes one masked, FIN, unfragmented frame into `out` at `offset`; returns the offset after it. */
export function writeMaskedFrame(
  out: Uint8Array,
  offset: number,
  opcode: number,
  payload: Uint8Array,
  key: Uint8Array,
): number {
  const length = payload.length;
  let o = offset;
  out[o++] = 0x80 | opcode;
  if (length < 126) {
    out[o++] = 0x80 | length;
  } else if (length < 65536) {
    out[o++] = 0x80 | 126;
    out[o++] = length >>> 8;
    out[o++] = length & 0xff;
  } else {
    out[o++] = 0x80 | 127;
    const high = Math.floor(length / 0x100000000);
    for (let shift = 24; shift >= 0; shift -= 8) out[o++] = (high >>> shift) & 0xff;
    for (let shift = 24; shift >= 0; shift -= 8) out[o++] = (length >>> shift) & 0xff;
  }
  out.set(key, o);
  o += 4;
  for (let i = 0; i < length; i++) out[o + i] = payload[i]! ^ key[i & 3]!;
  return o + length;
}

/** `count` back-to-back masked frames of `payload`, each with its own random masking key. */
export function frameStream(opcode: number, payload: Uint8Array, count: number, rng: Prng): Uint8Array {
  const frameSize = maskedHeaderSize(payload.length) + payload.length;
  const out = new Uint8Array(frameSize * count);
  const key = new Uint8Array(4);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    rng.fill(key);
    offset = writeMaskedFrame(out, offset, opcode, payload, key);
  }
  return out;
}

/**
 * A frame stream cut into socket-sized chunks, twice: pristine copies that are never handed out, and
 * working buffers (each its own allocation, like socket reads) that the contenders consume and unmask in
 * place. `restore()` copies the pristine bytes back, outside the timed region, before every timed feed.
 */
export class ChunkedStream {
  readonly totalBytes: number;
  readonly #pristine: Uint8Array[];
  readonly chunks: Buffer[];

  constructor(stream: Uint8Array, chunkSize = CHUNK_SIZE) {
    this.totalBytes = stream.length;
    this.#pristine = [];
    this.chunks = [];
    for (let offset = 0; offset < stream.length; offset += chunkSize) {
      const piece = stream.slice(offset, Math.min(offset + chunkSize, stream.length));
      this.#pristine.push(piece);
      const working = Buffer.allocUnsafeSlow(piece.length);
      working.set(piece);
      this.chunks.push(working);
    }
  }

  restore(): void {
    for (let i = 0; i < this.chunks.length; i++) this.chunks[i]!.set(this.#pristine[i]!);
  }
}
