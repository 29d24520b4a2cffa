/**
 * permessage-deflate inside the engine (RFC 7692 §6–§7): negotiation through the handshake, RSV1 rules,
 * round trips under every parameter set and any chunking, streaming, limits counted in decompressed bytes.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zlibCodec } from '../../zlib/src/mod.ts';
import {
  type ClientCompressionOptions,
  clientPerMessageDeflate,
  type ServerCompressionOptions,
  serverPerMessageDeflate,
} from '../src/deflate-entry.ts';
import type { WebSocketEvent } from '../src/mod.ts';
import { runs } from './fc-runs.ts';
import { bytes, concatBytes, expectClosedWith, frame, openPair, parseFrames, pump } from './helpers.ts';

const serverOptions: ServerCompressionOptions = { codec: zlibCodec };
const clientOptions: ClientCompressionOptions = { codec: zlibCodec };
const server = serverPerMessageDeflate(serverOptions);
const client = clientPerMessageDeflate(clientOptions);

function compressedPair(
  s: Partial<ServerCompressionOptions> = {},
  c: Partial<ClientCompressionOptions> = {},
) {
  return openPair(
    { compression: serverPerMessageDeflate({ ...serverOptions, ...s }) },
    { compression: clientPerMessageDeflate({ ...clientOptions, ...c }) },
  );
}

const json = (n: number) =>
  JSON.stringify(Array.from({ length: n }, (_, i) => ({ id: i, name: `item ${i}`, ok: i % 2 === 0 })));

/** An event as a test expects it: text as a plain `{ type, data }`. */
type Expected = Exclude<WebSocketEvent, { type: 'text' }> | { type: 'text'; data: string };

function comparable(event: Expected): unknown {
  if (event.type === 'text') return { type: 'text', data: event.data };
  return 'data' in event && event.data instanceof Uint8Array
    ? { ...event, data: Buffer.from(event.data).toString('hex') }
    : event;
}

describe('RFC 7692 §5 negotiation through the handshake', () => {
  it('both sides agree and report the extension on open', () => {
    const { server: s, client: c } = compressedPair();
    expect(s.extensions).toBe('permessage-deflate; server_max_window_bits=12');
    expect(c.extensions).toBe(s.extensions);
  });
  it('a server without compression declines, and the client runs uncompressed', () => {
    const { server: s, client: c } = openPair({}, { compression: client });
    expect(s.extensions).toBeNull();
    expect(c.extensions).toBeNull();
    c.sendText(json(50));
    expect(parseFrames(concatBytes(c.takeOutput()))[0]!.rsv1).toBe(false);
  });
  it('a per-request policy can turn compression off for one client', () => {
    const { server: s } = compressedPair({ enabled: (request) => !request.target.startsWith('/chat') });
    expect(s.extensions).toBeNull();
  });
  it('RFC 6455 §9.1: a negotiateExtensions hook replaces the compression extension, never feeds it', () => {
    // The hook's own agreement must not be taken for permessage-deflate parameters.
    const { server: s, client: c } = openPair(
      { compression: server, negotiateExtensions: () => ({ header: null, result: { bogus: true } }) },
      { compression: client },
    );
    expect(s.extensions).toBeNull();
    s.sendText(json(50));
    const out = concatBytes(s.takeOutput());
    expect(parseFrames(out)[0]!.rsv1).toBe(false);
    c.receiveData(out);
    expect(c.takeEvents().map((e) => e.type)).toEqual(['text']);
  });
  it('RFC 7692 §5: the offer is made once, when the extension is made, and is what the client sends', () => {
    const made = clientPerMessageDeflate({ codec: zlibCodec, clientMaxWindowBits: 10 });
    expect(made.offer).toBe('permessage-deflate; client_max_window_bits=10');
    const { client: c } = openPair({ compression: server }, { compression: made });
    expect(c.request.headers).toContainEqual(['Sec-WebSocket-Extensions', made.offer]);
  });
});

