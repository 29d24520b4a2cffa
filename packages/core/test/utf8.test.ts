/**
 * UTF-8 validation (RFC 3629), as WebSocket text needs it (RFC 6455 §8.1): the verdict must match a
 * fatal TextDecoder, and the incremental validator must fail at the first impossible byte (Autobahn 6.x
 * "fail fast"), wherever the input is cut into pieces.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import { isValidUtf8, Utf8Validator } from '../src/utf8.ts';
import { runs } from './fc-runs.ts';
import { concatBytes, decoderAccepts } from './helpers.ts';

const encoder = new TextEncoder();

function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  return Uint8Array.from(
    { length: digits.length / 2 },
    (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16),
  );
}

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

/**
 * The oracle for fail-fast: the index of the first byte after which `bytes[0..=i]` can no longer be
 * extended to valid UTF-8, or -1 if every prefix can. Written straight from the RFC 3629 §4 grammar,
 * one code point at a time, and itself checked against TextDecoder below.
 */
function firstImpossibleByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    let more: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead <= 0x7f) more = 0;
    else if (lead >= 0xc2 && lead <= 0xdf) more = 1;
    else if (lead === 0xe0) [more, low] = [2, 0xa0];
    else if ((lead >= 0xe1 && lead <= 0xec) || lead === 0xee || lead === 0xef) more = 2;
    else if (lead === 0xed) [more, high] = [2, 0x9f];
    else if (lead === 0xf0) [more, low] = [3, 0x90];
    else if (lead >= 0xf1 && lead <= 0xf3) more = 3;
    else if (lead === 0xf4) [more, high] = [3, 0x8f];
    else return i;
    for (let k = 1; k <= more; k++) {
      if (i + k === bytes.length) return -1;
      const byte = bytes[i + k]!;
      if (k === 1 ? byte < low || byte > high : byte < 0x80 || byte > 0xbf) return i + k;
    }
    i += more + 1;
  }
  return -1;
}

/** Whether TextDecoder accepts `prefix` followed by some completion: nothing, or x, x 80, x 80 80. */
function decoderAcceptsSomeCompletion(prefix: Uint8Array): boolean {
  if (decoderAccepts(prefix)) return true;
  for (let more = 1; more <= 3; more++) {
    const candidate = concat(prefix, new Uint8Array(more).fill(0x80));
    for (let x = 0; x < 256; x++) {
      candidate[prefix.length] = x;
      if (decoderAccepts(candidate)) return true;
    }
  }
  return false;
}

/** Feeds `bytes` cut at `cuts` (sorted) and returns what each update said and what finish said. */
function feed(
  validator: Utf8Validator,
  bytes: Uint8Array,
  cuts: number[],
): { updates: boolean[]; final: boolean } {
  validator.reset();
  const bounds = [0, ...cuts, bytes.length];
  const updates = [];
  for (let k = 0; k + 1 < bounds.length; k++) updates.push(validator.update(bytes, bounds[k], bounds[k + 1]));
  return { updates, final: updates.every(Boolean) && validator.finish() };
}

/** What each update must say: true until the piece that holds the first impossible byte, false from it on. */
function expectedUpdates(bytes: Uint8Array, cuts: number[]): boolean[] {
  const fail = firstImpossibleByte(bytes);
  const ends = [...cuts, bytes.length];
  // An empty piece reports whatever the pieces before it did.
  return ends.map((end) => {
    return fail === -1 || fail >= end;
  });
}

// --- Generators: random bytes are almost never valid, so most of these stay near valid UTF-8. ---

const edgeByte = fc.constantFrom(
  0x00,
  0x2f,
  0x41,
  0x7f,
  0x80,
  0x8f,
  0x90,
  0x9f,
  0xa0,
  0xbf,
  0xc0,
  0xc1,
  0xc2,
  0xdf,
  0xe0,
  0xe1,
  0xec,
  0xed,
  0xee,
  0xef,
  0xf0,
  0xf1,
  0xf3,
  0xf4,
  0xf5,
  0xf7,
  0xf8,
  0xfb,
  0xfc,
  0xfd,
  0xfe,
  0xff,
);
const anyByte = fc.oneof(edgeByte, fc.integer({ min: 0, max: 255 }));

