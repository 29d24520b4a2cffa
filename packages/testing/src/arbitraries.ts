/**
 * fast-check arbitraries for WebSocket traffic: valid messages as frames (every opcode, the size classes
 * around the length-encoding boundaries, fragmentation, interleaved control frames, compression), invalid
 * frames of each kind with the close code a correct peer answers, opening handshakes valid and mutated,
 * chunkings of a byte stream, close codes and reasons. Frames come from this package's own writer
 * (`frames.ts`), never from `@sansws/core`, and every generated value prints readably in counterexamples.
 *
 * @module
 */

import * as fc from 'fast-check';
import { acceptKey, base64 } from './accept.ts';
import { deflateMessage, type DeflateMethod } from './deflate.ts';
import { closePayload, concat, describeFrames, type Frame, frame, Opcode, printable } from './frames.ts';

const encoder = new TextEncoder();

/** The payload sizes around the length encodings of RFC 6455 §5.2 (7-bit, 16-bit, 64-bit). */
export const SIZE_CLASSES: readonly number[] = [0, 1, 125, 126, 127, 65535, 65536];

/** A message type. */
export type MessageType = 'text' | 'binary';

/** Options of {@link messages} and {@link traffic}. */
export interface MessageOptions {
  /** Mask every frame, as a client must (RFC 6455 §5.3). Default true: traffic for a server. */
  readonly masked?: boolean;
  /**
   * permessage-deflate (RFC 7692): `false` (default) never compresses, `true` always, `'mixed'` sometimes.
   * Compressed messages use stored or fixed-Huffman DEFLATE blocks from this package's own writer.
   */
  readonly compression?: boolean | 'mixed';
  /** Largest payload, in bytes. Default 65536 (every size class). */
  readonly maxSize?: number;
  /** Split messages into continuation frames, empty ones included. Default true. */
  readonly fragmentation?: boolean;
  /** Interleave pings and unsolicited pongs between fragments (RFC 6455 §5.4). Default true. */
  readonly controlFrames?: boolean;
  /** Message types to generate. Default both. */
  readonly types?: readonly MessageType[];
}

/** A generated message and the frames that carry it. */
export interface GeneratedMessage {
  readonly type: MessageType;
  /** The message's bytes, before compression. */
  readonly data: Uint8Array;
  /** For text, the string. */
  readonly text: string | null;
  /** How it was compressed, or null. */
  readonly compressed: DeflateMethod | null;
  /** The frames, in order: data frames, with control frames interleaved. */
  readonly frames: readonly Frame[];
  /** Payloads of the pings among `frames` (a peer answers each with a pong, RFC 6455 §5.5.2). */
  readonly pings: readonly Uint8Array[];
}

/** A sequence of messages, as one list of frames. */
export interface Traffic {
  readonly messages: readonly GeneratedMessage[];
  readonly frames: readonly Frame[];
  readonly pings: readonly Uint8Array[];
}

/** Payload sizes: mostly small, with every size class; none above `maxSize`. */
export function payloadSizes(maxSize = 65536): fc.Arbitrary<number> {
  const classes = SIZE_CLASSES.filter((size) => size <= maxSize);
  return fc.oneof(
    { weight: 4, arbitrary: fc.nat({ max: Math.min(maxSize, 200) }) },
    { weight: 3, arbitrary: fc.constantFrom(...classes) },
    { weight: 1, arbitrary: fc.nat({ max: maxSize }) },
  );
}

/**
 * Bytes of exactly `size`: random bytes when small; for large sizes a cheap pattern (zeros, runs, or
 * pseudo-random from a generated seed), so that generating and shrinking stay fast.
 */
function bytesOfSize(size: number): fc.Arbitrary<Uint8Array> {
  if (size <= 256) return fc.uint8Array({ minLength: size, maxLength: size });
  return fc.tuple(fc.constantFrom('zeros', 'runs', 'random'), fc.integer()).map(([kind, seed]) => {
    const out = new Uint8Array(size);
    let x = seed | 1;
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = kind === 'zeros' ? 0 : kind === 'runs' ? (i >> 6) & 0xff : x & 0xff;
    }
    return out;
  });
}

/**
 * Characters of every UTF-8 length (1 to 4 bytes), control characters and U+FEFF included, never a lone
 * surrogate. (Cheaper than fast-check's `unit: 'binary'`, whose code point table costs a second to build.)
 */
