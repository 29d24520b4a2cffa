/**
 * The injected masker (`mask`, what the Node adapter sets to bufferutil's native `mask`): RFC 6455 §5.3
 * masking through it gives the bytes of the core's own paths for every phase, offset and size, in place
 * and into another buffer; the source of a copy is never modified; a masker that throws before writing
 * costs speed, never bytes; received messages are those received without it under any chunking, and the
 * client's sent frames decode to the caller's payload, which stays as it was.
 */

import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMask, type Masker } from '../src/mask.ts';
import type { Connection, ConnectionOptions, WebSocketEvent } from '../src/mod.ts';
import { concatBytes, frame, openPair, openServer, parseFrames } from './helpers.ts';
import { runs } from './fc-runs.ts';
import { withJavaScript } from './wasm-off.ts';

/** bufferutil (a devDependency here, an optional dependency of @sansws/node), native when it loads. */
const bufferutil = createRequire(import.meta.url)('bufferutil') as { mask: Masker };

/** The RFC's definition, byte by byte: the reference every path is checked against. */
function reference(data: Uint8Array, key: Uint8Array, phase: number): Uint8Array {
  const out = data.slice();
  for (let i = 0; i < out.length; i++) out[i]! ^= key[(phase + i) & 3]!;
  return out;
}

/** A masker in bufferutil's signature that records its calls (the key it got, the length). */
function recordingMasker(): { mask: Masker; calls: Array<{ key: number[]; length: number }> } {
  const calls: Array<{ key: number[]; length: number }> = [];
  const mask: Masker = (source, key, output, offset, length) => {
    calls.push({ key: [...key], length });
    for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ key[i & 3]!;
  };
  return { mask, calls };
}

function pattern(size: number, seed = 11): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + seed) & 0xff;
  return out;
}

const KEY = Uint8Array.of(0x9c, 0x05, 0xe1, 0x7a);

/** A copy of `bytes` as a view starting `lead` bytes into a larger buffer. */
function viewAt(lead: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(lead + bytes.length + 3).fill(0x5c).subarray(lead, lead + bytes.length);
  out.set(bytes);
  return out;
}
const PATHS = ['recording masker', 'bufferutil', 'WebAssembly', 'JavaScript'] as const;
type Path = (typeof PATHS)[number];

/** Runs applyMask by one path. */
function maskBy(
  path: Path,
  data: Uint8Array,
  phase: number,
  start: number,
  end: number,
  dst: Uint8Array,
  at: number,
): void {
  const native = path === 'recording masker'
    ? recordingMasker().mask
    : path === 'bufferutil'
    ? bufferutil.mask
    : undefined;
  const run = (): void => applyMask(data, KEY, phase, start, end, native, dst, at);
  if (path === 'JavaScript') withJavaScript(run);
  else run();
}