const validText = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
  )
  .map((s) => encoder.encode(s));

/** Code points (overlong, surrogate, beyond U+10FFFF included) in the pre-2003 1..6-byte scheme. */
const looseSequence = fc
  .record({ length: fc.integer({ min: 1, max: 6 }), value: fc.nat(), truncateBy: fc.nat({ max: 5 }) })
  .map(({ length, value, truncateBy }) => {
    const out = new Uint8Array(length);
    let v = length === 1 ? value & 0x7f : value % 2 ** (5 * length + 1);
    for (let k = length - 1; k > 0; k--) {
      out[k] = 0x80 | (v & 0x3f);
      v = Math.floor(v / 64);
    }
    out[0] = length === 1 ? v : ((0xff00 >> length) & 0xff) | v;
    return truncateBy < length && truncateBy <= 1 ? out.subarray(0, length - truncateBy) : out;
  });
const looseText = fc.array(fc.oneof(looseSequence, validText), { maxLength: 6 }).map((parts) =>
  concat(...parts)
);

type Mutation = { kind: 'set' | 'insert' | 'delete'; at: number; byte: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const),
  at: fc.nat(),
  byte: anyByte,
});
function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  const out = [...bytes];
  for (const { kind, at, byte } of mutations) {
    const i = at % (out.length + 1);
    if (kind === 'insert') out.splice(i, 0, byte);
    else if (i < out.length) out.splice(i, 1, ...(kind === 'set' ? [byte] : []));
  }
  return Uint8Array.from(out);
}
const mutatedText = fc
  .tuple(validText, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([bytes, mutations]) => mutate(bytes, mutations));

/** ASCII runs around the interesting part, so that the eight-bytes-at-a-time path is entered and left. */
const asciiRun = fc.string({ unit: 'binary-ascii', maxLength: 24 }).map((s) => encoder.encode(s));

const nearValid = fc
  .tuple(asciiRun, fc.oneof(mutatedText, looseText, validText, fc.uint8Array({ maxLength: 12 })), asciiRun)
  .map((parts) => concat(...parts));
const arbitraryBytes = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.array(anyByte, { maxLength: 24 }).map((b) => Uint8Array.from(b)),
);
const input = fc.oneof(nearValid, nearValid, arbitraryBytes);