describe('RFC 7692 §6 framing rules', () => {
  it('RSV1 marks the first frame of a compressed message only', () => {
    const { server: s, client: c } = compressedPair();
    c.sendMessageStart('text');
    c.sendMessageChunk(json(20));
    c.sendMessageChunk(json(20));
    c.sendMessageEnd(json(20));
    const frames = parseFrames(concatBytes(c.takeOutput().map((b) => b.slice())));
    expect(frames.map((f) => f.rsv1)).toEqual([true, false, false]);
    void s;
  });
  it('RSV1 on a continuation frame fails with 1002', () => {
    const { server: s } = compressedPair();
    s.receiveData(frame({ opcode: 1, fin: false, rsv1: true, payload: bytes([0x02, 0x00]) }));
    s.receiveData(frame({ opcode: 0, rsv1: true, payload: bytes([0x00]) }));
    expect(expectClosedWith(s, 1002).error).toMatchObject({ code: 'RESERVED_BITS' });
  });
  it('RSV1 on a control frame fails with 1002', () => {
    const { server: s } = compressedPair();
    s.receiveData(frame({ opcode: 9, rsv1: true }));
    expectClosedWith(s, 1002);
  });
  it('the 00 00 ff ff tail is removed on send', () => {
    const { client: c } = compressedPair();
    c.sendText(json(10));
    const [f] = parseFrames(concatBytes(c.takeOutput()));
    expect(Array.from(f!.payload.subarray(-4))).not.toEqual([0, 0, 0xff, 0xff]);
  });
  it('messages under the threshold, and messages sent with compress: false, go uncompressed', () => {
    const { client: c } = compressedPair({}, { threshold: 100 });
    c.sendText('short');
    c.sendText(json(30), { compress: false });
    c.sendText(json(30));
    expect(parseFrames(concatBytes(c.takeOutput())).map((f) => f.rsv1)).toEqual([false, false, true]);
  });
  it('corrupt compressed data fails with 1007', () => {
    const { server: s } = compressedPair();
    s.receiveData(frame({ opcode: 2, rsv1: true, payload: bytes([0xff, 0xff, 0xff, 0xff, 0x00]) }));
    expect(expectClosedWith(s, 1007).error).toMatchObject({ code: 'INVALID_COMPRESSED_DATA' });
  });
  it('invalid UTF-8 inside a compressed text message fails with 1007', () => {
    const { server: s, client: c } = compressedPair();
    c.sendMessageStart('binary');
    c.sendMessageEnd(concatBytes([bytes('a'.repeat(200)), bytes([0xff])]));
    const wire = concatBytes(c.takeOutput().map((b) => b.slice()));
    wire[0] = (wire[0]! & 0xf0) | 0x1; // relabel as text: same compressed payload
    s.receiveData(wire);
    expectClosedWith(s, 1007);
  });
});

describe('RFC 7692 limits: the max message size counts decompressed bytes', () => {
  it('a bomb far above the limit is refused with 1009 and never delivers more than the limit', () => {
    const { server: s, client: c } = compressedPair({}, {});
    const limited = openPair({ compression: server, maxMessageSize: 1 << 20, streaming: true }, {
      compression: client,
    });
    // 64 MiB of zeros compresses to about 64 KiB.
    c.sendBinary(new Uint8Array(64 << 20));
    const wire = c.takeOutput();
    const size = wire.reduce((n, b) => n + b.length, 0);
    expect(size).toBeLessThan(200_000);
    let delivered = 0;
    const events: WebSocketEvent[] = [];
    for (const chunk of wire) {
      limited.server.receiveData(chunk.slice());
      for (const e of limited.server.takeEvents()) {
        events.push(e);
        if (e.type === 'messageChunk') delivered += e.data.length;
      }
    }
    expect(delivered).toBeLessThanOrEqual(1 << 20);
    expect(expectClosedWith(limited.server, 1009, events).error).toMatchObject({ code: 'MESSAGE_TOO_BIG' });
    void s;
  });
  it('a message just under the limit passes', () => {
    const pair = openPair({ compression: server, maxMessageSize: 100_000 }, { compression: client });
    pair.client.sendBinary(new Uint8Array(100_000));
    pump(pair.client, pair.server);
    expect(pair.server.takeEvents()).toEqual([{ type: 'binary', data: new Uint8Array(100_000) }]);
  });
});

describe('RFC 7692 property: messages × parameters × chunking round-trip, context takeover exercised', () => {
  const params = fc.record({
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }),
    clientMaxWindowBits: fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }),
  });
  const message = fc.oneof(
    fc.integer({ min: 0, max: 400 }).map((n) => ({ type: 'text' as const, data: json(n) })),
    fc.string({ maxLength: 300 }).map((data) => ({ type: 'text' as const, data })),
    fc.uint8Array({ maxLength: 3000 }).map((data) => ({ type: 'binary' as const, data })),
  );
  for (const direction of ['client → server', 'server → client'] as const) {
    it(direction, () => {
      fc.assert(
        fc.property(
          params,
          fc.array(message, { minLength: 1, maxLength: 8 }),
          fc.integer({ min: 1, max: 700 }),
          fc.boolean(),
          (p, messages, chunk, streamSend) => {
            const options = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
            const pair = compressedPair(options, options);
            const [from, to] = direction === 'client → server'
              ? [pair.client, pair.server]
              : [pair.server, pair.client];
            for (const m of messages) {
              if (streamSend && m.data.length > 10) {
                const data = typeof m.data === 'string' ? bytes(m.data) : m.data;
                from.sendMessageStart(m.type);
                from.sendMessageChunk(data.subarray(0, 10));
                from.sendMessageEnd(data.subarray(10));
              } else if (m.type === 'text') from.sendText(m.data);
              else from.sendBinary(m.data);
            }
            pump(from, to, chunk);
            expect(to.takeEvents().map(comparable)).toEqual(messages.map(comparable));
          },
        ),
        { numRuns: Math.max(50, Math.floor(runs / 5)) },
      );
    });
  }
});
