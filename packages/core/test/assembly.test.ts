/**
 * How received messages are assembled (whole-message mode) or not (streaming mode): a frame inside one
 * input chunk is delivered as a view of it, a frame spanning chunks is copied into one buffer of its exact
 * size as its pieces arrive, limits are checked before anything is allocated, and streaming mode hands
 * out views of the input without ever gathering a message. Runs of small frames take a fast path in the
 * receiver; the tests here also check that it gives way to the general path for everything unusual.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Connection, WebSocketEvent } from '../src/mod.ts';
import { isValidUtf8 } from '../src/utf8.ts';
import { concatBytes, expectClosedWith, frame, openClient, openServer } from './helpers.ts';
import { runs } from './fc-runs.ts';
import { withJavaScript } from './wasm-off.ts';

const ROLES = ['server', 'client'] as const;

function open(role: 'server' | 'client', options = {}): Connection {
  return role === 'server' ? openServer(options) : openClient(options);
}

function peerMask(
  role: 'server' | 'client',
  key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d),
): Uint8Array | false {
  return role === 'server' ? key : false;
}

function payloadOf(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/**
 * A frame for big payloads: the header from the helpers' byte-by-byte writer (given an empty payload and
 * the length form), the payload masked here with a word-free byte loop.
 */
function bigFrame(opcode: number, fin: boolean, payload: Uint8Array, mask: Uint8Array | false): Uint8Array {
  const n = payload.length;
  const form = n < 126 ? 7 : n < 65536 ? 16 : 64;
  const head = frame({ opcode, fin, payload: new Uint8Array(0), mask, lengthForm: form });
  // Patch the length into the header the helper wrote for an empty payload.
  const header = new Uint8Array(head.length);
  header.set(head);
  if (form === 7) header[1] = (header[1]! & 0x80) | n;
  else if (form === 16) {
    header[2] = n >>> 8;
    header[3] = n & 0xff;
  } else {
    header[6] = (n >>> 24) & 0xff;
    header[7] = (n >>> 16) & 0xff;
    header[8] = (n >>> 8) & 0xff;
    header[9] = n & 0xff;
  }
  const out = new Uint8Array(header.length + n);
  out.set(header);
  for (let i = 0; i < n; i++) {
    out[header.length + i] = mask === false ? payload[i]! : payload[i]! ^ mask[i & 3]!;
  }
  return out;
}

/** Cuts `wire` at the given offsets (sorted, deduplicated, within it) into separate buffers. */
function cut(wire: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = [...new Set(at.filter((p) => p > 0 && p < wire.length))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, wire.length]) {
    pieces.push(wire.slice(start, p));
    start = p;
  }
  return pieces;
}

interface Received {
  type: string;
  data: string | Uint8Array;
}
type Summary = { type: string; data: string | { length: number; sum: number } };

/**
 * The messages in `events` as comparable values, binary data summarised by its length and a checksum (a
 * deep equality over large typed arrays takes seconds).
 */
function received(events: WebSocketEvent[]): Summary[] {
  return summarise(
    events.flatMap((e) => (e.type === 'text' || e.type === 'binary' ? [{ type: e.type, data: e.data }] : [])),
  );
}

function summarise(messages: Received[]): Summary[] {
  return messages.map(({ type, data }) => {
    if (typeof data === 'string') return { type, data };
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum = (Math.imul(sum, 31) + data[i]! + i) | 0;
    return { type, data: { length: data.length, sum } };
  });
}