function withCuts(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<[Uint8Array, number[]]> {
  return bytes.chain((b) =>
    fc.tuple(
      fc.constant(b),
      fc.uniqueArray(fc.integer({ min: 0, max: b.length }), { maxLength: 6 }).map((c) =>
        c.sort((x, y) => x - y)
      ),
    )
  );
}

// --- Known vectors -----------------------------------------------------------------------------------

/** [description, bytes, index of the first impossible byte or -1, valid as a whole]. */
type Vector = [string, Uint8Array, number, boolean];

const kosme = hex('ce ba e1 bd b9 cf 83 ce bc ce b5');
const edited = encoder.encode('edited');

const vectors: Vector[] = [
  ['empty', new Uint8Array(0), -1, true],
  ['ASCII', encoder.encode('Hello, world! 0123456789 and some more ASCII'), -1, true],
  ['"Hello-µ@ßöäüàá-UTF-8!!" (Autobahn 6.2)', encoder.encode('Hello-µ@ßöäüàá-UTF-8!!'), -1, true],
  ['κόσμε (Autobahn 6.5)', kosme, -1, true],
  ['κόσμε then a surrogate (Autobahn 6.3.2)', concat(kosme, hex('ed a0 80'), edited), 12, false],
  ['κόσμε then U+110000 (Autobahn 6.4.1)', concat(kosme, hex('f4 90 80 80'), edited), 12, false],
  ['a byte-order mark is ordinary text', hex('ef bb bf 41'), -1, true],
  // Autobahn 6.7 and 6.9: first and last code point of each length.
  ['U+0000', hex('00'), -1, true],
  ['U+0080', hex('c2 80'), -1, true],
  ['U+0800', hex('e0 a0 80'), -1, true],
  ['U+10000', hex('f0 90 80 80'), -1, true],
  ['U+007F', hex('7f'), -1, true],
  ['U+07FF', hex('df bf'), -1, true],
  ['U+FFFF', hex('ef bf bf'), -1, true],
  ['U+10FFFF, the maximum', hex('f4 8f bf bf'), -1, true],
  // Autobahn 6.11: other boundaries.
  ['U+D7FF, just below the surrogates', hex('ed 9f bf'), -1, true],
  ['U+E000, just above the surrogates', hex('ee 80 80'), -1, true],
  ['U+FFFD', hex('ef bf bd'), -1, true],
  ['U+110000, just above the maximum', hex('f4 90 80 80'), 1, false],
  // Autobahn 6.8 and 6.10: 5- and 6-byte forms, and 4-byte forms beyond U+10FFFF.
  ['5-byte form of U+200000', hex('f8 88 80 80 80'), 0, false],
  ['6-byte form of U+4000000', hex('fc 84 80 80 80 80'), 0, false],
  ['F7 BF BF BF (U+1FFFFF)', hex('f7 bf bf bf'), 0, false],
  ['FB BF BF BF BF (5 bytes)', hex('fb bf bf bf bf'), 0, false],
  ['FD BF BF BF BF BF (6 bytes)', hex('fd bf bf bf bf bf'), 0, false],
  // Autobahn 6.12: stray continuation bytes.
  ['a lone 80', hex('80'), 0, false],
  ['a lone BF', hex('bf'), 0, false],
  ['ASCII then a stray continuation', hex('41 42 80'), 2, false],
  ['a complete 2-byte sequence then a stray continuation', hex('c2 80 80'), 2, false],
  // Autobahn 6.13: lead bytes followed by a space.
  ['C0 then a space', hex('c0 20'), 0, false],
  ['C2 then a space', hex('c2 20'), 1, false],
  ['E1 then a space', hex('e1 20'), 1, false],
  ['E1 80 then a space', hex('e1 80 20'), 2, false],
  ['F1 then a space', hex('f1 20'), 1, false],
  ['F1 80 80 then a space', hex('f1 80 80 20'), 3, false],
  // Autobahn 6.14/6.15: sequences with the last byte missing; valid prefixes, invalid messages.
  ['truncated 2-byte sequence', hex('df'), -1, false],
  ['truncated 3-byte sequence', hex('ef bf'), -1, false],
  ['truncated 4-byte sequence', hex('f4 8f bf'), -1, false],
  ['two truncated sequences back to back', hex('df ef bf'), 1, false],
  // Autobahn 6.16: impossible bytes.
  ['FE', hex('fe'), 0, false],
  ['FF', hex('ff'), 0, false],
  // Autobahn 6.17-6.19: overlong forms.
  ['overlong "/" in 2 bytes', hex('c0 af'), 0, false],
  ['overlong "/" in 3 bytes', hex('e0 80 af'), 1, false],
  ['overlong "/" in 4 bytes', hex('f0 80 80 af'), 1, false],
  ['maximum overlong 2-byte form', hex('c1 bf'), 0, false],
  ['maximum overlong 3-byte form', hex('e0 9f bf'), 1, false],
  ['maximum overlong 4-byte form', hex('f0 8f bf bf'), 1, false],
  ['overlong NUL in 2 bytes', hex('c0 80'), 0, false],
  ['overlong NUL in 3 bytes', hex('e0 80 80'), 1, false],
  ['overlong NUL in 4 bytes', hex('f0 80 80 80'), 1, false],
  // Autobahn 6.20/6.21: surrogates, single and paired.
  ['U+D800', hex('ed a0 80'), 1, false],
  ['U+DB7F', hex('ed ad bf'), 1, false],
  ['U+DC00', hex('ed b0 80'), 1, false],
  ['U+DFFF', hex('ed bf bf'), 1, false],
  ['U+D800 U+DC00, a CESU-8 pair', hex('ed a0 80 ed b0 80'), 1, false],
  // Autobahn 6.22: noncharacters are valid UTF-8.
  ['U+FFFE', hex('ef bf be'), -1, true],
  ['U+1FFFE', hex('f0 9f bf be'), -1, true],
  ['U+10FFFE', hex('f4 8f bf be'), -1, true],
  ['U+FDD0', hex('ef b7 90'), -1, true],
  // Long enough to go through the eight-byte ASCII path, with the fault after it.
  ['40 ASCII bytes then C0', concat(new Uint8Array(40).fill(0x61), hex('c0')), 40, false],
  ['43 ASCII bytes then U+20AC', concat(new Uint8Array(43).fill(0x61), hex('e2 82 ac')), -1, true],
];

describe('RFC 3629 / RFC 6455 §8.1: known vectors (Autobahn 6.x)', () => {
  it.each(vectors)('%s', (_, bytes, fail, valid) => {
    expect(firstImpossibleByte(bytes), 'the reference agrees with the vector').toBe(fail);
    expect(decoderAccepts(bytes), 'TextDecoder agrees with the vector').toBe(valid);
    expect(isValidUtf8(bytes)).toBe(valid);

    const validator = new Utf8Validator();
    expect(validator.update(bytes)).toBe(fail === -1);
    expect(validator.finish()).toBe(valid);

    // One byte at a time, the first false comes exactly at the impossible byte.
    validator.reset();
    const verdicts = Array.from(bytes, (_, i) => validator.update(bytes, i, i + 1));
    expect(verdicts.indexOf(false)).toBe(fail);
    expect(validator.finish()).toBe(valid);

    // Every split point in two.
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(feed(validator, bytes, [cut]).updates).toEqual(expectedUpdates(bytes, [cut]));
      expect(feed(validator, bytes, [cut]).final).toBe(valid);
    }
  });
});

