/**
 * Byte helpers of the suite. Deliberately self-contained: the suite is an oracle, so it shares no code with
 * the implementation it tests (not even a UTF-8 validator).
 */

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const lenientDecoder = new TextDecoder('utf-8');

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes from hex, spaces ignored: `hex('ce ba')`. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes given as numbers. */
export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Lower-case hex of bytes, cut after `max` bytes with an ellipsis. */
export function toHex(data: Uint8Array, max = Infinity): string {
  let out = '';
  const n = Math.min(data.length, max);
  for (let i = 0; i < n; i++) out += data[i]!.toString(16).padStart(2, '0');
  return n < data.length ? `${out} … (${data.length} bytes)` : out;
}

/** Whether the bytes are complete, valid UTF-8 (RFC 3629: no overlongs, surrogates or code points > U+10FFFF). */
export function isUtf8(data: Uint8Array): boolean {
  try {
    strictDecoder.decode(data);
    return true;
  } catch {
    return false;
  }
}

/** Text for display: the bytes decoded with replacement characters. */
export function toDisplayText(data: Uint8Array, max = Infinity): string {
  const cut = data.length > max ? data.subarray(0, max) : data;
  const text = lenientDecoder.decode(cut);
  return cut.length < data.length ? `${text} … (${data.length} bytes)` : text;
}

/** Concatenation of byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** `pattern` repeated (and cut) to exactly `length` bytes, as Autobahn's `payload_len` does. */
export function repeatTo(pattern: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (pattern.length === 0 || length === 0) return out;
  out.set(pattern.subarray(0, Math.min(pattern.length, length)));
  // Doubling copies: log2(length) calls of set().
  let filled = Math.min(pattern.length, length);
  while (filled < length) {
    const n = Math.min(filled, length - filled);
    out.copyWithin(filled, 0, n);
    filled += n;
  }
  return out;
}

/** Byte-wise equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Splits `data` into pieces of `size` bytes (the last may be shorter); one empty piece for empty data. */
export function chop(data: Uint8Array, size: number): Uint8Array[] {
  if (data.length === 0 || size <= 0 || size >= data.length) return [data];
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** A small deterministic PRNG (mulberry32), so generated test data is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