describe('RFC 6455 §5.4 / §5.6 message assembly (whole-message mode)', () => {
  for (const role of ROLES) {
    it(`${role}: a frame inside one input chunk is delivered as a view of that chunk, not a copy (but a short masked one)`, () => {
      const conn = open(role);
      const sizes = [16, 32, 33, 70_000];
      const chunk = concatBytes(
        sizes.map((n) => frame({ opcode: 2, payload: payloadOf(n), mask: peerMask(role) })),
      );
      const before = chunk.slice();
      conn.receiveData(chunk);
      const events = conn.takeEvents();
      expect(events.map((e) => e.type)).toEqual(sizes.map(() => 'binary'));
      for (const event of events) {
        if (event.type !== 'binary') continue;
        expect(event.data.constructor).toBe(Uint8Array);
        if (role === 'server' && event.data.length <= 32) {
          // Unmasked into an array of its own: the input chunk is left as it was there, and not kept alive.
          expect(event.data.buffer).not.toBe(chunk.buffer);
          expect(event.data.buffer.byteLength).toBe(event.data.length);
        } else {
          expect(event.data.buffer).toBe(chunk.buffer);
        }
      }
      const at = frame({ opcode: 2, payload: payloadOf(16), mask: peerMask(role) }).length;
      expect(chunk.subarray(0, at)).toEqual(before.subarray(0, at));
      expect(received(events)).toEqual(summarise(sizes.map((n) => ({ type: 'binary', data: payloadOf(n) }))));
    });

    it(`${role}: a frame spanning chunks is copied into one buffer of exactly its size`, () => {
      const conn = open(role);
      const data = payloadOf(100_000);
      const wire = frame({ opcode: 2, payload: data, mask: peerMask(role) });
      for (let i = 0; i < wire.length; i += 8192) conn.receiveData(wire.slice(i, i + 8192));
      const [event] = conn.takeEvents();
      expect(event?.type).toBe('binary');
      if (event?.type !== 'binary') return;
      expect(received([event])).toEqual(summarise([{ type: 'binary', data }]));
      expect(event.data.buffer.byteLength).toBe(data.length);
    });

    it(`${role}: a frame spanning chunks above the pre-sizing bound (1 MiB) is still assembled`, () => {
      const conn = open(role, { maxMessageSize: 2 * 1024 * 1024 });
      const data = payloadOf(1024 * 1024 + 3);
      const wire = bigFrame(2, true, data, peerMask(role));
      for (let i = 0; i < wire.length; i += 65536) conn.receiveData(wire.slice(i, i + 65536));
      expect(received(conn.takeEvents())).toEqual(summarise([{ type: 'binary', data }]));
    });

    it(`${role}: a fragmented message is assembled from frames inside and across chunks`, () => {
      const conn = open(role);
      const parts = [payloadOf(10, 1), payloadOf(5000, 2), payloadOf(0), payloadOf(300, 3)];
      const wire = concatBytes(
        parts.map((payload, i) =>
          frame({
            opcode: i === 0 ? 1 : 0,
            fin: i === parts.length - 1,
            payload: ascii(payload),
            mask: peerMask(role),
          })
        ),
      );
      for (let i = 0; i < wire.length; i += 1000) conn.receiveData(wire.slice(i, i + 1000));
      expect(received(conn.takeEvents())).toEqual([
        { type: 'text', data: new TextDecoder().decode(concatBytes(parts.map(ascii))) },
      ]);
    });
  }

  it('messages of every size, in any chunking, fragmented or not, arrive intact and in order', () => {
    const message = fc.record({
      text: fc.boolean(),
      size: fc.oneof(
        fc.constantFrom(0, 1, 31, 32, 33, 125, 126, 127, 65535, 65536),
        fc.integer({ min: 0, max: 140_000 }),
      ),
      frames: fc.integer({ min: 1, max: 4 }),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...ROLES),
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (role, specs, cuts, keys) => {
          const conn = open(role);
          const frames: Uint8Array[] = [];
          const expected: Received[] = [];
          let k = 0;
          for (const spec of specs) {
            const payload = spec.text
              ? ascii(payloadOf(spec.size, spec.seed))
              : payloadOf(spec.size, spec.seed);
            const step = Math.ceil(payload.length / spec.frames);
            for (let f = 0; f < spec.frames; f++) {
              const key = Uint8Array.of(keys[k % Math.max(keys.length, 1)] ?? 0x5a, 0x11, f, 0xee);
              k++;
              frames.push(frame({
                opcode: f === 0 ? (spec.text ? 1 : 2) : 0,
                fin: f === spec.frames - 1,
                payload: payload.subarray(
                  Math.min(f * step, payload.length),
                  Math.min((f + 1) * step, payload.length),
                ),
                mask: peerMask(role, key),
              }));
            }
            expected.push(
              spec.text
                ? { type: 'text', data: new TextDecoder().decode(payload) }
                : { type: 'binary', data: payload },
            );
          }
          const wire = concatBytes(frames);
          for (const piece of cut(wire, cuts.map((c) => c % (wire.length + 1)))) conn.receiveData(piece);
          expect(received(conn.takeEvents())).toEqual(summarise(expected));
          expect(conn.state).toBe('open');
        },
      ),
      { numRuns: Math.max(20, Math.floor(runs / 20)) },
    );
  });
});

