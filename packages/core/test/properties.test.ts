/**
 * Properties of the engine, checked with fast-check over thousands of generated cases
 * (SANSWS_FC_RUNS raises the count for long runs).
 */

import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientConnection, type Connection, ServerConnection, type WebSocketEvent } from '../src/mod.ts';
import { bytes, concatBytes, frame, openClient, openPair, openServer, REQUEST } from './helpers.ts';
import { runs } from './fc-runs.ts';

type Command =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'stream'; type: 'text' | 'binary'; pieces: string[] }
  | { kind: 'ping'; data: Uint8Array }
  | { kind: 'pong'; data: Uint8Array };

const sizeClass = fc.oneof(
  fc.integer({ min: 0, max: 130 }),
  fc.constantFrom(65535, 65536),
  fc.integer({ min: 131, max: 70_000 }),
);
// Large payloads are filled from a seed: generating 70 000 bytes one by one would dominate the run.
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 130 }),
  fc.record({ n: sizeClass, seed: fc.integer({ min: 0, max: 255 }) }).map(({ n, seed }) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed) & 0xff)
  ),
);
const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ maxLength: 2000 }));
const control = fc.uint8Array({ maxLength: 125 });

const command: fc.Arbitrary<Command> = fc.oneof(
  text.map((data) => ({ kind: 'text' as const, data })),
  payload.map((data) => ({ kind: 'binary' as const, data })),
  fc.record({
    kind: fc.constant('stream' as const),
    type: fc.constantFrom('text' as const, 'binary' as const),
    pieces: fc.array(fc.string({ unit: 'grapheme', maxLength: 50 }), { maxLength: 5 }),
  }),
  control.map((data) => ({ kind: 'ping' as const, data })),
  control.map((data) => ({ kind: 'pong' as const, data })),
);

/** What the receiving side must report for each command. */
function expected(commands: Command[]): Expected[] {
  const encoder = new TextEncoder();
  return commands.map((c): Expected => {
    switch (c.kind) {
      case 'text':
        return { type: 'text', data: c.data };
      case 'binary':
        return { type: 'binary', data: c.data };
      case 'stream':
        return c.type === 'text'
          ? { type: 'text', data: c.pieces.join('') }
          : { type: 'binary', data: concatBytes(c.pieces.map((p) => encoder.encode(p))) };
      case 'ping':
        return { type: 'ping', data: c.data };
      case 'pong':
        return { type: 'pong', data: c.data, rtt: undefined };
    }
  });
}

/** Events with binary data as hex: vitest compares long typed arrays element by element, slowly. */
/** An event as a test expects it: text as a plain `{ type, data }`. */
type Expected = Exclude<WebSocketEvent, { type: 'text' }> | { type: 'text'; data: string };

function comparable(event: Expected): unknown {
  if (event.type === 'text') return { type: 'text', data: event.data };
  return 'data' in event && event.data instanceof Uint8Array
    ? { ...event, data: Buffer.from(event.data).toString('hex') }
    : event;
}

function run(sender: Connection, c: Command): void {
  const encoder = new TextEncoder();
  switch (c.kind) {
    case 'text':
      return sender.sendText(c.data);
    case 'binary':
      return sender.sendBinary(c.data);
    case 'stream':
      sender.sendMessageStart(c.type);
      for (const piece of c.pieces) {
        sender.sendMessageChunk(c.type === 'text' ? piece : encoder.encode(piece));
      }
      return sender.sendMessageEnd();
    case 'ping':
      return sender.sendPing(c.data);
    case 'pong':
      return sender.sendPong(c.data);
  }
}

/** Splits `data` at the given cut points (fractions), always including one-byte pieces sometimes. */
function chop(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((f) => Math.floor(f * data.length)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last && p < data.length) {
      pieces.push(data.slice(last, p));
      last = p;
    }
  }
  pieces.push(data.slice(last));
  return pieces;
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 });

