/**
 * A tiny DEFLATE writer (RFC 1951) for permessage-deflate payloads (RFC 7692 §7.2.1), independent of any
 * zlib: stored blocks, or fixed-Huffman blocks with literals and distance-1 back-references (runs). Each
 * message ends with the sync-flush empty stored block whose last four bytes (`00 00 ff ff`) are removed, as
 * the RFC prescribes. No block is final and nothing refers to earlier messages, so the output is valid with
 * and without context takeover, and a peer's inflater is exercised on both block types.
 *
 * @module
 */

/** How {@link deflateMessage} encodes: stored (uncompressed) blocks, or fixed-Huffman blocks. */
export type DeflateMethod = 'stored' | 'fixed';

/** Compresses one message for permessage-deflate (trailing `00 00 ff ff` removed). */
export function deflateMessage(data: Uint8Array, method: DeflateMethod): Uint8Array {
  const bits = new BitWriter();
  if (method === 'stored') {
    let offset = 0;
    do {
      const n = Math.min(0xffff, data.length - offset);
      bits.writeBits(0, 3); // BFINAL 0, BTYPE 00
      bits.alignToByte();
      bits.writeBytes(Uint8Array.of(n & 0xff, n >> 8, ~n & 0xff, (~n >> 8) & 0xff));
      bits.writeBytes(data.subarray(offset, offset + n));
      offset += n;
    } while (offset < data.length);
  } else {
    bits.writeBits(0, 1); // BFINAL 0
    bits.writeBits(1, 2); // BTYPE 01: fixed Huffman codes (RFC 1951 §3.2.6)
    let i = 0;
    while (i < data.length) {
      let run = 0;
      if (i > 0) {
        while (i + run < data.length && run < 258 && data[i + run] === data[i - 1]) run++;
      }
      if (run >= 3) {
        writeLength(bits, run);
        bits.writeHuffman(0, 5); // distance code 0: distance 1
        i += run;
      } else {
        writeLiteral(bits, data[i]!);
        i++;
      }
    }
    writeLiteral(bits, 256); // end of block
  }
  // RFC 7692 §7.2.1: sync flush (an empty stored block), then remove its last four bytes 00 00 ff ff.
  bits.writeBits(0, 3);
  bits.alignToByte();
  return bits.finish();
}

// RFC 1951 §3.2.6: the fixed literal/length code, stored bit-reversed so that it can be written LSB first.
const FIXED_CODES = new Uint16Array(288);
const FIXED_LENGTHS = new Uint8Array(288);
for (let value = 0; value < 288; value++) {
  const [code, length] = value <= 143
    ? [0x30 + value, 8]
    : value <= 255
    ? [0x190 + value - 144, 9]
    : value <= 279
    ? [value - 256, 7]
    : [0xc0 + value - 280, 8];
  FIXED_CODES[value] = reverse(code, length);
  FIXED_LENGTHS[value] = length;
}

function reverse(code: number, length: number): number {
  let out = 0;
  for (let i = 0; i < length; i++) out |= ((code >> i) & 1) << (length - 1 - i);
  return out;
}

function writeLiteral(bits: BitWriter, value: number): void {
  bits.writeBits(FIXED_CODES[value]!, FIXED_LENGTHS[value]!);
}

// RFC 1951 §3.2.5: length codes 257–285, their base lengths and extra bits.
const LENGTH_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

function writeLength(bits: BitWriter, length: number): void {
  let index = LENGTH_BASE.length - 1;
  while (LENGTH_BASE[index]! > length) index--;
  writeLiteral(bits, 257 + index);
  bits.writeBits(length - LENGTH_BASE[index]!, LENGTH_EXTRA[index]!);
}

/** Bits, least significant first, into a growing byte buffer. */
class BitWriter {
  #bytes = new Uint8Array(1024);
  #length = 0;
  #current = 0;
  #count = 0;

  /** Writes the `n` (≤ 16) low bits of `value`, least significant first. */
  writeBits(value: number, n: number): void {
    this.#current |= (value & ((1 << n) - 1)) << this.#count;
    this.#count += n;
    while (this.#count >= 8) {
      this.#push(this.#current & 0xff);
      this.#current >>>= 8;
      this.#count -= 8;
    }
  }
  /** Writes a 5-bit distance code (Huffman codes go most significant bit first). */
  writeHuffman(code: number, n: number): void {
    this.writeBits(reverse(code, n), n);
  }
  alignToByte(): void {
    if (this.#count > 0) {
      this.#push(this.#current & 0xff);
      this.#current = 0;
      this.#count = 0;
    }
  }
  writeBytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }
  finish(): Uint8Array {
    this.alignToByte();
    return this.#bytes.slice(0, this.#length);
  }
  #push(byte: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = byte;
  }
  #reserve(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + n));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}