describe('RFC 6455 §5.3 + §8.1: large masked text unmasked and validated in one pass (WebAssembly kernels)', () => {
  it('any chunking, with or without a fault: the same events, at the same input chunk, as the JavaScript paths', () => {
    const encoder = new TextEncoder();
    const faults = [[0xc0, 0xaf], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [
      0x80,
    ]];
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 600 }),
        fc.integer({ min: 2, max: 400 }),
        fc.option(fc.tuple(fc.nat(), fc.nat({ max: faults.length - 1 }))),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (text, repeat, fault, cuts, injected) => {
          const parts = Array.from(encoder.encode(text.repeat(repeat)));
          if (fault !== null) parts.splice(fault[0] % parts.length, 0, ...faults[fault[1]]!);
          const payload = Uint8Array.from(parts);
          const wire = concatBytes([
            frame({ opcode: 1, fin: true, payload, mask: Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) }),
            frame({ opcode: 2, fin: true, payload: Uint8Array.of(1, 2, 3), mask: Uint8Array.of(1, 2, 3, 4) }),
          ]);
          const pieces = cut(wire, cuts.map((c) => c % (wire.length + 1)));
          const options = injected ? { validateUtf8: (b: Uint8Array) => isValidUtf8(b) } : {};
          const run = () => {
            const conn = openServer(options);
            // Copies: the receiver unmasks its input in place.
            return pieces.map((piece) => {
              conn.receiveData(piece.slice());
              // Every event, by chunk: the messages summarised, a close by its code.
              return conn.takeEvents().map((e) =>
                e.type === 'closed'
                  ? `closed ${e.code}`
                  : e.type === 'text' || e.type === 'binary'
                  ? JSON.stringify(received([e]))
                  : e.type
              );
            });
          };
          const viaKernels = run();
          expect(viaKernels).toEqual(withJavaScript(run));
          const valid = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
          let ok = true;
          try {
            valid.decode(payload);
          } catch {
            ok = false;
          }
          expect(viaKernels.flat().some((e) => e.startsWith('[{"type":"text"'))).toBe(ok);
          expect(viaKernels.flat().includes('closed 1007')).toBe(!ok);
        },
      ),
      { numRuns: Math.max(30, Math.floor(runs / 20)) },
    );
  });
});

describe('RFC 6455 §10.4 limits are checked before anything is buffered or allocated', () => {
  for (const role of ROLES) {
    it(`${role}: a frame header alone announcing more than maxMessageSize fails with 1009`, () => {
      const conn = open(role, { maxMessageSize: 1000 });
      const wire = frame({ opcode: 2, payload: payloadOf(1001), mask: peerMask(role) });
      conn.receiveData(wire.slice(0, 8));
      expect(expectClosedWith(conn, 1009).error).toMatchObject({ code: 'FRAME_TOO_BIG' });
    });
    it(`${role}: a continuation frame's header taking the message past maxMessageSize fails with 1009`, () => {
      const conn = open(role, { maxMessageSize: 1000, maxFrameSize: 600 });
      conn.receiveData(frame({ opcode: 2, fin: false, payload: payloadOf(600), mask: peerMask(role) }));
      const wire = frame({ opcode: 0, payload: payloadOf(401), mask: peerMask(role) });
      conn.receiveData(wire.slice(0, 8));
      expect(expectClosedWith(conn, 1009).error).toMatchObject({ code: 'MESSAGE_TOO_BIG' });
    });
    it(`${role}: a complete oversized frame inside one chunk fails with 1009, after the messages before it`, () => {
      const conn = open(role, { maxMessageSize: 100 });
      conn.receiveData(concatBytes([
        frame({ opcode: 2, payload: payloadOf(100), mask: peerMask(role) }),
        frame({ opcode: 2, payload: payloadOf(101), mask: peerMask(role) }),
      ]));
      expect(received(conn.takeEvents())).toEqual(summarise([{ type: 'binary', data: payloadOf(100) }]));
      expect(expectClosedWith(conn, 1009).error).toMatchObject({ code: 'FRAME_TOO_BIG' });
    });
    it(`${role}: maxFrameSize below maxMessageSize applies to single-frame messages too`, () => {
      const conn = open(role, { maxFrameSize: 50, maxMessageSize: 1000 });
      conn.receiveData(frame({ opcode: 1, payload: 'x'.repeat(51), mask: peerMask(role) }));
      expect(expectClosedWith(conn, 1009).error).toMatchObject({ code: 'FRAME_TOO_BIG' });
    });
  }
});

