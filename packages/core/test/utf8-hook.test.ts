/**
 * The injected UTF-8 validator (`validateUtf8`, what the Node and Bun adapters set to node:buffer's
 * `isUtf8`): RFC 6455 §8.1 verdicts and fail-fast timing identical to a fatal `TextDecoder` at every split
 * of the input, the hook seeing only complete, code-point-aligned text, and a hook that throws or answers
 * something else than a boolean never crashing the engine nor changing a verdict.
 */

import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Connection, UsageError, type WebSocketEvent } from '../src/mod.ts';
import {
  bytes,
  concatBytes,
  decoderAccepts,
  expectClosedWith,
  frame,
  openClient,
  openServer,
  parseFrames,
} from './helpers.ts';
import { runs } from './fc-runs.ts';

const ROLES = ['server', 'client'] as const;
type Role = (typeof ROLES)[number];
type Hook = (bytes: Uint8Array) => boolean;

function open(role: Role, validateUtf8: Hook, streaming = false): Connection {
  return role === 'server'
    ? openServer({ validateUtf8, streaming })
    : openClient({ validateUtf8, streaming });
}

/** The payload cut into the given frames (one when `parts` is 1), as the peer of `role` sends them. */
function textFrames(role: Role, payload: Uint8Array, parts: 1 | 2): { wire: Uint8Array; at: number[] } {
  const mask = role === 'server' ? Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) : false;
  const cut = parts === 1 ? payload.length : payload.length >> 1;
  const first = frame({ opcode: 1, fin: parts === 1, payload: payload.subarray(0, cut), mask });
  const second = parts === 1 ? new Uint8Array(0) : frame({ opcode: 0, payload: payload.subarray(cut), mask });
  const h1 = first.length - cut;
  const h2 = second.length - (payload.length - cut);
  // Where each payload byte lies on the wire.
  const at = Array.from(payload, (_, i) => (i < cut ? h1 + i : first.length + h2 + (i - cut)));
  return { wire: concatBytes([first, second]), at };
}

/**
 * The length of the shortest prefix of `payload` that no continuation could make valid UTF-8 (the byte
 * that RFC 6455 §8.1 fail-fast must fail on is the last one of it), or -1 if there is none. The oracle is
 * a fatal streaming TextDecoder, which keeps an incomplete tail instead of rejecting it.
 */