describe('applyMask with an injected masker (RFC 6455 §5.3)', () => {
  for (const path of PATHS) {
    it(`RFC 6455 §5.3: ${path}: every phase, offset and size, in place and into another buffer`, () => {
      for (const size of [0, 1, 31, 32, 33, 1023, 1024, 1025, 8191, 8192, 8193]) {
        for (let phase = 0; phase < 6; phase++) {
          for (const offset of [0, 1, 3]) {
            const source = pattern(size + offset + 2);
            const expected = reference(source.subarray(offset, offset + size), KEY, phase);

            // Views that do not start their buffer, as a socket's pooled chunks do not.
            const inPlace = viewAt(phase, source);
            maskBy(path, inPlace, phase, offset, offset + size, inPlace, offset);
            expect(inPlace.subarray(offset, offset + size)).toEqual(expected);
            // Bytes outside the range are untouched.
            expect(inPlace.subarray(0, offset)).toEqual(source.subarray(0, offset));
            expect(inPlace.subarray(offset + size)).toEqual(source.subarray(offset + size));

            const from = viewAt(phase + 1, source);
            const into = viewAt(phase + 2, new Uint8Array(size + 7).fill(0xee));
            maskBy(path, from, phase, offset, offset + size, into, 5 - (phase & 1));
            const at = 5 - (phase & 1);
            expect(into.subarray(at, at + size)).toEqual(expected);
            expect(from, 'the source of a copy is left as it was').toEqual(source);
          }
        }
      }
    });
  }

  it('RFC 6455 §5.3: the masker gets the key rotated to the phase, and only from 8 KiB', () => {
    const { mask, calls } = recordingMasker();
    const data = pattern(9000);
    applyMask(data, KEY, 6, 0, 8191, mask);
    expect(calls).toEqual([]);
    applyMask(data, KEY, 6, 0, 8192, mask);
    expect(calls).toEqual([{ key: [KEY[2], KEY[3], KEY[0], KEY[1]], length: 8192 }]);
  });

  it('RFC 6455 §5.3: a masker that throws before writing costs speed, never bytes', () => {
    const throwing: Masker = () => {
      throw new Error('broken');
    };
    for (const dstIsSource of [true, false]) {
      for (const wasm of [true, false]) {
        const source = pattern(9000);
        const data = source.slice();
        const dst = dstIsSource ? data : new Uint8Array(9000);
        const run = (): void => applyMask(data, KEY, 1, 0, 9000, throwing, dst, 0);
        if (wasm) run();
        else withJavaScript(run);
        expect(dst).toEqual(reference(source, KEY, 1));
        if (!dstIsSource) expect(data).toEqual(source);
      }
    }
  });

  it('bufferutil loaded its native build here (the Node adapter relies on the same package)', () => {
    expect(bufferutil.mask.toString()).toContain('[native code]');
  });
});

/** The messages a connection delivers for `wire` cut at `cuts`, as `type:bytes` strings (bytes as Latin-1). */
function receive(conn: Connection, wire: Uint8Array, cuts: readonly number[]): string[] {
  const out: string[] = [];
  const latin1 = (data: Uint8Array): string =>
    Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1');
  let from = 0;
  for (const at of [...new Set(cuts)].sort((a, b) => a - b).concat(wire.length)) {
    if (at <= from) continue;
    conn.receiveData(wire.slice(from, at));
    from = at;
    for (const event of conn.takeEvents() as WebSocketEvent[]) {
      if (event.type === 'text') out.push(`text:${latin1(event.bytes)}`);
      else if (event.type === 'binary') out.push(`binary:${latin1(event.data)}`);
      else if (event.type === 'messageChunk') out.push(`chunk:${latin1(event.data)}`);
      else if (event.type === 'closed') out.push(`closed:${event.code}`);
    }
  }
  return out;
}

const textBytes = (size: number): Uint8Array => new TextEncoder().encode('añ€😀'.repeat(size).slice(0, size));

