/**
 * The arbitraries, checked against an implementation that shares no code with them: `@sansws/core`.
 * Every valid message must arrive intact through any chunking (with and without compression), every invalid
 * frame must close the connection with the case's code, every valid handshake must be accepted and every
 * mutated one refused. This tests the core and the generators at once: a disagreement is a bug in one.
 */

import {
  ClientConnection,
  type ClosedEvent,
  type Connection,
  ServerConnection,
  type WebSocketEvent,
} from '@sansws/core';
import { serverPerMessageDeflate } from '@sansws/core/deflate';
import { zlibCodec } from '@sansws/zlib';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  badHandshakeRequests,
  badHandshakeResponses,
  chunkings,
  closeCodes,
  closePayload,
  closeReasons,
  encodeFrames,
  frame,
  handshakeRequests,
  handshakeResponses,
  INVALID_KINDS,
  invalidCloseCodes,
  invalidFrames,
  messages,
  Opcode,
  traffic,
  validFrames,
} from '../src/mod.ts';

const runs = Number(process.env.SANSWS_FC_RUNS ?? 150);
const encoder = new TextEncoder();

/** A core server engine, open after a valid handshake (offering compression when asked). */
function openServer(compression: boolean): ServerConnection {
  const server = new ServerConnection(
    compression ? { compression: serverPerMessageDeflate({ codec: zlibCodec }) } : {},
  );
  const extensions = compression ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '';
  server.receiveData(encoder.encode(
    'GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extensions}\r\n`,
  ));
  server.takeEvents();
  server.accept();
  server.takeOutput();
  expect(server.takeEvents().map((e) => e.type)).toEqual(['open']);
  expect(server.extensions !== null).toBe(compression);
  return server;
}

function feed(engine: Connection, chunks: readonly Uint8Array[]): WebSocketEvent[] {
  const events: WebSocketEvent[] = [];
  // The engine takes ownership of (and unmasks in place) what it is given: pass copies.
  for (const chunk of chunks) {
    engine.receiveData(chunk.slice());
    events.push(...engine.takeEvents());
  }
  return events;
}

const closed = (events: readonly WebSocketEvent[]) =>
  events.find((e): e is ClosedEvent => e.type === 'closed');

describe('messages and traffic (RFC 6455 §5.4, §5.6; RFC 7692)', () => {
  for (const compression of [false, true]) {
    it(`every generated message arrives intact through any chunking${compression ? ', compressed' : ''}`, () => {
      fc.assert(
        fc.property(
          traffic({ compression: compression ? 'mixed' : false, maxMessages: 3 }).chain((t) =>
            fc.tuple(fc.constant(t), chunkings(encodeFrames(t.frames)))
          ),
          ([t, chunks]) => {
            const server = openServer(compression);
            const events = feed(server, chunks);
            const received = events.filter((e) => e.type === 'text' || e.type === 'binary');
            expect(received.map((e) => e.type)).toEqual(t.messages.map((m) => m.type));
            received.forEach((e, i) => {
              const m = t.messages[i]!;
              if (e.type === 'text') expect(e.data).toBe(m.text);
              else if (e.type === 'binary') expect(Buffer.from(e.data).equals(m.data)).toBe(true);
            });
            expect(events.filter((e) => e.type === 'ping').length).toBe(t.pings.length);
            expect(closed(events)).toBeUndefined();
          },
        ),
        { numRuns: runs },
      );
    });
  }

  it('covers every size class, fragmentation, control frames between fragments and both DEFLATE block types', () => {
    const sample = fc.sample(messages({ compression: 'mixed' }), { seed: 7, numRuns: 300 });
    const sizes = new Set(sample.map((m) => m.data.length));
    for (const size of [0, 1, 125, 126, 127, 65535, 65536]) expect(sizes.has(size)).toBe(true);
    expect(sample.some((m) => m.frames.filter((f) => f.opcode < 8).length > 2)).toBe(true);
    expect(sample.some((m) => m.frames.findIndex((f) => f.opcode >= 8) > 0 && !m.frames.at(-1)!.opcode)).toBe(
      true,
    );
    expect(new Set(sample.map((m) => m.compressed))).toEqual(new Set([null, 'stored', 'fixed']));
  });

  it('validFrames are each accepted alone', () => {
    fc.assert(
      fc.property(validFrames(), (f) => {
        const events = feed(openServer(false), [encodeFrames([f])]);
        const end = closed(events);
        // A close frame ends the connection cleanly from the server's side (it echoes, then closes).
        if (f.opcode === Opcode.close) expect(events.some((e) => e.type === 'close')).toBe(true);
        else expect(end).toBeUndefined();
      }),
      { numRuns: runs },
    );
  });
});

