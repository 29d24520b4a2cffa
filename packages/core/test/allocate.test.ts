/**
 * The injected allocator (`allocate`, what the Node adapter sets to an unzeroed `Buffer.allocUnsafeSlow`):
 * the buffers of messages that span input chunks (RFC 6455 §5.4 fragments, §5.2 frames cut by the
 * transport) come from it, their prior contents never show, the messages are byte for byte those received
 * without it under any chunking, and an allocator that throws or answers wrongly never crashes the engine
 * nor changes a message.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Connection, ConnectionOptions, WebSocketEvent } from '../src/mod.ts';
import { concatBytes, frame, openClient, openServer } from './helpers.ts';
import { runs } from './fc-runs.ts';
import { withJavaScript } from './wasm-off.ts';

const ROLES = ['server', 'client'] as const;
type Role = (typeof ROLES)[number];
type Allocate = NonNullable<ConnectionOptions['allocate']>;

function open(role: Role, options: ConnectionOptions = {}): Connection {
  return role === 'server' ? openServer(options) : openClient(options);
}

/** The peer's frame: masked towards a server (RFC 6455 §5.1), unmasked towards a client. */
function peerFrame(role: Role, opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  return frame({
    opcode,
    fin,
    payload,
    mask: role === 'server' ? Uint8Array.of(0x37, 0xfa, 0x21, 0x3d) : false,
  });
}

function payloadOf(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** An allocator that records what it gave and fills it with garbage (contents are unspecified). */
function recordingAllocator(): { allocate: Allocate; given: Uint8Array[] } {
  const given: Uint8Array[] = [];
  const allocate: Allocate = (n) => {
    const out = new Uint8Array(n).fill(0xa5);
    given.push(out);
    return out;
  };
  return { allocate, given };
}

/** Feeds `wire` cut at `cuts` (sorted offsets) and returns the messages, as `[type, bytes]`, and closes. */
function receive(conn: Connection, wire: Uint8Array, cuts: readonly number[]): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  let from = 0;
  for (const at of [...cuts, wire.length]) {
    if (at <= from) continue;
    conn.receiveData(wire.slice(from, at));
    from = at;
    for (const event of conn.takeEvents() as WebSocketEvent[]) {
      if (event.type === 'text') out.push(['text', event.bytes.slice()]);
      else if (event.type === 'binary') out.push(['binary', event.data.slice()]);
      else if (event.type === 'closed') {
        out.push(['closed', Uint8Array.of(event.code >> 8, event.code & 0xff)]);
      }
    }
  }
  return out;
}

describe('allocate: where assembled messages live', () => {
  for (const role of ROLES) {
    for (const kernels of ['WebAssembly', 'JavaScript'] as const) {
      const run = <T>(f: () => T): T => (kernels === 'JavaScript' ? withJavaScript(f) : f());

      it(`RFC 6455 §5.2: a ${role}'s binary frame cut by the transport is assembled in an allocated buffer (${kernels})`, () => {
        run(() => {
          const { allocate, given } = recordingAllocator();
          const conn = open(role, { allocate });
          const payload = payloadOf(5000);
          const wire = peerFrame(role, 2, payload);
          const messages = receive(conn, wire, [100, 2600]);
          expect(messages).toEqual([['binary', payload]]);
          expect(given.map((b) => b.length)).toEqual([5000]);
          const event = receive(conn, wire, [3000]);
          expect(event).toEqual([['binary', payload]]);
          expect(given).toHaveLength(2);
        });
      });

      it(`RFC 6455 §5.2: a ${role}'s event data is the allocated buffer itself, not a copy (${kernels})`, () => {
        run(() => {
          const { allocate, given } = recordingAllocator();
          const conn = open(role, { allocate });
          const wire = peerFrame(role, 2, payloadOf(3000));
          conn.receiveData(wire.slice(0, 1500));
          conn.receiveData(wire.slice(1500));
          const [event] = conn.takeEvents() as WebSocketEvent[];
          expect(event?.type).toBe('binary');
          expect(event?.type === 'binary' && event.data.buffer).toBe(given[0]!.buffer);
        });
      });

      it(`RFC 6455 §5.4: a ${role}'s fragmented text message is joined in one allocated buffer of its length (${kernels})`, () => {
        run(() => {
          const { allocate, given } = recordingAllocator();
          const conn = open(role, { allocate });
          const text = new TextEncoder().encode('héllo wörld €🎉 '.repeat(40));
          const cut = 301;
          const wire = concatBytes([
            peerFrame(role, 1, text.subarray(0, cut), false),
            peerFrame(role, 0, text.subarray(cut)),
          ]);
          expect(receive(conn, wire, [])).toEqual([['text', text]]);
          expect(given.map((b) => b.length)).toEqual([text.length]);
        });
      });
    }
  }

  it('a frame inside one input chunk is delivered as a view of it, without calling the allocator', () => {
    const { allocate, given } = recordingAllocator();
    const conn = openServer({ allocate });
    const payload = payloadOf(4000);
    expect(receive(conn, peerFrame('server', 2, payload), [])).toEqual([['binary', payload]]);
    expect(given).toHaveLength(0);
  });

  it('RFC 6455 §8.1: invalid UTF-8 in a text frame cut by the transport still closes with 1007', () => {
    const { allocate } = recordingAllocator();
    const conn = openServer({ allocate });
    const text = new TextEncoder().encode('ok '.repeat(1000));
    text[2000] = 0xff;
    const messages = receive(conn, peerFrame('server', 1, text), [1500]);
    expect(messages).toEqual([['closed', Uint8Array.of(1007 >> 8, 1007 & 0xff)]]);
  });
});

