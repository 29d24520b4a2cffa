/**
 * The engine's commands, the closing handshake, deadlines and keepalive, in client/server pairs.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PreparedMessage, ServerConnection, UsageError } from '../src/mod.ts';
import {
  bytes,
  closeBody,
  closedEvent,
  concatBytes,
  expectClosedWith,
  frame,
  openPair,
  openServer,
  parseFrames,
  pump,
  REQUEST,
  sameBytes,
  serverFrames,
} from './helpers.ts';

describe('sending (RFC 6455 §5.2, §5.6)', () => {
  for (const size of [0, 1, 125, 126, 127, 65535, 65536]) {
    it(`server and client exchange ${size}-byte text and binary messages`, () => {
      const { server, client } = openPair();
      const data = new Uint8Array(size).map((_, i) => i & 0xff);
      const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 ? 'x' : '');
      client.sendBinary(data);
      client.sendText(text);
      pump(client, server);
      expect(server.takeEvents()).toEqual([{ type: 'binary', data }, { type: 'text', data: text }]);
      server.sendBinary(data);
      server.sendText(text);
      pump(server, client);
      expect(client.takeEvents()).toEqual([{ type: 'binary', data }, { type: 'text', data: text }]);
    });
  }
  it('RFC 6455 §5.6: text is sent as its UTF-8 at every length the encoder treats differently', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        // Any UTF-16 units, lone surrogates included (sent as U+FFFD, as TextEncoder does).
        fc.string({
          unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
          minLength: 1,
        }),
        fc.constantFrom(1, 4096, 4097, 30_000, 65_536, 65_537, 70_000),
        (unit, length) => {
          const text = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
          const server = openServer();
          server.sendText(text);
          const [sent] = serverFrames(server.takeOutput());
          expect(sameBytes(sent!.payload, encoder.encode(text))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
  it('a text payload that is referenced until written is not changed by the next message', () => {
    const server = openServer();
    server.sendText('a'.repeat(20_000));
    server.sendText('b'.repeat(20_000));
    const frames = serverFrames(server.takeOutput());
    expect(frames.map((f) => new TextDecoder().decode(f.payload))).toEqual([
      'a'.repeat(20_000),
      'b'.repeat(20_000),
    ]);
  });
  it('a server writes a large payload as a header plus the payload itself, not a copy', () => {
    const server = openServer();
    const data = new Uint8Array(100_000);
    server.sendBinary(data);
    const out = server.takeOutput();
    expect(out).toHaveLength(2);
    expect(out[1]).toBe(data);
  });
  it('streams a message as one frame per chunk, with control frames allowed in between', () => {
    const { server, client } = openPair();
    client.sendMessageStart('text');
    client.sendMessageChunk('hel');
    client.sendPing(bytes('mid'));
    client.sendMessageChunk(bytes([0xe2, 0x82]));
    client.sendMessageEnd(bytes([0xac]));
    const frames = parseFrames(concatBytes(client.takeOutput().map((b) => b.slice())));
    expect(frames.map((f) => [f.opcode, f.fin])).toEqual([[1, false], [9, true], [0, false], [0, true]]);
    const { client: c2, server: s2 } = openPair();
    c2.sendMessageStart('text');
    c2.sendMessageChunk('hel');
    c2.sendMessageEnd(bytes([0xe2, 0x82, 0xac]));
    pump(c2, s2);
    expect(s2.takeEvents()).toEqual([{ type: 'text', data: 'hel€' }]);
    void server;
  });
  it('refuses to interleave a whole message with a streamed one, and invalid UTF-8 text chunks', () => {
    const { client } = openPair();
    client.sendMessageStart('text');
    expect(() => client.sendText('x')).toThrow(/while a streamed message is being sent/);
    expect(() => client.sendMessageChunk(bytes([0xff]))).toThrow(UsageError);
  });
  it('refuses control payloads over 125 bytes and bad close codes (local misuse)', () => {
    const { client } = openPair();
    expect(() => client.sendPing(new Uint8Array(126))).toThrow(/exceeds 125/);
    expect(() => client.close(1005)).toThrow(/may not be sent/);
    expect(() => client.close(1000, 'x'.repeat(124))).toThrow(/exceeds 123/);
  });
  it('names the command and the state when a command is used in the wrong state', () => {
    const server = new ServerConnection();
    expect(() => server.sendText('x')).toThrow('cannot send text while connecting');
    const { client } = openPair();
    client.close();
    expect(() => client.sendBinary(new Uint8Array(1))).toThrow('cannot send binary while closing');
    expect(() => client.close()).not.toThrow();
  });
});

describe('RFC 6455 §7 closing handshake', () => {
  it('client-initiated: the server echoes and closes the transport first, the client ends on EOF', () => {
    const { server, client } = openPair();
    client.close(1000, 'done');
    expect(client.state).toBe('closing');
    pump(client, server);
    expect(server.takeEvents()).toEqual([
      { type: 'close', code: 1000, reason: 'done' },
      { type: 'closed', code: 1000, reason: 'done', clean: true, error: undefined },
    ]);
    expect(server.transportAction).toBe('end');
    pump(server, client);
    expect(client.takeEvents()).toEqual([{ type: 'close', code: 1000, reason: '' }]);
    expect(client.state).toBe('closing');
    client.receiveEof();
    expect(client.takeEvents()).toEqual([{
      type: 'closed',
      code: 1000,
      reason: '',
      clean: true,
      error: undefined,
    }]);
    expect(client.transportAction).toBe('end');
  });
  it('server-initiated: the client echoes, the server closes on the echo', () => {
    const { server, client } = openPair();
    server.close(4001, 'bye');
    pump(server, client);
    expect(client.takeEvents()[0]).toEqual({ type: 'close', code: 4001, reason: 'bye' });
    pump(client, server);
    expect(expectClosedWith(server, 4001).clean).toBe(true);
    expect(server.transportAction).toBe('end');
  });
  it('no data frame is sent after a close frame', () => {
    const { server } = openPair();
    server.close();
    expect(() => server.sendText('late')).toThrow(UsageError);
    expect(serverFrames(server.takeOutput()).map((f) => f.opcode)).toEqual([8]);
  });
  it('the close timeout ends a closing handshake the peer never answers: 1006, transport aborted', () => {
    const { client } = openPair({}, { closeTimeout: 5000 });
    client.handleTimeout(1000);
    client.close();
    expect(client.pollTimeout()).toBe(6000);
    client.handleTimeout(5999);
    expect(client.state).toBe('closing');
    client.handleTimeout(6000);
    const closed = expectClosedWith(client, 1006);
    expect(closed).toMatchObject({ clean: false, error: { code: 'CLOSE_TIMEOUT' } });
    expect(client.transportAction).toBe('abort');
  });
  it('a transport that drops without a close reports 1006 (RFC 6455 §7.1.5)', () => {
    const { server } = openPair();
    server.receiveEof();
    expect(expectClosedWith(server, 1006)).toMatchObject({
      clean: false,
      error: { code: 'ABNORMAL_CLOSURE' },
    });
  });
  it('fail() sends the close code and closes without waiting (RFC 6455 §7.1.7)', () => {
    const { server } = openPair();
    server.fail(1011, 'internal');
    expect(serverFrames(server.takeOutput())).toEqual([{
      fin: true,
      rsv1: false,
      opcode: 8,
      payload: closeBody(1011, 'internal'),
    }]);
    expect(expectClosedWith(server, 1011).clean).toBe(false);
    expect(server.transportAction).toBe('end');
  });
});

describe('keepalive and round-trip time', () => {
  it('sends a ping every interval and reports the round-trip time on the pong', () => {
    const { server, client } = openPair({}, { pingInterval: 30_000 });
    expect(client.pollTimeout()).toBe(30_000);
    client.handleTimeout(30_000);
    const [ping] = parseFrames(concatBytes(client.takeOutput()));
    expect(ping!.opcode).toBe(9);
    server.receiveData(frame({ opcode: 9, payload: ping!.payload }));
    server.takeEvents();
    client.receiveData(concatBytes(server.takeOutput()), 30_042);
    expect(client.takeEvents()).toEqual([{ type: 'pong', data: ping!.payload, rtt: 42 }]);
    expect(client.pollTimeout()).toBe(60_000);
  });
  it('keepalive deadlines are whole milliseconds, rounded up, whatever the clock gives', () => {
    const { server, client } = openPair({}, { pingInterval: 30_000 });
    client.handleTimeout(30_000.5);
    const [ping] = parseFrames(concatBytes(client.takeOutput()));
    server.receiveData(frame({ opcode: 9, payload: ping!.payload }));
    client.receiveData(concatBytes(server.takeOutput()), 30_042.75);
    expect(client.pollTimeout()).toBe(60_001);
    const fresh = new ServerConnection({ pingInterval: 1_000 });
    fresh.receiveData(bytes(REQUEST), 0.25);
    fresh.accept();
    expect(fresh.pollTimeout()).toBe(1_001);
  });
  it('closes a dead peer with 1006 when the pong does not come, even if nothing else happens', () => {
    const { client } = openPair({}, { pingInterval: 30_000, pongTimeout: 10_000 });
    client.handleTimeout(30_000);
    client.takeOutput();
    expect(client.pollTimeout()).toBe(40_000);
    client.handleTimeout(40_000);
    expect(expectClosedWith(client, 1006).error).toMatchObject({ code: 'PING_TIMEOUT' });
    expect(client.transportAction).toBe('abort');
  });
  it('sendPing reports the round-trip time of its own pong', () => {
    const { server, client } = openPair();
    client.handleTimeout(100);
    client.sendPing(bytes('x'));
    pump(client, server);
    server.takeEvents();
    client.receiveData(concatBytes(server.takeOutput()), 107);
    expect(client.takeEvents()).toEqual([{ type: 'pong', data: bytes('x'), rtt: 7 }]);
  });
});

describe('RFC 6455 §4 handshake inside the engine', () => {
  it('frames in the same chunk as the end of the handshake are parsed, not lost', () => {
    const server = new ServerConnection();
    server.receiveData(concatBytes([bytes(REQUEST), frame({ opcode: 1, payload: 'early' })]));
    expect(server.takeEvents().map((e) => e.type)).toEqual(['request']);
    server.accept();
    expect(server.takeEvents()).toEqual([
      { type: 'open', subprotocol: null, extensions: null },
      { type: 'text', data: 'early' },
    ]);
  });
  it('§4.1: frames sent after the request and before the response are kept, in order, and parsed once open', () => {
    const server = new ServerConnection();
    const second = frame({ opcode: 2, payload: Uint8Array.of(1, 2, 3), mask: Uint8Array.of(9, 8, 7, 6) });
    server.receiveData(bytes(REQUEST));
    server.receiveData(frame({ opcode: 1, payload: 'early', mask: Uint8Array.of(1, 2, 3, 4) }));
    server.receiveData(second.subarray(0, 3));
    server.receiveData(second.subarray(3));
    expect(server.takeEvents().map((e) => e.type)).toEqual(['request']);
    server.accept();
    expect(server.takeEvents()).toEqual([
      { type: 'open', subprotocol: null, extensions: null },
      { type: 'text', data: 'early' },
      { type: 'binary', data: Uint8Array.of(1, 2, 3) },
    ]);
  });
  it('§4.1: more than maxHandshakeSize bytes before the response refuse the handshake with 400', () => {
    const server = new ServerConnection({ maxHandshakeSize: 300 });
    server.receiveData(bytes(REQUEST));
    server.receiveData(new Uint8Array(200));
    expect(server.state).toBe('connecting');
    server.receiveData(new Uint8Array(101));
    expect(new TextDecoder().decode(concatBytes(server.takeOutput()))).toMatch(/^HTTP\/1\.1 400 /);
    expect(server.state).toBe('closed');
  });
  it('a refused handshake writes the status and ends in closed with a HandshakeError', () => {
    const server = new ServerConnection();
    server.receiveData(bytes(REQUEST));
    server.reject(403, 'go away');
    const out = new TextDecoder().decode(concatBytes(server.takeOutput()));
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
    expect(out).toMatch(/go away$/);
    expect(closedEvent(server.takeEvents())?.error).toMatchObject({ code: 'REJECTED', status: 403 });
  });
  it('an oversized request head gets 431', () => {
    const server = new ServerConnection({ maxHandshakeSize: 200 });
    server.receiveData(bytes('GET / HTTP/1.1\r\nX: ' + 'a'.repeat(300)));
    expect(new TextDecoder().decode(concatBytes(server.takeOutput()))).toMatch(/^HTTP\/1\.1 431 /);
    expect(server.state).toBe('closed');
  });
});

describe('outputs', () => {
  it('an empty list from takeEvents or takeOutput stays empty: later events and bytes go to new lists', () => {
    const { server, client } = openPair();
    const noEvents = server.takeEvents();
    const noOutput = server.takeOutput();
    expect([noEvents.length, noOutput.length]).toEqual([0, 0]);
    client.sendText('one');
    pump(client, server);
    server.sendText('two');
    expect(server.takeEvents()).toHaveLength(1);
    expect(server.takeOutput()).toHaveLength(1);
    expect(client.takeEvents()).toEqual([]);
    expect([noEvents.length, noOutput.length]).toEqual([0, 0]);
  });
});

describe('abort and prepared messages', () => {
  it('abort() ends at once with 1006, no error, and asks for the transport to be destroyed', () => {
    const { server } = openPair();
    server.abort();
    expect(server.takeEvents()).toEqual([{
      type: 'closed',
      code: 1006,
      reason: '',
      clean: false,
      error: undefined,
    }]);
    expect(server.transportAction).toBe('abort');
    expect(server.takeOutput()).toEqual([]);
  });
  it('a prepared message is encoded once: servers share its frame bytes, clients mask their own', () => {
    const message = new PreparedMessage('text', 'broadcast ✓');
    const a = openPair();
    const b = openPair();
    a.server.sendPrepared(message);
    b.server.sendPrepared(message);
    const [frameA] = a.server.takeOutput();
    const [frameB] = b.server.takeOutput();
    expect(frameA).toBe(frameB);
    a.server.receiveData(new Uint8Array(0));
    a.client.receiveData(frameA!.slice());
    expect(a.client.takeEvents()).toEqual([{ type: 'text', data: 'broadcast ✓' }]);
    a.client.sendPrepared(message);
    pump(a.client, a.server);
    expect(a.server.takeEvents()).toEqual([{ type: 'text', data: 'broadcast ✓' }]);
    const big = new PreparedMessage('binary', new Uint8Array(20_000).fill(9));
    a.server.sendPrepared(big);
    pump(a.server, a.client);
    expect(a.client.takeEvents()).toEqual([{ type: 'binary', data: new Uint8Array(20_000).fill(9) }]);
  });
});
