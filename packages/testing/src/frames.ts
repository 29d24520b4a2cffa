/**
 * A small, independent frame writer and reader (RFC 6455 §5.2). It shares no code with `@sansws/core`, so
 * that frames built here can test the core (and any other implementation) rather than agree with it by
 * construction. It writes anything, including frames no correct endpoint would send: reserved bits and
 * opcodes, unmasked client frames, a declared length that differs from the payload, 16- and 64-bit length
 * forms for short payloads. Every frame and frame list prints as one readable line per frame.
 *
 * @module
 */

import * as fc from 'fast-check';

/** Opcode names (RFC 6455 §5.2, §11.8). */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** One WebSocket frame, as bits on the wire. */
export interface Frame {
  /** FIN bit. */
  readonly fin: boolean;
  /** RSV1 (permessage-deflate's "compressed" bit), RSV2, RSV3. */
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  /** 0–15, reserved ones included. */
  readonly opcode: number;
  /** The payload, unmasked. */
  readonly payload: Uint8Array;
  /** A 4-byte masking key, or null for an unmasked frame. */
  readonly mask: Uint8Array | null;
  /**
   * How the length is written: `'minimal'` (RFC 6455 §5.2's MUST; the default), or the 16- or 64-bit form
   * whatever the length.
   */
  readonly lengthForm?: 'minimal' | '16' | '64';
  /**
   * A declared payload length that differs from `payload.length` (e.g. one with the 64-bit MSB set); the
   * frame is then written as header + `payload`, which is whatever follows on the wire.
   */
  readonly declaredLength?: bigint;
}

/** The fields of {@link frame}'s argument; everything but `opcode` has a default. */
export interface FrameInit {
  readonly opcode: number;
  readonly payload?: Uint8Array | string;
  readonly fin?: boolean;
  readonly rsv1?: boolean;
  readonly rsv2?: boolean;
  readonly rsv3?: boolean;
  /** A masking key, or true for a fixed key (`37 fa 21 3d`, RFC 6455 §5.7's example), or false/null. */
  readonly mask?: Uint8Array | boolean | null;
  readonly lengthForm?: 'minimal' | '16' | '64';
  readonly declaredLength?: bigint;
}

const EXAMPLE_MASK = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const encoder = new TextEncoder();

/** Builds a {@link Frame} (FIN set, no reserved bits, unmasked, unless said otherwise) that prints readably. */
export function frame(init: FrameInit): Frame {
  const payload = typeof init.payload === 'string'
    ? encoder.encode(init.payload)
    : init.payload ?? new Uint8Array(0);
  const mask = init.mask === true
    ? EXAMPLE_MASK
    : init.mask === false || init.mask === undefined
    ? null
    : init.mask;
  const result: Frame = {
    fin: init.fin ?? true,
    rsv1: init.rsv1 ?? false,
    rsv2: init.rsv2 ?? false,
    rsv3: init.rsv3 ?? false,
    opcode: init.opcode,
    payload,
    mask,
    ...(init.lengthForm !== undefined ? { lengthForm: init.lengthForm } : {}),
    ...(init.declaredLength !== undefined ? { declaredLength: init.declaredLength } : {}),
  };
  return printable(result, () => describeFrame(result));
}

/** A close frame's payload: a 2-byte code and a UTF-8 reason (RFC 6455 §5.5.1). */
export function closePayload(code: number, reason: string | Uint8Array = ''): Uint8Array {
  const bytes = typeof reason === 'string' ? encoder.encode(reason) : reason;
  const payload = new Uint8Array(2 + bytes.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(bytes, 2);
  return payload;
}

/** Writes one frame: header, then the payload masked with its key (RFC 6455 §5.2, §5.3). */
export function encodeFrame(f: Frame): Uint8Array {
  const length = f.declaredLength ?? BigInt(f.payload.length);
  const form = f.lengthForm ?? 'minimal';
  const extended = form === '64' || (form === 'minimal' && length > 0xffffn)
    ? 8
    : form === '16' || (form === 'minimal' && length > 125n)
    ? 2
    : 0;
  const headerLength = 2 + extended + (f.mask === null ? 0 : 4);
  const out = new Uint8Array(headerLength + f.payload.length);
  out[0] = (f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) |
    (f.opcode & 0x0f);
  out[1] = (f.mask === null ? 0 : 0x80) | (extended === 0 ? Number(length) : extended === 2 ? 126 : 127);
  if (extended === 2) {
    out[2] = Number(length >> 8n) & 0xff;
    out[3] = Number(length) & 0xff;
  } else if (extended === 8) {
    for (let i = 0; i < 8; i++) out[2 + i] = Number((length >> BigInt(56 - 8 * i)) & 0xffn);
  }
  let offset = 2 + extended;
  if (f.mask !== null) {
    out.set(f.mask.subarray(0, 4), offset);
    offset += 4;
  }
  for (let i = 0; i < f.payload.length; i++) {
    out[offset + i] = f.mask === null ? f.payload[i]! : f.payload[i]! ^ f.mask[i & 3]!;
  }
  return out;
}

/** Writes frames back to back. */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  return concat(frames.map(encodeFrame));
}