const character: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0x7ff }),
  fc.integer({ min: 0x800, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
).map((codePoint) => String.fromCodePoint(codePoint));

/** Strings of `character`s. */
const unicodeString = (maxLength: number, minLength = 0): fc.Arbitrary<string> =>
  fc.array(character, { minLength, maxLength }).map((chars) => chars.join(''));

/** Valid UTF-8 text of exactly `size` bytes: a generated pattern repeated, padded with ASCII to the size. */
function textOfSize(size: number): fc.Arbitrary<string> {
  return unicodeString(24, 1).map((pattern) => {
    const length = encoder.encode(pattern).length;
    if (length > size) {
      // Take whole characters while they fit.
      let out = '';
      let bytes = 0;
      for (const c of pattern) {
        const n = encoder.encode(c).length;
        if (bytes + n > size) break;
        out += c;
        bytes += n;
      }
      return out + 'a'.repeat(size - bytes);
    }
    const repeats = Math.floor(size / length);
    return pattern.repeat(repeats) + 'a'.repeat(size - repeats * length);
  });
}

/** Positions (0..length) at which to cut a byte string, sorted; repeats give empty pieces. */
function cuts(maxCuts: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: maxCuts });
}

function applyCuts(length: number, fractions: readonly number[]): number[] {
  return fractions.map((f) => Math.round(f * length)).sort((a, b) => a - b);
}

function split(bytes: Uint8Array, positions: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const p of positions) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

const maskKey = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(4)) },
);

interface ControlInsert {
  readonly at: number;
  readonly ping: boolean;
  readonly payload: Uint8Array;
}

const controlInserts = (enabled: boolean): fc.Arbitrary<ControlInsert[]> =>
  enabled
    ? fc.array(
      fc.record({
        at: fc.nat({ max: 8 }),
        ping: fc.boolean(),
        payload: fc.oneof(
          fc.uint8Array({ maxLength: 8 }),
          fc.uint8Array({ minLength: 125, maxLength: 125 }),
        ),
      }),
      { maxLength: 2 },
    )
    : fc.constant([]);

/**
 * Valid messages as frames: text (valid UTF-8, multi-byte characters included) or binary, every size
 * class, fragmented or not, with pings and pongs between fragments, compressed or not, masked or not.
 */
export function messages(options: MessageOptions = {}): fc.Arbitrary<GeneratedMessage> {
  const masked = options.masked ?? true;
  const types = options.types ?? ['text', 'binary'];
  const compression = options.compression ?? false;
  const fragmentation = options.fragmentation ?? true;
  const compressed: fc.Arbitrary<DeflateMethod | null> = compression === false
    ? fc.constant(null)
    : compression === true
    ? fc.constantFrom<DeflateMethod>('stored', 'fixed')
    : fc.constantFrom<DeflateMethod | null>(null, 'stored', 'fixed');
  const content: fc.Arbitrary<{ type: MessageType; text: string | null; data: Uint8Array }> = fc.tuple(
    fc.constantFrom(...types),
    payloadSizes(options.maxSize),
  ).chain(([type, size]): fc.Arbitrary<{ type: MessageType; text: string | null; data: Uint8Array }> =>
    type === 'text'
      ? textOfSize(size).map((text) => ({ type, text, data: encoder.encode(text) as Uint8Array }))
      : bytesOfSize(size).map((data) => ({ type, text: null, data }))
  );
  return fc.record({
    content,
    compressed,
    cuts: fragmentation ? cuts(4) : fc.constant([]),
    controls: controlInserts(options.controlFrames ?? true),
    mask: maskKey,
  }).map(({ content, compressed, cuts, controls, mask }) => {
    const wire = compressed === null ? content.data : deflateMessage(content.data, compressed);
    const pieces = split(wire, applyCuts(wire.length, cuts));
    const frames: Frame[] = [];
    const pings: Uint8Array[] = [];
    const keyFor = (i: number) => masked ? mask.map((b, j) => b ^ (j === 0 ? i : 0)) : null;
    const control = (c: ControlInsert) => {
      frames.push(frame({
        opcode: c.ping ? Opcode.ping : Opcode.pong,
        payload: c.payload,
        mask: keyFor(100 + frames.length),
      }));
      if (c.ping) pings.push(c.payload);
    };
    pieces.forEach((piece, i) => {
      // RFC 6455 §5.4: control frames may be injected between the fragments of a message.
      if (i > 0) { for (const c of controls) if (c.at === i) control(c); }
      frames.push(frame({
        opcode: i === 0 ? (content.type === 'text' ? Opcode.text : Opcode.binary) : Opcode.continuation,
        payload: piece,
        fin: i === pieces.length - 1,
        rsv1: i === 0 && compressed !== null,
        mask: keyFor(i),
      }));
    });
    for (const c of controls) if (c.at === 0 || c.at >= pieces.length) control(c);
    const message: GeneratedMessage = { ...content, compressed, frames, pings };
    return printable(
      message,
      () =>
        `${content.type} message, ${content.data.length} bytes${
          compressed === null ? '' : `, compressed (${compressed})`
        }:\n${describeFrames(frames)}`,
    );
  });
}