describe('streaming mode never gathers a message', () => {
  for (const role of ROLES) {
    it(`${role}: every chunk of a message spanning inputs is a view of an input buffer`, () => {
      const conn = open(role, { streaming: true });
      const data = payloadOf(50_000);
      const wire = frame({ opcode: 2, payload: data, mask: peerMask(role) });
      const inputs = cut(wire, [3, 1000, 20_000, 49_999]);
      for (const piece of inputs) conn.receiveData(piece);
      const events = conn.takeEvents();
      const chunks = events.flatMap((e) => (e.type === 'messageChunk' ? [e.data] : []));
      expect(chunks.length).toBe(4);
      for (const chunk of chunks) expect(inputs.some((input) => input.buffer === chunk.buffer)).toBe(true);
      expect(summarise([{ type: 'binary', data: concatBytes(chunks) }])).toEqual(
        summarise([{ type: 'binary', data }]),
      );
      expect(events.at(-1)).toEqual({ type: 'messageEnd' });
    });
    it(`${role}: small whole frames in one chunk still come as start / chunk / end`, () => {
      const conn = open(role, { streaming: true });
      conn.receiveData(concatBytes([
        frame({ opcode: 1, payload: 'hi', mask: peerMask(role) }),
        frame({ opcode: 2, payload: payloadOf(3), mask: peerMask(role) }),
      ]));
      expect(conn.takeEvents().map((e) => e.type)).toEqual([
        'messageStart',
        'messageChunk',
        'messageEnd',
        'messageStart',
        'messageChunk',
        'messageEnd',
      ]);
    });
    it(`${role}: switching streaming off between messages assembles the next one`, () => {
      const conn = open(role, { streaming: true });
      conn.receiveData(frame({ opcode: 1, payload: 'one', mask: peerMask(role) }));
      expect(conn.takeEvents().map((e) => e.type)).toEqual(['messageStart', 'messageChunk', 'messageEnd']);
      conn.streaming = false;
      conn.receiveData(frame({ opcode: 1, payload: 'two', mask: peerMask(role) }));
      expect(received(conn.takeEvents())).toEqual([{ type: 'text', data: 'two' }]);
    });
  }
});