/** A frame as read from the wire by {@link FrameReader}: the frame, and what was wrong with it if anything. */
export interface DecodedFrame extends Frame {
  /** The length as declared in the header. */
  readonly declaredLength: bigint;
  /** Whether the length used more bytes than needed (RFC 6455 §5.2 requires the minimal form). */
  readonly nonMinimalLength: boolean;
}

/**
 * Reads frames from a byte stream, incrementally: `push` bytes as they arrive, `next()` returns each
 * complete frame (payload unmasked) or undefined. A header whose length cannot be held (64-bit MSB set, or
 * beyond `maxPayload`) is returned at once with an empty payload, and the reader stops (`broken`).
 */
export class FrameReader {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #broken = false;

  constructor(readonly maxPayload: number = 64 * 1024 * 1024) {}

  /** Whether the reader stopped at an unreadable header. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  push(bytes: Uint8Array): void {
    if (this.#broken || bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
  }

  next(): DecodedFrame | undefined {
    if (this.#broken || this.#buffered < 2) return undefined;
    const head = this.#peek(Math.min(this.#buffered, 14));
    const b0 = head[0]!;
    const b1 = head[1]!;
    const masked = (b1 & 0x80) !== 0;
    const short = b1 & 0x7f;
    const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
    const headerLength = 2 + extended + (masked ? 4 : 0);
    if (head.length < headerLength) return undefined;
    let length = BigInt(short);
    if (extended === 2) length = BigInt((head[2]! << 8) | head[3]!);
    else if (extended === 8) {
      length = 0n;
      for (let i = 0; i < 8; i++) length = (length << 8n) | BigInt(head[2 + i]!);
    }
    const nonMinimalLength = (extended === 2 && length <= 125n) || (extended === 8 && length <= 0xffffn);
    const mask = masked ? head.slice(2 + extended, headerLength) : null;
    const base = {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode: b0 & 0x0f,
      mask,
      declaredLength: length,
      nonMinimalLength,
    };
    if (length > BigInt(this.maxPayload)) {
      this.#broken = true;
      const result: DecodedFrame = { ...base, payload: new Uint8Array(0) };
      return printable(result, () => describeFrame(result));
    }
    const total = headerLength + Number(length);
    if (this.#buffered < total) return undefined;
    const bytes = this.#take(total);
    const payload = bytes.slice(headerLength);
    if (mask !== null) { for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!; }
    const result: DecodedFrame = { ...base, payload };
    return printable(result, () => describeFrame(result));
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let offset = 0;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(0, n - offset);
      out.set(part, offset);
      offset += part.length;
      if (offset === n) break;
    }
    return out;
  }

  #take(n: number): Uint8Array {
    const out = this.#peek(n).slice();
    let left = n;
    while (left > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= left) {
        this.#chunks.shift();
        left -= first.length;
      } else {
        this.#chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.#buffered -= n;
    return out;
  }
}

/** Reads every complete frame in `bytes` (and stops at the first incomplete or unreadable one). */
export function decodeFrames(bytes: Uint8Array): DecodedFrame[] {
  const reader = new FrameReader();
  reader.push(bytes);
  const out: DecodedFrame[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) out.push(f);
  return out;
}

const OPCODE_NAMES: Record<number, string> = {
  0x0: 'CONT',
  0x1: 'TEXT',
  0x2: 'BINARY',
  0x8: 'CLOSE',
  0x9: 'PING',
  0xa: 'PONG',
};

/**
 * One line per frame: opcode, flags, length and a payload preview, e.g.
 * `TEXT fin masked len=5 "hello"`, `CONT rsv1 len=70000 <00 01 02 … 69984 more>`,
 * `CLOSE fin len=4 code=1000 "ok"`, `OP3 fin len=0`.
 */
export function describeFrame(f: Frame): string {
  const parts = [OPCODE_NAMES[f.opcode] ?? `OP${f.opcode.toString(16).toUpperCase()}`];
  if (f.fin) parts.push('fin');
  if (f.rsv1) parts.push('rsv1');
  if (f.rsv2) parts.push('rsv2');
  if (f.rsv3) parts.push('rsv3');
  if (f.mask !== null) parts.push('masked');
  const declared = f.declaredLength ?? BigInt(f.payload.length);
  if (declared !== BigInt(f.payload.length)) {
    parts.push(
      `len=${declared}${declared >= 1n << 63n ? ' (MSB set)' : ''}, ${f.payload.length} bytes follow`,
    );
  } else parts.push(`len=${f.payload.length}`);
  if (f.lengthForm !== undefined && f.lengthForm !== 'minimal') parts.push(`(${f.lengthForm}-bit length)`);
  if (f.opcode === Opcode.close && f.payload.length >= 2) {
    parts.push(`code=${(f.payload[0]! << 8) | f.payload[1]!}`);
    if (f.payload.length > 2) parts.push(preview(f.payload.subarray(2), true));
  } else if (f.payload.length > 0) {
    // Text as text; continuation and ping/pong payloads as text when they happen to be UTF-8; binary in hex.
    const textual = f.opcode === Opcode.continuation || f.opcode === Opcode.ping || f.opcode === Opcode.pong;
    parts.push(preview(f.payload, f.opcode === Opcode.text || (textual && isUtf8(f.payload))));
  }
  return parts.join(' ');
}

/** {@link describeFrame} for each frame, one per line, numbered. */
export function describeFrames(frames: readonly Frame[]): string {
  return frames.map((f, i) => `${String(i + 1).padStart(3)}. ${describeFrame(f)}`).join('\n');
}

/** Decodes `bytes` as frames and describes them; bytes that do not form a whole frame are shown in hex. */
export function describeBytes(bytes: Uint8Array): string {
  const reader = new FrameReader();
  reader.push(bytes);
  const frames: DecodedFrame[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push(f);
  let text = describeFrames(frames);
  if (reader.buffered > 0 && !reader.broken) {
    text += `${text === '' ? '' : '\n'}     + ${reader.buffered} bytes of an incomplete frame: ${
      hex(bytes.subarray(bytes.length - reader.buffered), 16)
    }`;
  }
  return text;
}

const PREVIEW = 24;
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    fatalDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Text as a quoted JSON string (cut to 24 characters), anything else (invalid UTF-8 included) as hex. */
function preview(bytes: Uint8Array, asText: boolean): string {
  if (asText && isUtf8(bytes.subarray(0, Math.min(bytes.length, 4 * PREVIEW)))) {
    const text = fatalDecoder.decode(bytes.subarray(0, Math.min(bytes.length, 4 * PREVIEW)));
    const shown = [...text].slice(0, PREVIEW).join('');
    const rest = bytes.length - encoder.encode(shown).length;
    return JSON.stringify(shown) + (rest > 0 ? ` … ${rest} more bytes` : '');
  }
  return `<${hex(bytes, 12)}>${asText ? ' (not UTF-8)' : ''}`;
}

/** Hex bytes separated by spaces, cut to `max` bytes. */
export function hex(bytes: Uint8Array, max = Infinity): string {
  const shown = [...bytes.subarray(0, Math.min(bytes.length, max))].map((b) =>
    b.toString(16).padStart(2, '0')
  );
  return shown.join(' ') + (bytes.length > max ? ` … ${bytes.length - max} more` : '');
}

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Gives `value` a non-enumerable `fc.toStringMethod`, so that fast-check prints counterexamples with
 * `describe` instead of dumping byte arrays.
 */
export function printable<T extends object>(value: T, describe: () => string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: describe, enumerable: false });
  return value;
}