describe('invalid frames (RFC 6455 §7.4.1 close codes)', () => {
  for (const compression of [false, true]) {
    it(`each kind closes with its code${compression ? ' (compression negotiated)' : ''}`, () => {
      const seen = new Set<string>();
      fc.assert(
        fc.property(
          invalidFrames({ compression }).chain((c) =>
            fc.tuple(fc.constant(c), chunkings(encodeFrames(c.frames)))
          ),
          ([c, chunks]) => {
            seen.add(c.kind);
            const server = openServer(compression);
            const end = closed(feed(server, chunks));
            expect(end, c.description).toBeDefined();
            expect(end!.code, c.description).toBe(c.closeCode);
          },
        ),
        { numRuns: runs * 2 },
      );
      const expected = INVALID_KINDS.filter((k) =>
        k !== 'masked' && (compression || k !== 'compressed-continuation')
      );
      expect([...seen].sort()).toEqual([...expected].sort());
    });
  }

  it('a masked frame closes a client with 1002', () => {
    fc.assert(
      fc.property(invalidFrames({ to: 'client', kinds: ['masked'] }), (c) => {
        const client = new ClientConnection({ url: 'ws://example.com/', randomBytes: (b) => b.fill(0) });
        client.takeOutput();
        const key = 'AAAAAAAAAAAAAAAAAAAAAA==';
        const response = fc.sample(handshakeResponses({ key }), 1)[0]!;
        const events = feed(client, [response.bytes, encodeFrames(c.frames)]);
        expect(closed(events)?.code).toBe(1002);
      }),
      { numRuns: 20 },
    );
  });

  it('close codes: valid ones round-trip, invalid ones are refused with 1002', () => {
    fc.assert(
      fc.property(closeCodes(), closeReasons(), (code, reason) => {
        expect(encoder.encode(reason).length).toBeLessThanOrEqual(123);
        const events = feed(openServer(false), [
          encodeFrames([frame({ opcode: Opcode.close, payload: closePayload(code, reason), mask: true })]),
        ]);
        expect(events.find((e) => e.type === 'close')).toMatchObject({ code, reason });
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(invalidCloseCodes(), (code) => {
        const events = feed(openServer(false), [
          encodeFrames([frame({ opcode: Opcode.close, payload: closePayload(code), mask: true })]),
        ]);
        expect(closed(events)?.code).toBe(1002);
      }),
      { numRuns: runs },
    );
  });
});

describe('opening handshake (RFC 6455 §4)', () => {
  const serverAnswer = (bytes: Uint8Array, chunks: readonly Uint8Array[]) => {
    const server = new ServerConnection({});
    const events = feed(server, chunks);
    if (events.some((e) => e.type === 'request')) server.accept();
    const output = Buffer.concat(server.takeOutput()).toString('latin1');
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(output)?.[1] ?? 0), output, bytes };
  };

  it('a server accepts every valid request, whole or in pieces', () => {
    fc.assert(
      fc.property(
        handshakeRequests().chain((r) => fc.tuple(fc.constant(r), chunkings(r.bytes))),
        ([r, chunks]) => {
          expect(serverAnswer(r.bytes, chunks).status).toBe(101);
        },
      ),
      { numRuns: runs },
    );
  });

  it('a server refuses every mutated request, never with 101', () => {
    const statuses = new Map<string, Set<number>>();
    fc.assert(
      fc.property(badHandshakeRequests(), (r) => {
        const { status } = serverAnswer(r.bytes, [r.bytes]);
        expect(status, r.mutation!).not.toBe(101);
        expect(status, r.mutation!).toBeGreaterThanOrEqual(400);
        if (r.statusHint !== null) expect(status, r.mutation!).toBe(r.statusHint);
        statuses.set(r.mutation!, (statuses.get(r.mutation!) ?? new Set()).add(status));
      }),
      { numRuns: runs * 2 },
    );
    expect(statuses.size).toBe(12);
  });

  const key = 'AAAAAAAAAAAAAAAAAAAAAA==';
  const client = () => {
    const c = new ClientConnection({
      url: 'ws://example.com/',
      subprotocols: ['chat', 'superchat'],
      randomBytes: (b) => b.fill(0),
    });
    c.takeOutput();
    return c;
  };

  it('a client opens on every valid response, and refuses every mutated one', () => {
    fc.assert(
      fc.property(handshakeResponses({ key, subprotocols: ['chat', 'superchat'] }), (r) => {
        const events = feed(client(), [r.bytes]);
        expect(events.map((e) => e.type)).toEqual(['response', 'open']);
        expect(events[1]).toMatchObject({ subprotocol: r.subprotocol });
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(badHandshakeResponses({ key, subprotocols: ['chat'] }), (r) => {
        const c = client();
        const events = feed(c, [r.bytes]);
        // A refusal without Content-Length has a body that lasts until EOF.
        c.receiveEof();
        events.push(...c.takeEvents());
        expect(events.some((e) => e.type === 'open'), r.mutation!).toBe(false);
        expect(closed(events)?.error?.name, r.mutation!).toBe('HandshakeError');
      }),
      { numRuns: runs },
    );
  });
});
