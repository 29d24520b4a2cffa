/**
 * The suite's own frame writer and reader (RFC 6455 §5.2), written from the RFC and nothing else.
 *
 * The writer builds any frame byte by byte, including the ones an implementation must refuse: reserved bits,
 * reserved opcodes, fragmented or oversized control frames, lengths in a longer encoding than needed. The
 * reader parses whatever the peer sends into raw frames and judges nothing itself: the session applies the
 * rules, so that every violation is reported with the frame that caused it.
 */

import { randomFillSync } from 'node:crypto';

/** Opcodes (RFC 6455 §5.2; 3–7 and 11–15 are reserved). */
export const Op = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Everything in a frame that a test may want to set. */
export interface FrameSpec {
  /** FIN bit. Default true. */
  readonly fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number (RSV1 = 4). Default 0. */
  readonly rsv?: number;
  /** Opcode, 0..15. */
  readonly opcode: number;
  /** Payload. Default empty. */
  readonly payload?: Uint8Array;
  /** Masking key; `true` draws a random one; absent or `false` sends the frame unmasked. */
  readonly mask?: Uint8Array | boolean;
}

/** Whether an opcode is a control opcode (RFC 6455 §5.5: the most significant opcode bit is set). */
export function isControl(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/**
 * Encodes one frame: the shortest length encoding (§5.2: "the minimal number of bytes MUST be used"),
 * the given bits and opcode as they are, the payload masked with the given or a random key.
 */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const fin = spec.fin ?? true;
  const rsv = spec.rsv ?? 0;
  let key: Uint8Array | undefined;
  if (spec.mask === true) key = randomFillSync(new Uint8Array(4));
  else if (spec.mask instanceof Uint8Array) key = spec.mask;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const headerLength = 2 + lengthBytes + (key ? 4 : 0);
  const out = new Uint8Array(headerLength + length);
  out[0] = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (spec.opcode & 0xf);
  const maskBit = key ? 0x80 : 0;
  if (lengthBytes === 0) {
    out[1] = maskBit | length;
  } else if (lengthBytes === 2) {
    out[1] = maskBit | 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = maskBit | 127;
    // 64-bit big-endian length; payloads here stay far below 2^53.
    const high = Math.floor(length / 2 ** 32);
    new DataView(out.buffer).setUint32(2, high);
    new DataView(out.buffer).setUint32(6, length >>> 0);
  }
  let offset = 2 + lengthBytes;
  if (key) {
    out.set(key, offset);
    offset += 4;
    for (let i = 0; i < length; i++) out[offset + i] = payload[i]! ^ key[i & 3]!;
  } else {
    out.set(payload, offset);
  }
  return out;
}

/** The payload of a close frame: a 2-byte code and a reason (§5.5.1). */
export function closePayload(code?: number, reason: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const out = new Uint8Array(2 + reason.length);
  out[0] = (code >>> 8) & 0xff;
  out[1] = code & 0xff;
  out.set(reason, 2);
  return out;
}

/** A frame as it arrived, unmasked. */
export interface RawFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly maskKey: Uint8Array | undefined;
  readonly payload: Uint8Array;
  /** True when the length was not in its minimal encoding (a §5.2 violation). */
  readonly nonMinimalLength: boolean;
}

/**
 * Incremental frame reader over a list of received chunks. `push` bytes in any pieces; `next` returns the
 * next complete frame or undefined. Oversized lengths are reported rather than buffered.
 */
export class FrameReader {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  readonly #maxPayload: number;

  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
  }

  /** Bytes received and not yet parsed. */
  get buffered(): number {
    return this.#buffered;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.#chunks.push(data);
    this.#buffered += data.length;
  }

  /** The next frame, `undefined` when more bytes are needed, or an error string for an impossible length. */
  next(): RawFrame | string | undefined {
    if (this.#buffered < 2) return undefined;
    const head = this.#peek(Math.min(this.#buffered, 14));
    const b0 = head[0]!;
    const b1 = head[1]!;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let offset = 2;
    let nonMinimalLength = false;
    if (length === 126) {
      if (head.length < 4) return undefined;
      length = (head[2]! << 8) | head[3]!;
      offset = 4;
      nonMinimalLength = length < 126;
    } else if (length === 127) {
      if (head.length < 10) return undefined;
      const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
      const high = view.getUint32(2);
      if (high & 0x80000000) return 'frame length has the most significant bit set (RFC 6455 §5.2)';
      length = high * 2 ** 32 + view.getUint32(6);
      offset = 10;
      nonMinimalLength = length < 65536;
    }
    if (length > this.#maxPayload) return `frame payload of ${length} bytes exceeds the suite's limit`;
    let maskKey: Uint8Array | undefined;
    if (masked) {
      if (head.length < offset + 4) return undefined;
      maskKey = head.slice(offset, offset + 4);
      offset += 4;
    }
    if (this.#buffered < offset + length) return undefined;
    this.#consume(offset);
    const payload = this.#take(length);
    if (maskKey) { for (let i = 0; i < payload.length; i++) payload[i]! ^= maskKey[i & 3]!; }
    return {
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >>> 4) & 0x7,
      opcode: b0 & 0xf,
      masked,
      maskKey,
      payload,
      nonMinimalLength,
    };
  }

  /** Copies up to `n` leading bytes without consuming them. */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let filled = 0;
    for (const c of this.#chunks) {
      const k = Math.min(c.length, n - filled);
      out.set(c.subarray(0, k), filled);
      filled += k;
      if (filled === n) break;
    }
    return out;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= n) {
        n -= first.length;
        this.#chunks.shift();
      } else {
        this.#chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }

  /** Removes and returns `n` bytes as a fresh copy (the payload is unmasked in place). */
  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const first = this.#chunks[0]!;
      const k = Math.min(first.length, n - filled);
      out.set(first.subarray(0, k), filled);
      filled += k;
      if (k === first.length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }
}