/** Several messages back to back (`maxMessages`, default 5), as one frame list. */
export function traffic(
  options: MessageOptions & { readonly maxMessages?: number } = {},
): fc.Arbitrary<Traffic> {
  return fc.array(messages(options), { maxLength: options.maxMessages ?? 5 }).map((list) => {
    const result: Traffic = {
      messages: list,
      frames: list.flatMap((m) => m.frames),
      pings: list.flatMap((m) => m.pings),
    };
    return printable(result, () => describeFrames(result.frames));
  });
}

/**
 * A single valid frame of any opcode: a whole text or binary message, a ping, a pong, or a close with a
 * valid code and reason. Masked unless `masked: false`.
 */
export function validFrames(
  options: { readonly masked?: boolean; readonly maxSize?: number } = {},
): fc.Arbitrary<
  Frame
> {
  const masked = options.masked ?? true;
  const mask = masked ? maskKey : fc.constant(null);
  return fc.oneof(
    messages({ masked, fragmentation: false, controlFrames: false, maxSize: options.maxSize ?? 65536 })
      .map((m) => m.frames[0]!),
    fc.tuple(fc.constantFrom(Opcode.ping, Opcode.pong), fc.uint8Array({ maxLength: 125 }), mask)
      .map(([opcode, payload, key]) => frame({ opcode, payload, mask: key })),
    fc.tuple(closeCodes(), closeReasons(), mask)
      .map(([code, reason, key]) =>
        frame({ opcode: Opcode.close, payload: closePayload(code, reason), mask: key })
      ),
    mask.map((key) => frame({ opcode: Opcode.close, mask: key })),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Close codes and reasons (RFC 6455 §5.5.1, §7.4)

/** Close codes an endpoint may send: 1000–1003, 1007–1014, and 3000–4999. */
export function closeCodes(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014),
    fc.integer({ min: 3000, max: 4999 }),
  );
}

/**
 * Close codes no endpoint may send (RFC 6455 §7.4.1, §7.4.2): below 1000, 1004–1006 and 1015 (reserved, or
 * never on the wire), unassigned 1016–2999, and 5000 and up.
 */
export function invalidCloseCodes(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: 0, max: 999 }),
    fc.constantFrom(1004, 1005, 1006, 1015),
    fc.integer({ min: 1016, max: 2999 }),
    fc.integer({ min: 5000, max: 65535 }),
  );
}

