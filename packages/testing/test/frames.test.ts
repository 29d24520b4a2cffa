/**
 * The package's own frame writer and reader, DEFLATE writer and accept key, against RFC examples and
 * node:zlib / node:crypto; and the readable descriptions counterexamples are printed with.
 */

import { createHash } from 'node:crypto';
import { constants, inflateRawSync } from 'node:zlib';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptKey,
  closePayload,
  decodeFrames,
  deflateMessage,
  describeBytes,
  describeFrame,
  encodeFrame,
  encodeFrames,
  frame,
  FrameReader,
  messages,
  Opcode,
} from '../src/mod.ts';

describe('frame writer (RFC 6455 §5.2, §5.7)', () => {
  it('writes the RFC 6455 §5.7 examples', () => {
    expect(encodeFrame(frame({ opcode: Opcode.text, payload: 'Hello' }))).toEqual(
      Uint8Array.of(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
    );
    expect(encodeFrame(frame({ opcode: Opcode.text, payload: 'Hello', mask: true }))).toEqual(
      Uint8Array.of(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
    );
    expect(encodeFrame(frame({ opcode: Opcode.text, payload: 'Hel', fin: false }))).toEqual(
      Uint8Array.of(0x01, 0x03, 0x48, 0x65, 0x6c),
    );
    expect([...encodeFrame(frame({ opcode: Opcode.binary, payload: new Uint8Array(256) })).subarray(0, 4)])
      .toEqual([0x82, 0x7e, 0x01, 0x00]);
    expect([...encodeFrame(frame({ opcode: Opcode.binary, payload: new Uint8Array(65536) })).subarray(0, 10)])
      .toEqual([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('writes non-minimal lengths and a declared length with the MSB set', () => {
    expect([...encodeFrame(frame({ opcode: 2, payload: Uint8Array.of(9), lengthForm: '16' }))]).toEqual([
      0x82,
      126,
      0,
      1,
      9,
    ]);
    const msb = encodeFrame(frame({ opcode: 2, declaredLength: 1n << 63n }));
    expect([...msb]).toEqual([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('reads back whatever it writes, whole or one byte at a time', () => {
    fc.assert(
      fc.property(messages({ compression: 'mixed', maxSize: 300 }), fc.boolean(), (m, bytewise) => {
        const bytes = encodeFrames(m.frames);
        const reader = new FrameReader();
        const out = [];
        for (const chunk of bytewise ? [...bytes].map((b) => Uint8Array.of(b)) : [bytes]) {
          reader.push(chunk);
          for (let f = reader.next(); f !== undefined; f = reader.next()) out.push(f);
        }
        expect(out.map((f) => [f.opcode, f.fin, f.rsv1, [...f.payload]])).toEqual(
          m.frames.map((f) => [f.opcode, f.fin, f.rsv1, [...f.payload]]),
        );
        expect(reader.buffered).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe('descriptions', () => {
  it('prints opcode, flags, length and a payload preview', () => {
    expect(describeFrame(frame({ opcode: Opcode.text, payload: 'hello', mask: true }))).toBe(
      'TEXT fin masked len=5 "hello"',
    );
    expect(describeFrame(frame({ opcode: Opcode.close, payload: closePayload(1000, 'bye') }))).toBe(
      'CLOSE fin len=5 code=1000 "bye"',
    );
    expect(describeFrame(frame({ opcode: 3, rsv2: true, fin: false }))).toBe('OP3 rsv2 len=0');
    expect(describeFrame(frame({ opcode: Opcode.text, payload: Uint8Array.of(0x61, 0xff) }))).toBe(
      'TEXT fin len=2 <61 ff> (not UTF-8)',
    );
    expect(describeFrame(frame({ opcode: Opcode.binary, payload: new Uint8Array(70000) }))).toBe(
      'BINARY fin len=70000 <00 00 00 00 00 00 00 00 00 00 00 00 … 69988 more>',
    );
    expect(describeFrame(frame({ opcode: Opcode.binary, declaredLength: (1n << 63n) + 5n }))).toBe(
      'BINARY fin len=9223372036854775813 (MSB set), 0 bytes follow',
    );
  });

  it('describes a byte stream frame by frame, incomplete tail included', () => {
    const bytes = encodeFrames([
      frame({ opcode: Opcode.ping, payload: 'p' }),
      frame({ opcode: Opcode.text, payload: 'abc' }),
    ]);
    expect(describeBytes(bytes.subarray(0, bytes.length - 1))).toBe(
      '  1. PING fin len=1 "p"\n     + 4 bytes of an incomplete frame: 81 03 61 62',
    );
    expect(decodeFrames(bytes).map((f) => f.opcode)).toEqual([Opcode.ping, Opcode.text]);
  });

  it('makes fast-check print counterexamples as frames', () => {
    const m = fc.sample(messages({ maxSize: 10, controlFrames: false, fragmentation: false }), {
      seed: 3,
      numRuns: 1,
    })[0]!;
    expect(fc.stringify(m)).toMatch(
      /^(text|binary) message, \d+ bytes:\n {2}1\. (TEXT|BINARY) fin masked len=/,
    );
  });
});

describe('DEFLATE writer (RFC 1951, RFC 7692 §7.2.1) and accept key (RFC 6455 §4.2.2)', () => {
  it('produces what zlib inflates back, for both block types', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.constantFrom('stored' as const, 'fixed' as const),
        (data, method) => {
          const wire = deflateMessage(data, method);
          const out = inflateRawSync(Buffer.concat([wire, Uint8Array.of(0, 0, 0xff, 0xff)]), {
            finishFlush: constants.Z_SYNC_FLUSH,
          });
          expect(out.equals(data)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('computes the RFC example and agrees with node:crypto', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (key) => {
        const expected = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest(
          'base64',
        );
        expect(acceptKey(key)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});