describe('RFC 3629: every one- and two-byte input', () => {
  it('agrees with TextDecoder and fails at the first impossible byte', () => {
    const validator = new Utf8Validator();
    const pair = new Uint8Array(2);
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        pair[0] = a;
        pair[1] = b;
        const fail = firstImpossibleByte(pair);
        if (isValidUtf8(pair) !== decoderAccepts(pair)) expect.fail(`disagree on ${a} ${b}`);
        validator.reset();
        const first = validator.update(pair, 0, 1);
        const second = validator.update(pair, 1, 2);
        if (first !== (fail !== 0) || second !== (fail === -1)) expect.fail(`fail-fast wrong on ${a} ${b}`);
      }
      expect(isValidUtf8(Uint8Array.of(a))).toBe(decoderAccepts(Uint8Array.of(a)));
    }
  });
});

describe('RFC 3629: the fail-fast reference itself', () => {
  it('matches "no completion makes it valid" decided by TextDecoder, on short inputs', () => {
    fc.assert(
      fc.property(fc.array(anyByte, { maxLength: 5 }), (array) => {
        const bytes = Uint8Array.from(array);
        const fail = firstImpossibleByte(bytes);
        for (let i = 0; i < bytes.length; i++) {
          expect(decoderAcceptsSomeCompletion(bytes.subarray(0, i + 1))).toBe(fail === -1 || i < fail);
        }
      }),
      { numRuns: Math.max(50, Math.ceil(runs / 5)) },
    );
  });
});