/** Close reasons: any valid UTF-8 of at most `maxBytes` (default 123, the most that fits a close frame). */
export function closeReasons(maxBytes = 123): fc.Arbitrary<string> {
  return fc.oneof(
    unicodeString(30),
    fc.string({ maxLength: maxBytes }),
    fc.constant('é'.repeat(61) + 'a'),
  ).map((reason) => {
    while (encoder.encode(reason).length > maxBytes) reason = [...reason].slice(0, -1).join('');
    return reason;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Invalid frames

/** The kinds of invalid frames {@link invalidFrames} generates. */
export type InvalidKind =
  | 'reserved-bits'
  | 'reserved-opcode'
  | 'unmasked'
  | 'masked'
  | 'control-too-long'
  | 'control-fragmented'
  | 'unexpected-continuation'
  | 'missing-continuation'
  | 'invalid-utf8'
  | 'invalid-utf8-close-reason'
  | 'bad-close-code'
  | 'one-byte-close'
  | 'length-msb'
  | 'compressed-control'
  | 'compressed-continuation';

/** Every {@link InvalidKind}. */
export const INVALID_KINDS: readonly InvalidKind[] = [
  'reserved-bits',
  'reserved-opcode',
  'unmasked',
  'masked',
  'control-too-long',
  'control-fragmented',
  'unexpected-continuation',
  'missing-continuation',
  'invalid-utf8',
  'invalid-utf8-close-reason',
  'bad-close-code',
  'one-byte-close',
  'length-msb',
  'compressed-control',
  'compressed-continuation',
];

/** Frames a correct peer must refuse, and how. */
export interface InvalidCase {
  readonly kind: InvalidKind;
  /** What is wrong, citing the RFC. */
  readonly description: string;
  /** The frames to send; the last one (or a prefix of it) is the violation. */
  readonly frames: readonly Frame[];
  /** The close code a correct peer answers with: 1002 (protocol error) or 1007 (invalid UTF-8). */
  readonly closeCode: 1002 | 1007;
}

/** Options of {@link invalidFrames}. */
export interface InvalidOptions {
  /** Who receives the frames: a `'server'` (frames masked; default) or a `'client'` (unmasked). */
  readonly to?: 'server' | 'client';
  /** Whether permessage-deflate was negotiated: RSV1 on a first data frame is then valid. Default false. */
  readonly compression?: boolean;
  /** Only these kinds. Default: every kind that applies (`unmasked` only to a server, `masked` only to a client). */
  readonly kinds?: readonly InvalidKind[];
}

/** Byte sequences that are not UTF-8 (RFC 3629): stray continuations, overlongs, surrogates, > U+10FFFF, truncation. */
const INVALID_UTF8: readonly number[][] = [
  [0x80],
  [0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf0, 0x80, 0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xc3, 0x28],
  [0xe2, 0x28, 0xa1],
  [0xe2, 0x82], // truncated at the end of the message
  [0xf0, 0x9f, 0x98],
];

/**
 * Invalid frames of every kind, each with the close code a correct peer answers (RFC 6455 §7.4.1): 1002 for
 * framing errors (§5.2 reserved bits and opcodes, §5.3 masking, §5.4 fragmentation, §5.5 control frames,
 * §7.4 close codes, a 64-bit length with its most significant bit set) and 1007 for text that is not UTF-8
 * (§8.1). Some kinds begin with valid frames (the start of a fragmented message).
 */
export function invalidFrames(options: InvalidOptions = {}): fc.Arbitrary<InvalidCase> {
  const to = options.to ?? 'server';
  const compression = options.compression ?? false;
  const masked = to === 'server';
  const mask = masked ? maskKey : fc.constant(null);
  const make = (
    kind: InvalidKind,
    closeCode: 1002 | 1007,
    description: string,
    frames: Frame[],
  ): InvalidCase =>
    printable(
      { kind, description, frames, closeCode },
      () => `${kind} (expect close ${closeCode}): ${description}\n${describeFrames(frames)}`,
    );
  const dataOpcode = fc.constantFrom(Opcode.text, Opcode.binary);
  const anyKinds: Record<InvalidKind, fc.Arbitrary<InvalidCase>> = {
    'reserved-bits': fc.tuple(
      fc.constantFrom(
        ...(compression ? ['rsv2', 'rsv3'] : ['rsv1', 'rsv2', 'rsv3']) as Array<'rsv1' | 'rsv2' | 'rsv3'>,
      ),
      fc.constantFrom(Opcode.text, Opcode.binary, Opcode.ping, Opcode.pong),
      mask,
    ).map(([bit, opcode, key]) =>
      make('reserved-bits', 1002, `${bit} set without an extension that defines it (RFC 6455 §5.2)`, [
        frame({ opcode, payload: opcode === Opcode.text ? 'hi' : Uint8Array.of(1), mask: key, [bit]: true }),
      ])
    ),
    'reserved-opcode': fc.tuple(
      fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf),
      fc.uint8Array({ maxLength: 8 }),
      mask,
    )
      .map(([opcode, payload, key]) =>
        make('reserved-opcode', 1002, `opcode ${opcode} is reserved (RFC 6455 §5.2)`, [
          frame({ opcode, payload, mask: key }),
        ])
      ),
    'unmasked': fc.tuple(dataOpcode, fc.uint8Array({ maxLength: 8 })).map(([opcode, payload]) =>
      make('unmasked', 1002, 'a client frame without a mask (RFC 6455 §5.1)', [
        frame({ opcode, payload: opcode === Opcode.text ? 'x' : payload }),
      ])
    ),
    'masked': fc.tuple(dataOpcode, maskKey).map(([opcode, key]) =>
      make('masked', 1002, 'a masked frame from a server (RFC 6455 §5.1)', [
        frame({ opcode, payload: 'x', mask: key }),
      ])
    ),
    'control-too-long': fc.tuple(
      fc.constantFrom(Opcode.ping, Opcode.pong, Opcode.close),
      fc.integer({ min: 126, max: 300 }),
      mask,
    ).map(([opcode, length, key]) =>
      make(
        'control-too-long',
        1002,
        `a control frame with ${length} bytes of payload, over 125 (RFC 6455 §5.5)`,
        [
          frame({
            opcode,
            payload: opcode === Opcode.close
              ? closePayload(1000, 'a'.repeat(length - 2))
              : new Uint8Array(length),
            mask: key,
          }),
        ],
      )
    ),
    'control-fragmented': fc.tuple(fc.constantFrom(Opcode.ping, Opcode.pong, Opcode.close), mask).map((
      [opcode, key],
    ) =>
      make('control-fragmented', 1002, 'a control frame without FIN (RFC 6455 §5.5)', [
        frame({
          opcode,
          payload: opcode === Opcode.close ? closePayload(1000) : Uint8Array.of(1),
          fin: false,
          mask: key,
        }),
      ])
    ),
    'unexpected-continuation': fc.tuple(fc.boolean(), mask).map(([fin, key]) =>
      make(
        'unexpected-continuation',
        1002,
        'a continuation frame with no message to continue (RFC 6455 §5.4)',
        [
          frame({ opcode: Opcode.continuation, payload: 'x', fin, mask: key }),
        ],
      )
    ),
    'missing-continuation': fc.tuple(dataOpcode, dataOpcode, mask).map(([first, second, key]) =>
      make(
        'missing-continuation',
        1002,
        'a new data frame while a fragmented message is open (RFC 6455 §5.4)',
        [
          frame({ opcode: first, payload: 'a', fin: false, mask: key }),
          frame({ opcode: second, payload: 'b', mask: key }),
        ],
      )
    ),
    'invalid-utf8': fc.tuple(
      fc.constantFrom(...INVALID_UTF8),
      fc.string({ maxLength: 10 }),
      fc.boolean(),
      fc.nat({ max: 3 }),
      mask,
    ).map(([bad, prefix, fragmented, at, key]) => {
      const payload = concat([encoder.encode(prefix), Uint8Array.from(bad)]);
      const frames = fragmented && payload.length > 1
        ? split(payload, [Math.min(payload.length - 1, at + 1)]).map((piece, i) =>
          frame({
            opcode: i === 0 ? Opcode.text : Opcode.continuation,
            payload: piece,
            fin: i === 1,
            mask: key,
          })
        )
        : [frame({ opcode: Opcode.text, payload, mask: key })];
      return make('invalid-utf8', 1007, 'a text message that is not UTF-8 (RFC 6455 §8.1)', frames);
    }),
    'invalid-utf8-close-reason': fc.tuple(fc.constantFrom(...INVALID_UTF8), closeCodes(), mask).map((
      [bad, code, key],
    ) =>
      make('invalid-utf8-close-reason', 1007, 'a close reason that is not UTF-8 (RFC 6455 §5.5.1)', [
        frame({ opcode: Opcode.close, payload: closePayload(code, Uint8Array.from(bad)), mask: key }),
      ])
    ),
    'bad-close-code': fc.tuple(invalidCloseCodes(), mask).map(([code, key]) =>
      make('bad-close-code', 1002, `close code ${code} may not be sent (RFC 6455 §7.4)`, [
        frame({ opcode: Opcode.close, payload: closePayload(code), mask: key }),
      ])
    ),
    'one-byte-close': fc.tuple(fc.integer({ min: 0, max: 255 }), mask).map(([byte, key]) =>
      make('one-byte-close', 1002, 'a close payload of one byte: a code needs two (RFC 6455 §5.5.1)', [
        frame({ opcode: Opcode.close, payload: Uint8Array.of(byte), mask: key }),
      ])
    ),
    'length-msb': fc.tuple(dataOpcode, fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }), mask).map((
      [opcode, low, key],
    ) =>
      make('length-msb', 1002, 'a 64-bit payload length with its most significant bit set (RFC 6455 §5.2)', [
        frame({ opcode, payload: new Uint8Array(0), declaredLength: (1n << 63n) | low, mask: key }),
      ])
    ),
    'compressed-control': fc.tuple(fc.constantFrom(Opcode.ping, Opcode.pong), mask).map(([opcode, key]) =>
      make('compressed-control', 1002, 'RSV1 on a control frame (RFC 7692 §6.1)', [
        frame({ opcode, payload: Uint8Array.of(1), rsv1: true, mask: key }),
      ])
    ),
    'compressed-continuation': mask.map((key) =>
      make('compressed-continuation', 1002, 'RSV1 on a continuation frame (RFC 7692 §6.1)', [
        frame({
          opcode: Opcode.binary,
          payload: deflateMessage(Uint8Array.of(1, 2), 'stored').subarray(0, 3),
          fin: false,
          rsv1: true,
          mask: key,
        }),
        frame({
          opcode: Opcode.continuation,
          payload: deflateMessage(Uint8Array.of(1, 2), 'stored').subarray(3),
          rsv1: true,
          mask: key,
        }),
      ])
    ),
  };
  const applicable = (kind: InvalidKind): boolean =>
    (kind !== 'unmasked' || to === 'server') && (kind !== 'masked' || to === 'client') &&
    (kind !== 'compressed-continuation' || compression);
  const kinds = (options.kinds ?? INVALID_KINDS).filter(applicable);
  if (kinds.length === 0) throw new RangeError('invalidFrames: no applicable kind');
  return fc.oneof(...kinds.map((kind) => anyKinds[kind]));
}