function firstImpossible(payload: Uint8Array): number {
  const impossible = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(0, n), { stream: true });
      return false;
    } catch {
      return true;
    }
  };
  if (!impossible(payload.length)) return -1;
  let low = 1;
  let high = payload.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (impossible(mid)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The text delivered (whole or streamed) and whether and after which input chunk the engine closed. */
function run(conn: Connection, chunks: Uint8Array[]): { text: string; closedAfter: number; code: number } {
  const streamed: Uint8Array[] = [];
  let text = '';
  let closedAfter = -1;
  let code = 0;
  chunks.forEach((chunk, index) => {
    conn.receiveData(chunk.slice());
    for (const event of conn.takeEvents() as WebSocketEvent[]) {
      if (event.type === 'text') text += event.data;
      else if (event.type === 'messageChunk') streamed.push(event.data.slice());
      else if (event.type === 'messageEnd') text += new TextDecoder().decode(concatBytes(streamed.splice(0)));
      else if (event.type === 'closed' && closedAfter < 0) {
        closedAfter = index;
        code = event.code;
      }
    }
  });
  return { text, closedAfter, code };
}

// Text of 64+ bytes (the hook's lower bound) with 2-, 3- and 4-byte sequences, sometimes with one byte
// overwritten (which may make it invalid anywhere, or cut a sequence at the end), sometimes truncated.
const words = fc.constantFrom('a', 'hello ', 'é', 'ñø', '€', '中文', '🎉', '𝄞', ' ', 'Ω');
const nearValidText = fc.tuple(
  fc.array(words, { minLength: 30, maxLength: 120 }),
  fc.nat(),
  fc.nat(255),
  fc.constantFrom('valid', 'corrupt', 'truncated'),
).map(([parts, at, byte, how]) => {
  const data = new TextEncoder().encode(parts.join(''));
  if (how === 'corrupt') data[at % data.length] = byte;
  return how === 'truncated' ? data.subarray(0, data.length - 1 - (at % 3)) : data;
});

describe('RFC 6455 §8.1 with validateUtf8: isUtf8 injected', () => {
  it('the verdict and the chunk it is given on equal a fatal TextDecoder at every split of the input', () => {
    fc.assert(
      fc.property(
        nearValidText,
        fc.constantFrom(...ROLES),
        fc.constantFrom(1 as const, 2 as const),
        fc.boolean(),
        (payload, role, parts, streaming) => {
          const { wire, at } = textFrames(role, payload, parts);
          const valid = decoderAccepts(payload);
          const impossible = firstImpossible(payload);
          for (let split = 1; split < wire.length; split++) {
            const seen: Uint8Array[] = [];
            const hook: Hook = (b) => {
              seen.push(b.slice());
              return isUtf8(b);
            };
            const outcome = run(open(role, hook, streaming), [wire.subarray(0, split), wire.subarray(split)]);
            if (valid) {
              expect(outcome).toEqual({ text: new TextDecoder().decode(payload), closedAfter: -1, code: 0 });
              // The hook is only given complete text that starts and ends between code points.
              for (const slice of seen) expect(decoderAccepts(slice)).toBe(true);
            } else {
              expect(outcome.code).toBe(1007);
              // Fail fast: on the chunk holding the first impossible byte, or on the message's last byte.
              const last = impossible < 0 ? wire.length - 1 : at[impossible - 1]!;
              expect(outcome.closedAfter).toBe(last < split ? 0 : 1);
            }
          }
        },
      ),
      { numRuns: Math.max(20, Math.round(runs / 25)) },
    );
  });

  it('large text spanning 64 KiB chunks (the kernels and the pre-sized message buffer) agrees with TextDecoder', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 150_000 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.integer({ min: 1000, max: 70_000 }),
        fc.constantFrom(...ROLES),
        (n, seed, corruptAt, chunkSize, role) => {
          const unit = new TextEncoder().encode(`héllo wörld €${seed} 🎉 `);
          const payload = new Uint8Array(n);
          for (let i = 0; i < n; i += unit.length) {
            payload.set(unit.subarray(0, Math.min(unit.length, n - i)), i);
          }
          if (corruptAt !== undefined) payload[corruptAt % n] = 0xff;
          const { wire } = textFrames(role, payload, 1);
          const chunks: Uint8Array[] = [];
          for (let i = 0; i < wire.length; i += chunkSize) chunks.push(wire.subarray(i, i + chunkSize));
          const outcome = run(open(role, (b) => isUtf8(b)), chunks);
          if (decoderAccepts(payload)) expect(outcome.text).toBe(new TextDecoder().decode(payload));
          else expect(outcome.code).toBe(1007);
        },
      ),
      { numRuns: Math.max(20, Math.round(runs / 20)) },
    );
  });

  for (const role of ROLES) {
    const valid = bytes('héllo wörld, € and 🎉 '.repeat(80)); // 2 KiB: both the one-chunk and the gather path
    const invalid = concatBytes([
      bytes('a'.repeat(100)),
      Uint8Array.of(0xed, 0xa0, 0x80),
      bytes('b'.repeat(1500)),
    ]);
    const inputs = (payload: Uint8Array): Uint8Array[][] => {
      const { wire } = textFrames(role, payload, 1);
      return [[wire], [wire.subarray(0, 700), wire.subarray(700)], [wire.subarray(0, 2), wire.subarray(2)]];
    };
    const badHooks: [string, Hook][] = [
      ['throws', () => {
        throw new Error('hook bug');
      }],
      ['returns undefined', (() => undefined) as unknown as Hook],
      ['returns 1', (() => 1) as unknown as Hook],
      ['returns "false"', (() => 'false') as unknown as Hook],
    ];
    for (const [what, hook] of badHooks) {
      it(`${role}: a hook that ${what} is no answer: no exception, and our own validator gives the verdict`, () => {
        for (const chunks of inputs(valid)) {
          const conn = open(role, hook);
          expect(run(conn, chunks)).toEqual({
            text: new TextDecoder().decode(valid),
            closedAfter: -1,
            code: 0,
          });
          expect(conn.state).toBe('open');
        }
        for (const chunks of inputs(invalid)) {
          const conn = open(role, hook);
          expect(run(conn, chunks).code).toBe(1007);
          expect(conn.state).toBe('closed');
        }
      });
    }
    it(`${role}: the hook's false is trusted — it fails the message with 1007 (INVALID_UTF8)`, () => {
      const conn = open(role, () => false);
      conn.receiveData(textFrames(role, valid, 1).wire);
      expect(expectClosedWith(conn, 1007).error).toMatchObject({ code: 'INVALID_UTF8' });
    });
  }
});