describe('the engine with an injected masker', () => {
  it('RFC 6455 §5.3, §5.4: a server receives what it receives without one, under any chunking', () => {
    const message = fc.record({
      text: fc.boolean(),
      size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1000, max: 70_000 })),
      fragments: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        (messages, rawCuts, streaming, validate) => {
          const parts: Uint8Array[] = [];
          messages.forEach(({ text, size, fragments }, n) => {
            const payload = text ? textBytes(size) : pattern(size, n);
            const step = Math.ceil(payload.length / fragments) || 1;
            for (let i = 0, first = true; first || i < payload.length; i += step, first = false) {
              parts.push(frame({
                opcode: first ? (text ? 1 : 2) : 0,
                fin: i + step >= payload.length,
                payload: payload.subarray(i, i + step),
                mask: Uint8Array.of(n, 0x5a, 0xc3, 0x17 + n),
              }));
            }
          });
          const wire = concatBytes(parts);
          const cuts = rawCuts.map((c) => c % (wire.length + 1));
          const base: ConnectionOptions = { streaming, ...(validate ? { validateUtf8: () => true } : {}) };
          const expected = receive(openServer(base), wire, cuts);
          const { mask, calls } = recordingMasker();
          expect(receive(openServer({ ...base, mask }), wire, cuts)).toEqual(expected);
          expect(receive(openServer({ ...base, mask: bufferutil.mask }), wire, cuts)).toEqual(expected);
          // Uncut, a binary frame of 8 KiB or more is unmasked by the masker (text too, except where the
          // kernels unmask and validate it in one pass: no validateUtf8, whole messages, one frame).
          if (cuts.length === 0 && messages.some((m) => !m.text && m.size >= 8192 * m.fragments)) {
            expect(calls.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: Math.max(50, runs / 10) },
    );
  });

  it('RFC 6455 §5.2: a 64 KiB frame cut by the transport is unmasked by the masker into one buffer', () => {
    const { mask, calls } = recordingMasker();
    const server = openServer({ mask });
    const payload = pattern(65_536);
    const wire = frame({ opcode: 2, payload, mask: KEY });
    server.receiveData(wire.slice(0, 40_001));
    server.receiveData(wire.slice(40_001));
    const events = server.takeEvents() as WebSocketEvent[];
    expect(events.map((e) => e.type)).toEqual(['binary']);
    expect((events[0] as { data: Uint8Array }).data).toEqual(payload);
    // Two pieces (40,001 - 14 header bytes, then the rest), the second at phase 39,987 % 4 = 3.
    expect(calls.map((c) => c.length)).toEqual([39_987, 25_549]);
    expect(calls[1]!.key).toEqual([KEY[3], KEY[0], KEY[1], KEY[2]]);
  });

  it('RFC 6455 §8.1: text unmasked by the masker is still validated, and fails with 1007', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    const validateUtf8 = (b: Uint8Array): boolean => {
      try {
        fatal.decode(b);
        return true;
      } catch {
        return false;
      }
    };
    // Whole in one chunk (with an injected validator) and cut in two (the core's validator).
    for (const [options, cut] of [[{ validateUtf8 }, 0], [{}, 1500]] as const) {
      const { mask, calls } = recordingMasker();
      const server = openServer({ ...options, mask });
      const payload = textBytes(6000); // 12,000 bytes
      const good = frame({ opcode: 1, payload, mask: KEY });
      payload[9000] = 0xff;
      const bad = frame({ opcode: 1, payload, mask: KEY });
      for (const wire of [good, bad]) {
        if (cut === 0) server.receiveData(wire);
        else {
          server.receiveData(wire.slice(0, cut));
          server.receiveData(wire.slice(cut));
        }
      }
      // The engine reports the failure once the message before it was taken.
      const events = [...server.takeEvents(), ...server.takeEvents()] as WebSocketEvent[];
      expect(events.map((e) => e.type)).toEqual(['text', 'closed']);
      expect(events[1]).toMatchObject({ code: 1007 });
      // Cut, the first piece (below 8 KiB) goes through the kernel, the second through the masker.
      expect(calls.length).toBe(2);
    }
  });

  it('RFC 6455 §5.3: a client masks through it; the frames decode to the payload, which stays as it was', () => {
    for (const size of [10, 1024, 8192, 20_000, 70_000]) {
      const { mask, calls } = recordingMasker();
      const { client } = openPair({}, { mask });
      const payload = pattern(size, 3);
      const copy = payload.slice();
      client.sendBinary(payload);
      client.sendText('é'.repeat(size));
      const frames = parseFrames(concatBytes(client.takeOutput()));
      expect(frames.map((f) => f.opcode)).toEqual([2, 1]);
      expect(frames[0]!.payload).toEqual(copy);
      expect(new TextDecoder().decode(frames[1]!.payload)).toBe('é'.repeat(size));
      expect(payload).toEqual(copy);
      expect(calls.length).toBe(size >= 8192 ? 2 : 0);
    }
  });
});