// ---------------------------------------------------------------------------------------------------------
// Chunkings

/**
 * Ways to cut `bytes` into chunks, as a transport might deliver them: whole, one byte at a time (up to 4 KiB),
 * or at up to `maxCuts` (default 8) random places. Pieces are views of `bytes`.
 */
export function chunkings(
  bytes: Uint8Array,
  options: { readonly maxCuts?: number } = {},
): fc.Arbitrary<Uint8Array[]> {
  const whole = fc.constant<Uint8Array[]>([bytes]);
  const random = fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), {
    maxLength: options.maxCuts ?? 8,
  }).map((positions) => split(bytes, positions.filter((p) => p < bytes.length).sort((a, b) => a - b)));
  const arbs = [whole, random];
  if (bytes.length > 1 && bytes.length <= 4096) {
    arbs.push(fc.constant(Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1))));
  }
  return fc.oneof(...arbs).map((chunks) =>
    printable(chunks, () => `${chunks.length} chunk(s) of ${chunks.map((c) => c.length).join(', ')} bytes`)
  );
}

// ---------------------------------------------------------------------------------------------------------
// Opening handshakes (RFC 6455 §4)

/** A header field: name and value. */
export type Header = readonly [name: string, value: string];

/** A generated handshake request. */
export interface GeneratedRequest {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: readonly Header[];
  /** The `Sec-WebSocket-Key` sent (empty if none). */
  readonly key: string;
  /** Subprotocols offered. */
  readonly subprotocols: readonly string[];
  /** Whether permessage-deflate was offered. */
  readonly compression: boolean;
  /** The whole request head, as bytes. */
  readonly bytes: Uint8Array;
  /** What was broken, or null for a valid request. */
  readonly mutation: RequestMutation | null;
  /** The status a server is expected to refuse with, when the RFC suggests one (426 for a wrong version). */
  readonly statusHint: number | null;
}