describe('sending text bytes with validateUtf8 injected (RFC 6455 §8.1: a sender must not send invalid UTF-8)', () => {
  const valid = new TextEncoder().encode('héllo wörld — 日本語 😀 '.repeat(8));
  const invalid = concatBytes([valid.subarray(0, 100), Uint8Array.of(0xc3, 0x28), valid.subarray(100)]);
  for (const role of ROLES) {
    it(`${role}: a whole text message of 64 bytes or more is checked by the hook (and its verdict is kept)`, () => {
      const seen: number[] = [];
      const hook: Hook = (b) => {
        seen.push(b.length);
        return isUtf8(b);
      };
      const conn = open(role, hook);
      conn.sendMessageStart('text');
      conn.sendMessageEnd(valid);
      expect(seen).toEqual([valid.length]);
      conn.sendMessageStart('text');
      expect(() => conn.sendMessageEnd(invalid)).toThrow(/valid UTF-8/);
      expect(open(role, () => false).sendMessageStart('text')).toBeUndefined();
      const refusing = open(role, () => false);
      refusing.sendMessageStart('text');
      expect(() => refusing.sendMessageEnd(valid)).toThrow(/valid UTF-8/);
    });
    it(`${role}: a hook that throws or answers a non-boolean leaves the verdict to our validator`, () => {
      for (
        const hook of [
          (() => {
            throw new Error('broken');
          }) as Hook,
          (() => 1) as unknown as Hook,
        ]
      ) {
        const conn = open(role, hook);
        conn.sendMessageStart('text');
        conn.sendMessageEnd(valid);
        conn.sendMessageStart('text');
        expect(() => conn.sendMessageEnd(invalid)).toThrow(/valid UTF-8/);
      }
    });
    it(`${role}: a streamed text message is checked incrementally, never by the whole-buffer hook`, () => {
      const seen: number[] = [];
      const conn = open(role, (b) => {
        seen.push(b.length);
        return isUtf8(b);
      });
      conn.sendMessageStart('text');
      // Cut inside a code point: valid as a stream, not as two whole buffers.
      const cut = valid.indexOf(0xc3) + 1;
      conn.sendMessageChunk(valid.subarray(0, cut));
      conn.sendMessageEnd(valid.subarray(cut));
      expect(seen).toEqual([]);
      conn.sendMessageStart('text');
      conn.sendMessageChunk(invalid.subarray(0, 90));
      expect(() => conn.sendMessageEnd(invalid.subarray(90))).toThrow(/valid UTF-8/);
    });
    it(`${role}: sendText(bytes) checks them with the hook, refuses invalid UTF-8, and trusts { validated: true }`, () => {
      const seen: number[] = [];
      const conn = open(role, (b) => {
        seen.push(b.length);
        return isUtf8(b);
      });
      conn.sendText(valid);
      expect(seen).toEqual([valid.length]);
      expect(() => conn.sendText(invalid)).toThrow(UsageError);
      conn.sendText(invalid, { validated: true });
      expect(seen).toEqual([valid.length, invalid.length]);
      const sent = parseFrames(concatBytes(conn.takeOutput()));
      expect(sent.map((f) => [f.opcode, f.payload])).toEqual([[1, valid], [1, invalid]]);
      expect(() => open(role, () => false).sendText(valid)).toThrow(/valid UTF-8/);
    });
    it(`${role}: { validated: true } sends the bytes unchecked, for that message only`, () => {
      const seen: number[] = [];
      const conn = open(role, (b) => {
        seen.push(b.length);
        return isUtf8(b);
      });
      conn.sendMessageStart('text', { validated: true });
      conn.sendMessageEnd(valid);
      conn.sendMessageStart('text', { validated: true });
      conn.sendMessageChunk(valid.subarray(0, 5));
      conn.sendMessageEnd(valid.subarray(5));
      expect(seen).toEqual([]);
      // The caller's promise is taken as given: these bytes go out as they are.
      conn.sendMessageStart('text', { validated: true });
      conn.sendMessageEnd(invalid);
      const sent = parseFrames(concatBytes(conn.takeOutput())).map((f) => f.payload);
      expect(sent).toEqual([valid, valid.subarray(0, 5), valid.subarray(5), invalid]);
      conn.sendMessageStart('text');
      expect(() => conn.sendMessageEnd(invalid)).toThrow(/valid UTF-8/);
      expect(seen).toEqual([invalid.length]);
    });
  }
});