describe('property 1: what one engine sends, its peer receives, under any chunking', () => {
  for (const direction of ['client → server', 'server → client'] as const) {
    it(direction, () => {
      fc.assert(
        fc.property(
          fc.array(command, { maxLength: 12 }),
          cuts,
          fc.boolean(),
          (commands, cutPoints, bytewiseHead) => {
            const { server, client } = openPair();
            const [sender, receiver] = direction === 'client → server' ? [client, server] : [server, client];
            for (const c of commands) run(sender, c);
            const wire = concatBytes(sender.takeOutput().map((b) => b.slice()));
            const pieces = chop(wire, cutPoints);
            if (bytewiseHead && pieces.length > 0) {
              // One byte at a time for the first piece: every header boundary is exercised.
              const first = pieces.shift()!;
              for (let i = 0; i < first.length; i++) receiver.receiveData(first.slice(i, i + 1));
            }
            for (const piece of pieces) receiver.receiveData(piece);
            expect(receiver.takeEvents().map(comparable)).toEqual(expected(commands).map(comparable));
            expect(receiver.state).toBe('open');
          },
        ),
        { numRuns: Math.max(100, Math.floor(runs / 2)) },
      );
    });
  }
});

const DOCUMENTED_CODES = new Set([
  1000,
  1001,
  1002,
  1003,
  1005,
  1006,
  1007,
  1008,
  1009,
  1010,
  1011,
  1012,
  1013,
  1014,
]);

function checkSane(conn: Connection, events: WebSocketEvent[]): void {
  const closedAt = events.findIndex((e) => e.type === 'closed');
  if (closedAt >= 0) {
    expect(closedAt).toBe(events.length - 1);
    const closed = events[closedAt]!;
    if (closed.type === 'closed' && closed.error !== undefined && 'closeCode' in closed.error) {
      expect([1002, 1007, 1009]).toContain(closed.code);
    }
    expect(conn.state).toBe('closed');
  }
  for (const e of events) {
    if (e.type === 'close') expect(DOCUMENTED_CODES.has(e.code) || e.code >= 3000).toBe(true);
  }
}

/** Frames near the edge of validity: any opcode, any bits, masked or not, odd lengths. */
const hostileFrame = fc.record({
  fin: fc.boolean(),
  rsv1: fc.boolean(),
  rsv2: fc.boolean(),
  rsv3: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  payload: fc.uint8Array({ maxLength: 200 }),
  mask: fc.oneof(fc.constant(false as const), fc.uint8Array({ minLength: 4, maxLength: 4 })),
});

describe('property 2: arbitrary bytes never throw or hang, and end in valid events', () => {
  for (const role of ['server', 'client'] as const) {
    it(`${role}: random bytes and random frames`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), hostileFrame.map((f) => frame(f))), {
            maxLength: 20,
          }),
          cuts,
          (parts, cutPoints) => {
            const conn = role === 'server'
              ? openServer({ maxMessageSize: 4096 })
              : openClient({ maxMessageSize: 4096 });
            for (const piece of chop(concatBytes(parts), cutPoints)) conn.receiveData(piece);
            checkSane(conn, conn.takeEvents());
            conn.receiveEof();
            expect(conn.state === 'closed' || conn.state === 'closing').toBe(true);
          },
        ),
        { numRuns: runs },
      );
    });
    it(`${role}: random bytes during the handshake`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (junk, prefixed) => {
          const conn = role === 'server' ? new ServerConnection() : new ClientConnection({ url: 'ws://h/' });
          conn.takeOutput();
          const data = prefixed ? concatBytes([bytes(REQUEST.slice(0, 40)), junk]) : junk;
          conn.receiveData(data);
          conn.receiveEof();
          const events = conn.takeEvents();
          if (conn.state === 'connecting' && role === 'server') {
            expect(events.every((e) => e.type === 'request')).toBe(true);
          } else {
            checkSane(conn, events);
          }
        }),
        { numRuns: runs },
      );
    });
  }
});