/** How {@link badHandshakeRequests} breaks a request. */
export type RequestMutation =
  | 'method'
  | 'http-version'
  | 'no-host'
  | 'no-upgrade'
  | 'upgrade-not-websocket'
  | 'no-connection-upgrade'
  | 'no-key'
  | 'short-key'
  | 'bad-key'
  | 'duplicate-key'
  | 'no-version'
  | 'wrong-version';

/** Options of the handshake request arbitraries. */
export interface RequestOptions {
  /** `Host` header value. Default `'example.com'`. */
  readonly host?: string;
  /** Request target. Default `'/'`. */
  readonly path?: string;
  /** Subprotocols that may be offered. Default `['chat', 'superchat']`. */
  readonly subprotocols?: readonly string[];
  /** Whether to sometimes offer permessage-deflate. Default true. */
  readonly compression?: boolean;
}

const randomCase = (s: string) =>
  fc.constantFrom('lower', 'upper', 'as-is').map((c) =>
    c === 'lower' ? s.toLowerCase() : c === 'upper' ? s.toUpperCase() : s
  );

const wsKey = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(base64);

function serialize(head: string, headers: readonly Header[]): Uint8Array {
  return encoder.encode(`${head}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`);
}

/** The parts of a request before mutation. */
interface RequestParts {
  method: string;
  target: string;
  version: string;
  headers: Header[];
  key: string;
  subprotocols: string[];
  compression: boolean;
}

function requestParts(options: RequestOptions): fc.Arbitrary<RequestParts> {
  const offerable = options.subprotocols ?? ['chat', 'superchat'];
  return fc.record({
    key: wsKey,
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'websocket '),
    connection: fc.constantFrom('Upgrade', 'upgrade', 'keep-alive, Upgrade', 'Upgrade, keep-alive'),
    names: fc.tuple(randomCase('Upgrade'), randomCase('Connection'), randomCase('Sec-WebSocket-Key')),
    subprotocols: offerable.length === 0 ? fc.constant<string[]>([]) : fc.subarray([...offerable]),
    compression: options.compression === false ? fc.constant(false) : fc.boolean(),
    extra: fc.subarray<Header>([['User-Agent', 'sansws-testing'], ['X-Extra', 'a, b'], [
      'Cache-Control',
      'no-cache',
    ]]),
    order: fc.integer(),
  }).map((r) => {
    const headers: Header[] = [
      ['Host', options.host ?? 'example.com'],
      [r.names[0], r.upgrade],
      [r.names[1], r.connection],
      [r.names[2], r.key],
      ['Sec-WebSocket-Version', '13'],
      ...r.extra,
    ];
    if (r.subprotocols.length > 0) headers.push(['Sec-WebSocket-Protocol', r.subprotocols.join(', ')]);
    if (r.compression) {
      headers.push(['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits']);
    }
    // Header order does not matter (RFC 9110 §5.3), except Host first is customary: rotate the rest.
    const rest = headers.slice(1);
    const shift = Math.abs(r.order) % rest.length;
    return {
      method: 'GET',
      target: options.path ?? '/',
      version: 'HTTP/1.1',
      headers: [headers[0]!, ...rest.slice(shift), ...rest.slice(0, shift)],
      key: r.key,
      subprotocols: r.subprotocols,
      compression: r.compression,
    };
  });
}