describe('RFC 6455 §8.1 / RFC 3629: properties', () => {
  it('isValidUtf8 agrees with a fatal TextDecoder on valid text', () => {
    fc.assert(
      fc.property(fc.tuple(asciiRun, validText, asciiRun).map((p) => concat(...p)), (bytes) => {
        expect(isValidUtf8(bytes)).toBe(true);
      }),
      { numRuns: runs },
    );
  });

  it('isValidUtf8 agrees with a fatal TextDecoder on near-valid and arbitrary bytes', () => {
    fc.assert(
      fc.property(input, (bytes) => {
        expect(isValidUtf8(bytes)).toBe(decoderAccepts(bytes));
      }),
      { numRuns: runs * 3 },
    );
  });

  it('isValidUtf8 looks only at the given range', () => {
    fc.assert(
      fc.property(input, arbitraryBytes, arbitraryBytes, (bytes, before, after) => {
        const all = concat(before, bytes, after);
        expect(isValidUtf8(all, before.length, before.length + bytes.length)).toBe(decoderAccepts(bytes));
        // A view with a non-zero byteOffset, too.
        expect(isValidUtf8(all.subarray(before.length, before.length + bytes.length))).toBe(
          decoderAccepts(bytes),
        );
      }),
      { numRuns: runs },
    );
  });

  it('Utf8Validator, cut anywhere in two, fails in the piece with the first impossible byte', () => {
    const validator = new Utf8Validator();
    fc.assert(
      fc.property(input, (bytes) => {
        const valid = decoderAccepts(bytes);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const { updates, final } = feed(validator, bytes, [cut]);
          expect(updates).toEqual(expectedUpdates(bytes, [cut]));
          expect(final).toBe(valid);
        }
      }),
      { numRuns: runs },
    );
  });

  it('Utf8Validator, cut in random places, fails in the piece with the first impossible byte', () => {
    const validator = new Utf8Validator();
    fc.assert(
      fc.property(withCuts(input), ([bytes, cuts]) => {
        const { updates, final } = feed(validator, bytes, cuts);
        expect(updates).toEqual(expectedUpdates(bytes, cuts));
        expect(final).toBe(decoderAccepts(bytes));
      }),
      { numRuns: runs * 3 },
    );
  });

  it('Utf8Validator, fed one-byte arrays, fails exactly at the first impossible byte', () => {
    const validator = new Utf8Validator();
    fc.assert(
      fc.property(input, (bytes) => {
        validator.reset();
        const verdicts = Array.from(bytes, (byte) => validator.update(Uint8Array.of(byte)));
        expect(verdicts.indexOf(false)).toBe(firstImpossibleByte(bytes));
        expect(verdicts.indexOf(false) === -1 && validator.finish()).toBe(decoderAccepts(bytes));
      }),
      { numRuns: runs },
    );
  });
});

describe('Utf8Validator: calling contract', () => {
  it('keeps reporting false after a failure, until reset', () => {
    const validator = new Utf8Validator();
    expect(validator.update(hex('c0'))).toBe(false);
    expect(validator.update(encoder.encode('fine'))).toBe(false);
    expect(validator.update(new Uint8Array(0))).toBe(false);
    expect(validator.finish()).toBe(false);
    validator.reset();
    expect(validator.update(encoder.encode('fine'))).toBe(true);
    expect(validator.finish()).toBe(true);
  });

  it('finish does not reset, so a truncated sequence can still be completed', () => {
    const validator = new Utf8Validator();
    expect(validator.update(hex('e2 82'))).toBe(true);
    expect(validator.finish()).toBe(false);
    expect(validator.update(hex('ac'))).toBe(true);
    expect(validator.finish()).toBe(true);
    expect(validator.finish()).toBe(true);
  });

  it('rejects ranges outside the buffer with a UsageError', () => {
    const bytes = encoder.encode('abc');
    const validator = new Utf8Validator();
    for (const [start, end] of [[-1, 2], [0, 4], [2, 1], [0.5, 2], [Number.NaN, 2]] as const) {
      expect(() => validator.update(bytes, start, end)).toThrow(UsageError);
      expect(() => isValidUtf8(bytes, start, end)).toThrow(UsageError);
    }
    expect(isValidUtf8(bytes, 3)).toBe(true);
    expect(validator.update(bytes, 1)).toBe(true);
  });
});