describe('RFC 6455 §5.1, §5.2, §8.1 in runs of small frames (the receiver fast path)', () => {
  for (const role of ROLES) {
    it(`${role}: short text with multi-byte characters is valid; an invalid byte fails with 1007 after the messages before it`, () => {
      const conn = open(role);
      conn.receiveData(concatBytes([
        frame({ opcode: 1, payload: 'ok', mask: peerMask(role) }),
        frame({ opcode: 1, payload: 'naïve €', mask: peerMask(role) }),
        frame({ opcode: 1, payload: Uint8Array.of(0x61, 0xc3), mask: peerMask(role) }),
        frame({ opcode: 1, payload: 'never', mask: peerMask(role) }),
      ]));
      expect(received(conn.takeEvents())).toEqual([
        { type: 'text', data: 'ok' },
        { type: 'text', data: 'naïve €' },
      ]);
      expect(expectClosedWith(conn, 1007).error).toMatchObject({ code: 'INVALID_UTF8' });
    });
    it(`${role}: a frame masked the wrong way after good ones fails with 1002`, () => {
      const conn = open(role);
      const wrong = role === 'server' ? false : Uint8Array.of(1, 2, 3, 4);
      conn.receiveData(concatBytes([
        frame({ opcode: 2, payload: payloadOf(4), mask: peerMask(role) }),
        frame({ opcode: 2, payload: payloadOf(4), mask: wrong }),
      ]));
      expect(received(conn.takeEvents())).toHaveLength(1);
      expectClosedWith(conn, 1002);
    });
    it(`${role}: RSV bits, reserved opcodes and a data frame inside a fragmented message still fail with 1002`, () => {
      for (
        const bad of [
          frame({ opcode: 2, rsv2: true, payload: 'x', mask: peerMask(role) }),
          frame({ opcode: 3, payload: 'x', mask: peerMask(role) }),
          concatBytes([
            frame({ opcode: 1, fin: false, payload: 'a', mask: peerMask(role) }),
            frame({ opcode: 1, payload: 'b', mask: peerMask(role) }),
          ]),
        ]
      ) {
        const conn = open(role);
        conn.receiveData(
          concatBytes([frame({ opcode: 2, payload: payloadOf(2), mask: peerMask(role) }), bad]),
        );
        expect(received(conn.takeEvents())).toHaveLength(1);
        expectClosedWith(conn, 1002);
      }
    });
    it(`${role}: a 64-bit length form inside one chunk is read (non-minimal lengths are accepted)`, () => {
      const conn = open(role);
      conn.receiveData(frame({ opcode: 2, payload: payloadOf(40), mask: peerMask(role), lengthForm: 64 }));
      expect(received(conn.takeEvents())).toEqual(summarise([{ type: 'binary', data: payloadOf(40) }]));
    });
    it(`${role}: control frames between small data frames are answered in order`, () => {
      const conn = open(role);
      conn.receiveData(concatBytes([
        frame({ opcode: 1, payload: 'a', mask: peerMask(role) }),
        frame({ opcode: 9, payload: 'p', mask: peerMask(role) }),
        frame({ opcode: 1, payload: 'b', mask: peerMask(role) }),
      ]));
      expect(conn.takeEvents().map((e) => e.type)).toEqual(['text', 'ping', 'text']);
    });
  }
  for (const role of ROLES) {
    it(`${role}: text events of frames inside one chunk are views of it (short masked ones arrays of their own), made once, at the right place`, () => {
      const conn = open(role);
      const texts = ['a', 'naïve € 😀', 'x'.repeat(31), 'y'.repeat(33), 'z€'.repeat(40), ''];
      const frames = texts.map((text) => frame({ opcode: 1, payload: text, mask: peerMask(role) }));
      // The input is a view that does not start at the beginning of its buffer.
      const chunk = concatBytes([Uint8Array.of(0xff, 0xfe, 0xfd), ...frames]).subarray(3);
      conn.receiveData(chunk);
      const events = conn.takeEvents();
      expect(events.map((e) => (e.type === 'text' ? e.data : e.type))).toEqual(texts);
      for (const [i, event] of events.entries()) {
        if (event.type !== 'text') continue;
        // A masked text of at most 32 bytes was unmasked into an array of its own, which is its bytes.
        const own = role === 'server' && event.bytes.length <= 32;
        expect(event.bytes.buffer === chunk.buffer).toBe(!own);
        if (own) expect(event.bytes.buffer.byteLength).toBe(event.bytes.length);
        expect(event.bytes).toBe(event.bytes);
        expect(event.bytes.constructor).toBe(Uint8Array);
        expect(new TextDecoder().decode(event.bytes)).toBe(texts[i]);
      }
    });
    it(`${role}: a text assembled in a buffer of a subclass (the \`allocate\` option) has plain Uint8Array bytes`, () => {
      class Special extends Uint8Array {}
      const conn = open(role, { allocate: (n: number) => new Special(n) });
      const wire = frame({ opcode: 1, payload: 'spans two chunks', mask: peerMask(role) });
      conn.receiveData(wire.slice(0, 9));
      conn.receiveData(wire.slice(9));
      const [event] = conn.takeEvents();
      expect(event?.type).toBe('text');
      if (event?.type !== 'text') return;
      expect(event.bytes.constructor).toBe(Uint8Array);
      expect(event.bytes.buffer.byteLength).toBe(16);
      expect(event.data).toBe('spans two chunks');
    });
    it(`${role}: with an injected validator, a 64+ byte text inside a chunk is checked by it (1007 when invalid)`, () => {
      const seen: number[] = [];
      const validateUtf8 = (b: Uint8Array) => {
        seen.push(b.length);
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(b);
          return true;
        } catch {
          return false;
        }
      };
      const conn = open(role, { validateUtf8 });
      const bad = concatBytes([new TextEncoder().encode('b'.repeat(70)), Uint8Array.of(0xed, 0xa0, 0x80)]);
      conn.receiveData(concatBytes([
        frame({ opcode: 1, payload: 'g'.repeat(64), mask: peerMask(role) }),
        frame({ opcode: 1, payload: bad, mask: peerMask(role) }),
      ]));
      expect(received(conn.takeEvents())).toEqual([{ type: 'text', data: 'g'.repeat(64) }]);
      expect(seen).toEqual([64, 73]);
      expect(expectClosedWith(conn, 1007).error).toMatchObject({ code: 'INVALID_UTF8' });
    });
  }
  it('the 1 MiB stream a benchmark feeds (16-byte frames, 64 KiB chunks) arrives whole and intact', () => {
    const conn = openServer();
    const frames: Uint8Array[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const text = `m${String(i).padStart(14, '0')}é`.slice(0, 15);
      expected.push(text);
      frames.push(frame({ opcode: 1, payload: text, mask: Uint8Array.of(i & 0xff, 3, 5, 7) }));
    }
    const wire = concatBytes(frames);
    const events: WebSocketEvent[] = [];
    for (let i = 0; i < wire.length; i += 65536) {
      conn.receiveData(wire.slice(i, i + 65536));
      events.push(...conn.takeEvents());
    }
    expect(events.map((e) => (e.type === 'text' ? e.data : e.type))).toEqual(expected);
  });
});

/** Maps arbitrary bytes to ASCII (valid UTF-8 of the same length). */
function ascii(data: Uint8Array): Uint8Array {
  return data.map((b) => 0x20 + (b % 0x5f));
}