function finishRequest(
  parts: RequestParts,
  mutation: RequestMutation | null,
  statusHint: number | null,
): GeneratedRequest {
  const bytes = serialize(`${parts.method} ${parts.target} ${parts.version}`, parts.headers);
  const request: GeneratedRequest = { ...parts, bytes, mutation, statusHint };
  return printable(
    request,
    () => `${mutation ?? 'valid'} request:\n${new TextDecoder().decode(bytes).trimEnd()}`,
  );
}

/**
 * Valid opening handshake requests (RFC 6455 §4.1): header names in any case, any order, `Connection` with
 * other tokens, optional subprotocols, a permessage-deflate offer, unrelated extra headers.
 */
export function handshakeRequests(options: RequestOptions = {}): fc.Arbitrary<GeneratedRequest> {
  return requestParts(options).map((parts) => finishRequest(parts, null, 101));
}

const without = (headers: readonly Header[], name: string) =>
  headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
const replace = (headers: readonly Header[], name: string, value: string): Header[] =>
  headers.map(([n, v]) => n.toLowerCase() === name.toLowerCase() ? [n, value] as const : [n, v] as const);

/** Requests a server must refuse (RFC 6455 §4.2.1), each with one {@link RequestMutation}. */
export function badHandshakeRequests(options: RequestOptions = {}): fc.Arbitrary<GeneratedRequest> {
  const mutations: Record<RequestMutation, (p: RequestParts) => fc.Arbitrary<[RequestParts, number | null]>> =
    {
      'method': (p) =>
        fc.constantFrom('POST', 'PUT', 'HEAD', 'DELETE').map((method) => [{ ...p, method }, null]),
      'http-version': (p) => fc.constant([{ ...p, version: 'HTTP/1.0' }, null]),
      'no-host': (p) => fc.constant([{ ...p, headers: without(p.headers, 'host') }, 400]),
      'no-upgrade': (p) => fc.constant([{ ...p, headers: without(p.headers, 'upgrade') }, null]),
      'upgrade-not-websocket': (p) =>
        fc.constantFrom('h2c', 'websockets', 'web socket').map((
          v,
        ) => [{ ...p, headers: replace(p.headers, 'upgrade', v) }, null]),
      'no-connection-upgrade': (p) =>
        fc.constantFrom('keep-alive', 'close', 'upgraded').map((
          v,
        ) => [{ ...p, headers: replace(p.headers, 'connection', v) }, null]),
      'no-key': (p) =>
        fc.constant([{ ...p, key: '', headers: without(p.headers, 'sec-websocket-key') }, 400]),
      'short-key': (p) =>
        fc.integer({ min: 0, max: 32 }).filter((n) => n !== 16).chain((n) =>
          fc.uint8Array({ minLength: n, maxLength: n }).map(base64)
        ).map((key) => [{ ...p, key, headers: replace(p.headers, 'sec-websocket-key', key) }, 400]),
      'bad-key': (p) =>
        fc.constantFrom('not base64 at all!!!!!!!', 'dGhlIHNhbXBsZSBub25jZQ', '????????????????????????').map(
          (key) => [
            { ...p, key, headers: replace(p.headers, 'sec-websocket-key', key) },
            400,
          ],
        ),
      'duplicate-key': (p) =>
        wsKey.map((key) => [{ ...p, headers: [...p.headers, ['Sec-WebSocket-Key', key] as const] }, 400]),
      'no-version': (p) =>
        fc.constant([{ ...p, headers: without(p.headers, 'sec-websocket-version') }, null]),
      'wrong-version': (p) =>
        fc.constantFrom('8', '12', '14', '7', '13.0', 'x').map((v) => [
          { ...p, headers: replace(p.headers, 'sec-websocket-version', v) },
          426,
        ]),
    };
  const names = Object.keys(mutations) as RequestMutation[];
  return fc.tuple(requestParts(options), fc.constantFrom(...names)).chain(([parts, mutation]) =>
    mutations[mutation](parts).map(([mutated, hint]) => finishRequest(mutated, mutation, hint))
  );
}