describe('property 5: two engines on a virtual clock complete handshake, exchange and close', () => {
  it('for random options, including close timeouts and keepalive', () => {
    fc.assert(
      fc.property(
        fc.record({
          pingInterval: fc.constantFrom(0, 1000, 30_000),
          closeTimeout: fc.integer({ min: 1, max: 60_000 }),
          streaming: fc.boolean(),
          initiator: fc.constantFrom('server', 'client'),
          chunk: fc.constantFrom(1, 7, 1024, Infinity),
          messages: fc.array(command, { maxLength: 5 }),
          peerVanishes: fc.boolean(),
        }),
        (o) => {
          const options = { pingInterval: o.pingInterval, closeTimeout: o.closeTimeout };
          const { server, client } = openPair({ ...options, streaming: o.streaming }, options);
          let now = 0;
          const deliver = (from: Connection, to: Connection) => {
            for (const data of from.takeOutput()) {
              const copy = data.slice();
              for (let i = 0; i < copy.length; i += o.chunk === Infinity ? copy.length || 1 : o.chunk) {
                to.receiveData(copy.subarray(i, o.chunk === Infinity ? copy.length : i + o.chunk), now);
              }
            }
          };
          for (const c of o.messages) run(client, c);
          deliver(client, server);
          for (const c of o.messages) if (server.state === 'open') run(server, c);
          deliver(server, client);
          const [a, b] = o.initiator === 'server' ? [server, client] : [client, server];
          a.close(1000, 'done');
          if (o.peerVanishes) {
            // Nothing answers: the close timeout must end it.
            for (let i = 0; i < 10 && a.state !== 'closed'; i++) {
              now = a.pollTimeout() ?? now + 1;
              a.handleTimeout(now);
            }
            expect(a.state).toBe('closed');
            expect(a.transportAction).toBe('abort');
            return;
          }
          deliver(a, b);
          deliver(b, a);
          if (server.state === 'closed' && server.transportAction === 'end') client.receiveEof();
          expect(server.state).toBe('closed');
          expect(client.state).toBe('closed');
          for (const conn of [server, client]) {
            const closed = conn.takeEvents().find((e) => e.type === 'closed');
            expect(closed).toMatchObject({ code: 1000, clean: true });
          }
        },
      ),
      { numRuns: Math.max(100, Math.floor(runs / 2)) },
    );
  });
});

describe('property 3b: an injected whole-buffer UTF-8 validator fails exactly as fast as the incremental one', () => {
  it('RFC 6455 §8.1: same verdict, at the same input piece, for near-valid text under any chunking', () => {
    const multibyte = fc.array(fc.constantFrom('a', 'é', '€', '𝄞', 'κ', '中', ' '), {
      maxLength: 600,
      size: 'max',
    })
      .map((units) => units.join(''));
    const fewCuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });
    const nearValid = fc.tuple(
      fc.oneof(multibyte, fc.string({ unit: 'grapheme', maxLength: 400 })),
      fc.nat(),
      fc.nat(255),
      fc.boolean(),
    )
      .map(([text, at, byte, corrupt]) => {
        const data = new TextEncoder().encode(text);
        if (corrupt && data.length > 0) data[at % data.length] = byte;
        return data;
      });
    fc.assert(
      fc.property(nearValid, fewCuts, fc.boolean(), (payload, cutPoints, fragmented) => {
        const wire = fragmented && payload.length > 1
          ? concatBytes([
            frame({ opcode: 1, fin: false, payload: payload.subarray(0, payload.length >> 1) }),
            frame({ opcode: 0, payload: payload.subarray(payload.length >> 1) }),
          ])
          : frame({ opcode: 1, payload });
        const pieces = chop(wire, cutPoints);
        const outcome = (validateUtf8?: (b: Uint8Array) => boolean) => {
          const conn = openServer(validateUtf8 ? { validateUtf8 } : {});
          const trace: string[] = [];
          for (const piece of pieces) {
            conn.receiveData(piece.slice());
            trace.push(
              conn.takeEvents().map((
                e,
              ) => (e.type === 'text' ? `text:${e.data}` : e.type === 'closed' ? `closed:${e.code}` : e.type))
                .join(','),
            );
          }
          return trace;
        };
        expect(outcome((b) => isUtf8(b))).toEqual(outcome());
      }),
      { numRuns: runs },
    );
  });
});
