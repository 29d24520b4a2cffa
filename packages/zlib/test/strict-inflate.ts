/**
 * A small, slow, independent raw-DEFLATE decoder (RFC 1951) for tests: it keeps the whole output, decodes
 * a stream fed in pieces across sync flushes, and records the largest back-reference distance, so a test
 * can prove that a stream is decodable with a given window (e.g. a strict 256-byte one).
 */

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
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman {
  counts: number[];
  symbols: number[];
}

function huffman(lengths: readonly number[]): Huffman {
  const counts = new Array<number>(16).fill(0);
  for (const l of lengths) counts[l]!++;
  counts[0] = 0;
  const offs = new Array<number>(16).fill(0);
  for (let i = 1; i < 16; i++) offs[i] = offs[i - 1]! + counts[i - 1]!;
  const symbols = new Array<number>(lengths.length).fill(0);
  lengths.forEach((l, s) => {
    if (l !== 0) symbols[offs[l]!++] = s;
  });
  return { counts, symbols };
}

const FIXED_LIT = huffman(
  Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)),
);
const FIXED_DIST = huffman(new Array<number>(30).fill(5));

class NeedInput extends Error {}

/** Decodes a raw DEFLATE stream incrementally; throws on malformed data or a too-far distance. */
export class StrictInflater {
  readonly output: number[] = [];
  maxDistance = 0;
  #input: number[] = [];
  #bitPos = 0; // position in #input, in bits
  #ended = false;

  /** @param window The largest distance accepted (e.g. 256 for an 8-bit window). */
  constructor(readonly window = 32768) {}

  /** Feeds more of the stream and decodes every complete block part; returns the new output. */
  push(bytes: Uint8Array): Uint8Array {
    for (const b of bytes) this.#input.push(b);
    const start = this.output.length;
    // Decode block by block; on running out of input, roll back to the last block boundary we can resume.
    for (;;) {
      if (this.#ended) break;
      const savedBit = this.#bitPos;
      const savedOut = this.output.length;
      const savedMax = this.maxDistance;
      try {
        this.#block();
      } catch (e) {
        if (!(e instanceof NeedInput)) throw e;
        this.#bitPos = savedBit;
        this.output.length = savedOut;
        this.maxDistance = savedMax;
        break;
      }
    }
    return Uint8Array.from(this.output.slice(start));
  }

  #bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#bitPos >> 3;
      if (byte >= this.#input.length) throw new NeedInput();
      v |= ((this.#input[byte]! >> (this.#bitPos & 7)) & 1) << i;
      this.#bitPos++;
    }
    return v;
  }

  #decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.#bits(1);
      const count = h.counts[len]!;
      if (code - count < first) return h.symbols[index + (code - first)]!;
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error('bad code');
  }

  #block(): void {
    const final = this.#bits(1);
    const type = this.#bits(2);
    if (type === 0) {
      this.#bitPos = (this.#bitPos + 7) & ~7;
      const len = this.#bits(16);
      const nlen = this.#bits(16);
      if ((len ^ 0xffff) !== nlen) throw new Error('bad stored length');
      for (let i = 0; i < len; i++) this.output.push(this.#bits(8));
    } else if (type === 1) {
      this.#codes(FIXED_LIT, FIXED_DIST);
    } else if (type === 2) {
      const nlen = this.#bits(5) + 257;
      const ndist = this.#bits(5) + 1;
      const ncode = this.#bits(4) + 4;
      const cl = new Array<number>(19).fill(0);
      for (let i = 0; i < ncode; i++) cl[CL_ORDER[i]!] = this.#bits(3);
      const clh = huffman(cl);
      const lengths: number[] = [];
      while (lengths.length < nlen + ndist) {
        const sym = this.#decode(clh);
        if (sym < 16) lengths.push(sym);
        else if (sym === 16) {
          const prev = lengths[lengths.length - 1];
          if (prev === undefined) throw new Error('repeat with no previous length');
          for (let n = 3 + this.#bits(2); n > 0; n--) lengths.push(prev);
        } else if (sym === 17) { for (let n = 3 + this.#bits(3); n > 0; n--) lengths.push(0); }
        else for (let n = 11 + this.#bits(7); n > 0; n--) lengths.push(0);
      }
      this.#codes(huffman(lengths.slice(0, nlen)), huffman(lengths.slice(nlen)));
    } else {
      throw new Error('bad block type');
    }
    if (final) this.#ended = true;
  }

  #codes(lit: Huffman, dist: Huffman): void {
    for (;;) {
      const sym = this.#decode(lit);
      if (sym < 256) this.output.push(sym);
      else if (sym === 256) return;
      else {
        const li = sym - 257;
        if (li >= 29) throw new Error('bad length symbol');
        const length = LENGTH_BASE[li]! + this.#bits(LENGTH_EXTRA[li]!);
        const di = this.#decode(dist);
        if (di >= 30) throw new Error('bad distance symbol');
        const distance = DIST_BASE[di]! + this.#bits(DIST_EXTRA[di]!);
        if (distance > this.window) {
          throw new Error(`distance ${distance} beyond the ${this.window}-byte window`);
        }
        if (distance > this.output.length) throw new Error('distance before the start of the output');
        if (distance > this.maxDistance) this.maxDistance = distance;
        const from = this.output.length - distance;
        for (let i = 0; i < length; i++) this.output.push(this.output[from + i]!);
      }
    }
  }
}