/** A generated handshake response. */
export interface GeneratedResponse {
  readonly status: number;
  readonly headers: readonly Header[];
  /** The subprotocol selected, if any. */
  readonly subprotocol: string | null;
  /** The whole response head, as bytes. */
  readonly bytes: Uint8Array;
  /** What was broken, or null for a valid 101. */
  readonly mutation: ResponseMutation | null;
}

/** How {@link badHandshakeResponses} breaks a response. */
export type ResponseMutation =
  | 'status'
  | 'bad-accept'
  | 'no-accept'
  | 'no-upgrade'
  | 'no-connection'
  | 'unoffered-subprotocol'
  | 'unoffered-extension';

/** Options of the handshake response arbitraries. */
export interface ResponseOptions {
  /** The client's `Sec-WebSocket-Key`. */
  readonly key: string;
  /** Subprotocols the client offered (the server may pick one). Default none. */
  readonly subprotocols?: readonly string[];
}

function responseParts(options: ResponseOptions) {
  return fc.record({
    upgrade: fc.constantFrom('websocket', 'WebSocket'),
    connection: fc.constantFrom('Upgrade', 'upgrade'),
    names: fc.tuple(randomCase('Upgrade'), randomCase('Connection'), randomCase('Sec-WebSocket-Accept')),
    subprotocol: fc.constantFrom<Array<string | null>>(null, ...(options.subprotocols ?? [])),
    extra: fc.subarray<Header>([['Server', 'sansws-testing'], ['X-Extra', '1']]),
  }).map((r) => {
    const headers: Header[] = [
      [r.names[0], r.upgrade],
      [r.names[1], r.connection],
      [r.names[2], acceptKey(options.key)],
      ...r.extra,
    ];
    if (r.subprotocol !== null) headers.push(['Sec-WebSocket-Protocol', r.subprotocol]);
    return { status: 101, headers, subprotocol: r.subprotocol };
  });
}

function finishResponse(
  parts: { status: number; headers: readonly Header[]; subprotocol: string | null },
  mutation: ResponseMutation | null,
): GeneratedResponse {
  const reason = parts.status === 101 ? 'Switching Protocols' : 'Whatever';
  const bytes = serialize(`HTTP/1.1 ${parts.status} ${reason}`, parts.headers);
  const response: GeneratedResponse = { ...parts, bytes, mutation };
  return printable(
    response,
    () => `${mutation ?? 'valid'} response:\n${new TextDecoder().decode(bytes).trimEnd()}`,
  );
}

/** Valid `101 Switching Protocols` answers to `key` (RFC 6455 §4.2.2), in the variations a client must accept. */
export function handshakeResponses(options: ResponseOptions): fc.Arbitrary<GeneratedResponse> {
  return responseParts(options).map((parts) => finishResponse(parts, null));
}

/** Answers a client must refuse (RFC 6455 §4.1, the client's checks), each with one {@link ResponseMutation}. */
export function badHandshakeResponses(options: ResponseOptions): fc.Arbitrary<GeneratedResponse> {
  const names: ResponseMutation[] = [
    'status',
    'bad-accept',
    'no-accept',
    'no-upgrade',
    'no-connection',
    'unoffered-subprotocol',
    'unoffered-extension',
  ];
  return fc.tuple(
    responseParts(options),
    fc.constantFrom(...names),
    fc.constantFrom(200, 400, 403, 404, 500, 302),
  )
    .map(([p, mutation, status]) => {
      switch (mutation) {
        case 'status':
          return finishResponse({ ...p, status }, mutation);
        case 'bad-accept':
          return finishResponse({
            ...p,
            headers: replace(p.headers, 'sec-websocket-accept', acceptKey(options.key + 'x')),
          }, mutation);
        case 'no-accept':
          return finishResponse({ ...p, headers: without(p.headers, 'sec-websocket-accept') }, mutation);
        case 'no-upgrade':
          return finishResponse({ ...p, headers: without(p.headers, 'upgrade') }, mutation);
        case 'no-connection':
          return finishResponse({ ...p, headers: without(p.headers, 'connection') }, mutation);
        case 'unoffered-subprotocol':
          return finishResponse({
            ...p,
            subprotocol: 'never-offered',
            headers: [...without(p.headers, 'sec-websocket-protocol'), [
              'Sec-WebSocket-Protocol',
              'never-offered',
            ]],
          }, mutation);
        case 'unoffered-extension':
          return finishResponse({
            ...p,
            headers: [...p.headers, ['Sec-WebSocket-Extensions', 'x-never-offered']],
          }, mutation);
      }
    });
}