describe('allocate: a broken allocator cannot crash the engine nor change a message', () => {
  const broken: Array<[string, Allocate]> = [
    ['throws', () => {
      throw new Error('out of memory');
    }],
    ['answers a buffer one byte short', (n) => new Uint8Array(n - 1)],
    ['answers a buffer one byte long', (n) => new Uint8Array(n + 1)],
    ['answers an ArrayBuffer', (n) => new ArrayBuffer(n) as unknown as Uint8Array],
    ['answers an array of numbers', (n) => new Array<number>(n).fill(0) as unknown as Uint8Array],
    ['answers null', () => null as unknown as Uint8Array],
    ['answers a Uint16Array', (n) => new Uint16Array(n) as unknown as Uint8Array],
  ];
  for (const [what, allocate] of broken) {
    for (const role of ROLES) {
      it(`an allocator that ${what}: the ${role} allocates its own buffers and delivers every message`, () => {
        const conn = open(role, { allocate });
        const payload = payloadOf(3000);
        const text = new TextEncoder().encode('ünïcödé '.repeat(200));
        const wire = concatBytes([
          peerFrame(role, 2, payload),
          peerFrame(role, 1, text.subarray(0, 700), false),
          peerFrame(role, 0, text.subarray(700)),
        ]);
        let messages: Array<[string, Uint8Array]> = [];
        expect(() => (messages = receive(conn, wire, [1000, 3500]))).not.toThrow();
        expect(messages).toEqual([['binary', payload], ['text', text]]);
        expect(conn.state).toBe('open');
      });
    }
  }
});

describe('allocate: property', () => {
  /** One message: its type, payload, and how many frames it is cut into. */
  const messageArb = fc.record({
    text: fc.boolean(),
    size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 900, max: 5000 })),
    seed: fc.nat(255),
    frames: fc.integer({ min: 1, max: 3 }),
  });

  it('messages received with a garbage-filling allocator equal those received without it, under any chunking', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ROLES),
        fc.array(messageArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(30_000), { maxLength: 12 }),
        fc.boolean(),
        (role, specs, rawCuts, javaScript) => {
          const frames: Uint8Array[] = [];
          for (const spec of specs) {
            const payload = spec.text
              ? new TextEncoder().encode('aé€🎉'.repeat(spec.size).slice(0, spec.size))
              : payloadOf(spec.size, spec.seed);
            const step = Math.ceil(payload.length / spec.frames);
            for (let part = 0; part < spec.frames; part++) {
              const piece = payload.subarray(part * step, Math.min(payload.length, (part + 1) * step));
              const opcode = part === 0 ? (spec.text ? 1 : 2) : 0;
              frames.push(peerFrame(role, opcode, piece, part === spec.frames - 1));
            }
          }
          const wire = concatBytes(frames);
          const cuts = rawCuts.map((c) => c % (wire.length + 1)).sort((a, b) => a - b);
          const run = <T>(f: () => T): T => (javaScript ? withJavaScript(f) : f());
          const without = run(() => receive(open(role), wire, cuts));
          const { allocate } = recordingAllocator();
          const withIt = run(() => receive(open(role, { allocate }), wire, cuts));
          expect(withIt).toEqual(without);
          expect(without).toHaveLength(specs.length);
        },
      ),
      { numRuns: Math.min(runs, 300) },
    );
  });
});
