/**
 * Receiving frames: one test per RFC 6455 rule, server and client role, each input fed whole, one byte
 * at a time, and followed by trailing bytes that must survive.
 */

import { describe, expect, it } from 'vitest';
import type { Connection, WebSocketEvent } from '../src/mod.ts';
import {
  bytes,
  closeBody,
  concatBytes,
  expectClosedWith,
  feed,
  frame,
  type FrameSpec,
  openClient,
  openServer,
  serverFrames,
} from './helpers.ts';

const SIZES = [0, 1, 125, 126, 127, 65535, 65536];
const MODES = ['whole', 'bytewise'] as const;
const ROLES = ['server', 'client'] as const;

function open(role: 'server' | 'client', options = {}): Connection {
  return role === 'server' ? openServer(options) : openClient(options);
}

/** A frame as the peer of `role` would send it (masked towards a server, unmasked towards a client). */
function peerFrame(role: 'server' | 'client', spec: FrameSpec): Uint8Array {
  return frame({
    ...spec,
    mask: role === 'server' ? (spec.mask ?? Uint8Array.of(0x37, 0xfa, 0x21, 0x3d)) : false,
  });
}

function payloadOf(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function textOf(size: number): string {
  return 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(size / 26)).slice(0, size);
}

function messages(events: WebSocketEvent[]): WebSocketEvent[] {
  return events.filter((e) => e.type === 'text' || e.type === 'binary');
}

describe('RFC 6455 §5.2 base framing: payload lengths', () => {
  for (const role of ROLES) {
    for (const mode of MODES) {
      for (const size of SIZES) {
        if (mode === 'bytewise' && size > 1000) continue;
        it(`${role} receives a ${size}-byte binary and text message (${mode})`, () => {
          const conn = open(role);
          const data = payloadOf(size);
          feed(conn, peerFrame(role, { opcode: 2, payload: data }), mode);
          feed(conn, peerFrame(role, { opcode: 1, payload: textOf(size) }), mode);
          const got = messages(conn.takeEvents());
          expect(got).toEqual([{ type: 'binary', data }, { type: 'text', data: textOf(size) }]);
        });
      }
      it(`${role} accepts the 64-bit length form for short payloads (${mode})`, () => {
        const conn = open(role);
        feed(conn, peerFrame(role, { opcode: 2, payload: payloadOf(200), lengthForm: 64 }), mode);
        expect(messages(conn.takeEvents())).toEqual([{ type: 'binary', data: payloadOf(200) }]);
      });
    }
    it(`${role} keeps trailing bytes: a frame followed by a partial one, then the rest`, () => {
      const conn = open(role);
      const first = peerFrame(role, { opcode: 2, payload: payloadOf(300, 1) });
      const second = peerFrame(role, { opcode: 1, payload: 'trailing' });
      conn.receiveData(concatBytes([first, second.subarray(0, 3)]));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'binary', data: payloadOf(300, 1) }]);
      conn.receiveData(second.slice(3));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'text', data: 'trailing' }]);
    });
    it(`${role} fails with 1002 on a 64-bit length with the most significant bit set`, () => {
      const conn = open(role);
      const header = [0x82, (role === 'server' ? 0x80 : 0) | 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
      conn.receiveData(bytes(role === 'server' ? [...header, 1, 2, 3, 4] : header));
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'LENGTH_TOO_LARGE' });
    });
  }
  it('a whole frame inside one input chunk is delivered as a view of that chunk, not a copy', () => {
    const conn = openServer();
    const input = peerFrame('server', { opcode: 2, payload: payloadOf(1000) });
    conn.receiveData(input);
    const [message] = messages(conn.takeEvents());
    expect(message!.type === 'binary' && message!.data.buffer).toBe(input.buffer);
  });
});

describe('RFC 6455 §5.1/§5.3 masking', () => {
  it('a server fails with 1002 on an unmasked frame', () => {
    const conn = openServer();
    conn.receiveData(frame({ opcode: 1, payload: 'hi', mask: false }));
    expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'MASK_EXPECTED', closeCode: 1002 });
  });
  it('a client fails with 1002 on a masked frame', () => {
    const conn = openClient();
    conn.receiveData(frame({ opcode: 1, payload: 'hi' }));
    expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'MASK_UNEXPECTED' });
  });
  it('unmasking is correct at every alignment and key phase (pieces of 1..9 bytes)', () => {
    for (let piece = 1; piece < 10; piece++) {
      const conn = openServer();
      const data = payloadOf(1000, piece);
      const wire = peerFrame('server', { opcode: 2, payload: data });
      for (let i = 0; i < wire.length; i += piece) conn.receiveData(wire.slice(i, i + piece));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'binary', data }]);
    }
  });
  it('a client masks every frame with a fresh key', () => {
    const { client } = { client: openClient() };
    client.sendBinary(payloadOf(10));
    client.sendBinary(payloadOf(10));
    const [a, b] = client.takeOutput();
    expect(a![1]! & 0x80).toBe(0x80);
    expect(a!.subarray(2, 6)).not.toEqual(b!.subarray(2, 6));
  });
});

describe('RFC 6455 §5.2 reserved bits and opcodes', () => {
  for (const role of ROLES) {
    for (const bit of ['rsv1', 'rsv2', 'rsv3'] as const) {
      it(`${role} fails with 1002 on ${bit.toUpperCase()} without a negotiated extension`, () => {
        const conn = open(role);
        conn.receiveData(peerFrame(role, { opcode: 1, payload: 'x', [bit]: true }));
        expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'RESERVED_BITS' });
      });
    }
    for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
      it(`${role} fails with 1002 on reserved opcode ${opcode}`, () => {
        const conn = open(role);
        conn.receiveData(peerFrame(role, { opcode, payload: 'x' }));
        expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'RESERVED_OPCODE' });
      });
    }
  }
});

describe('RFC 6455 §5.5 control frames', () => {
  for (const role of ROLES) {
    it(`${role} answers a ping with a pong carrying the same data, and reports the ping`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 9, payload: 'are you there' }));
      expect(conn.takeEvents()).toEqual([{ type: 'ping', data: bytes('are you there') }]);
      const frames = serverFrames(conn.takeOutput());
      expect(frames).toEqual([{ fin: true, rsv1: false, opcode: 10, payload: bytes('are you there') }]);
    });
    it(`${role} accepts a 125-byte ping and fails with 1002 on a 126-byte one`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 9, payload: payloadOf(125) }));
      expect(conn.takeEvents()[0]).toMatchObject({ type: 'ping' });
      conn.receiveData(peerFrame(role, { opcode: 9, payload: payloadOf(126) }));
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'CONTROL_FRAME_TOO_LONG' });
    });
    it(`${role} fails with 1002 on a fragmented control frame`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 9, fin: false, payload: 'x' }));
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'CONTROL_FRAME_FRAGMENTED' });
    });
    it(`${role} reports an unsolicited pong without a round-trip time and does not answer it`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 10, payload: 'beat' }));
      expect(conn.takeEvents()).toEqual([{ type: 'pong', data: bytes('beat'), rtt: undefined }]);
      expect(conn.takeOutput()).toEqual([]);
    });
  }
});

describe('RFC 6455 §5.4 fragmentation', () => {
  for (const role of ROLES) {
    for (const mode of MODES) {
      it(`${role} reassembles fragments with control frames in between (${mode})`, () => {
        const conn = open(role);
        const wire = concatBytes([
          peerFrame(role, { opcode: 1, fin: false, payload: 'frag' }),
          peerFrame(role, { opcode: 9, payload: 'p' }),
          peerFrame(role, { opcode: 0, fin: false, payload: '' }),
          peerFrame(role, { opcode: 10, payload: 'q' }),
          peerFrame(role, { opcode: 0, fin: true, payload: 'mented' }),
        ]);
        feed(conn, wire, mode);
        const events = conn.takeEvents();
        expect(events.map((e) => e.type)).toEqual(['ping', 'pong', 'text']);
        expect(events[2]).toEqual({ type: 'text', data: 'fragmented' });
      });
    }
    it(`${role} fails with 1002 on a continuation with nothing to continue`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 0, payload: 'x' }));
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'UNEXPECTED_CONTINUATION' });
    });
    it(`${role} fails with 1002 on a new data frame inside a fragmented message`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 1, fin: false, payload: 'x' }));
      conn.receiveData(peerFrame(role, { opcode: 2, payload: 'y' }));
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'EXPECTED_CONTINUATION' });
    });
    it(`${role} accepts zero-length fragments`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 2, fin: false }));
      conn.receiveData(peerFrame(role, { opcode: 0, fin: false }));
      conn.receiveData(peerFrame(role, { opcode: 0, fin: true }));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'binary', data: new Uint8Array(0) }]);
    });
  }
});

describe('RFC 6455 §8.1 UTF-8 in text messages', () => {
  for (const role of ROLES) {
    it(`${role} fails fast with 1007 at the first frame that cannot be valid UTF-8`, () => {
      const conn = open(role);
      // ce ba e1 bd b9 cf 83 ce bc ce b5 is κόσμε; then ed a0 80 is a surrogate: invalid at once.
      conn.receiveData(peerFrame(role, { opcode: 1, fin: false, payload: bytes([0xce, 0xba, 0xe1, 0xbd]) }));
      expect(conn.state).toBe('open');
      conn.receiveData(peerFrame(role, { opcode: 0, fin: false, payload: bytes([0xb9, 0xed, 0xa0, 0x80]) }));
      expect(expectClosedWith(conn, 1007).error).toMatchObject({ code: 'INVALID_UTF8' });
    });
    it(`${role} fails fast inside a single frame before its end arrives`, () => {
      const conn = open(role);
      const wire = peerFrame(role, {
        opcode: 1,
        payload: concatBytes([bytes('hello'), bytes([0xf5]), payloadOf(500)]),
      });
      conn.receiveData(wire.slice(0, 20));
      expectClosedWith(conn, 1007);
    });
    it(`${role} accepts a code point split across frames and fails a message ending mid-sequence`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 1, fin: false, payload: bytes([0xe2, 0x82]) }));
      conn.receiveData(peerFrame(role, { opcode: 0, fin: true, payload: bytes([0xac]) }));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'text', data: '€' }]);
      conn.receiveData(peerFrame(role, { opcode: 1, fin: true, payload: bytes([0x41, 0xe2, 0x82]) }));
      expect(expectClosedWith(conn, 1007).error).toMatchObject({ code: 'INVALID_UTF8' });
    });
    it(`${role} with an injected whole-buffer validator still fails invalid text with 1007`, () => {
      const conn = open(role, {
        validateUtf8: (b: Uint8Array) => new TextDecoder('utf-8', { fatal: true }).decode(b) !== null,
      });
      conn.receiveData(peerFrame(role, { opcode: 1, payload: 'fine' }));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'text', data: 'fine' }]);
      const strict = open(role, {
        validateUtf8: (b: Uint8Array) => {
          try {
            new TextDecoder('utf-8', { fatal: true }).decode(b);
            return true;
          } catch {
            return false;
          }
        },
      });
      strict.receiveData(peerFrame(role, { opcode: 1, payload: bytes([0x41, 0xc0, 0xaf]) }));
      expectClosedWith(strict, 1007);
    });
    it(`${role} keeps a byte-order mark in text`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 1, payload: bytes([0xef, 0xbb, 0xbf, 0x41]) }));
      expect(messages(conn.takeEvents())).toEqual([{ type: 'text', data: '\ufeffA' }]);
    });
  }
});

describe('RFC 6455 §5.5.1/§7.4 close frames', () => {
  const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
  const valid = [
    1000,
    1001,
    1002,
    1003,
    1007,
    1008,
    1009,
    1010,
    1011,
    1012,
    1013,
    1014,
    3000,
    3999,
    4000,
    4999,
  ];
  for (const role of ROLES) {
    for (const code of valid) {
      it(`${role} echoes valid close code ${code}`, () => {
        const conn = open(role);
        conn.receiveData(peerFrame(role, { opcode: 8, payload: closeBody(code, 'bye') }));
        const events = conn.takeEvents();
        expect(events[0]).toEqual({ type: 'close', code, reason: 'bye' });
        const [echo] = serverFrames(conn.takeOutput());
        expect(echo).toMatchObject({ opcode: 8, payload: closeBody(code) });
      });
    }
    for (const code of invalid) {
      it(`${role} fails with 1002 on invalid close code ${code}`, () => {
        const conn = open(role);
        conn.receiveData(peerFrame(role, { opcode: 8, payload: closeBody(code) }));
        expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'INVALID_CLOSE_CODE' });
        const [sent] = serverFrames(conn.takeOutput());
        expect([sent!.opcode, sent!.payload[0], sent!.payload[1]]).toEqual([8, 0x03, 0xea]);
      });
    }
    it(`${role} fails with 1002 on a 1-byte close payload`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 8, payload: bytes([3]) }));
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'INVALID_CLOSE_PAYLOAD' });
    });
    it(`${role} fails with 1007 on a close reason that is not UTF-8`, () => {
      const conn = open(role);
      conn.receiveData(
        peerFrame(role, { opcode: 8, payload: concatBytes([closeBody(1000), bytes([0xff])]) }),
      );
      expectClosedWith(conn, 1007);
    });
    it(`${role} reports 1005 for an empty close frame and echoes an empty one`, () => {
      const conn = open(role);
      conn.receiveData(peerFrame(role, { opcode: 8 }));
      expect(conn.takeEvents()[0]).toEqual({ type: 'close', code: 1005, reason: '' });
      expect(serverFrames(conn.takeOutput())).toEqual([{
        fin: true,
        rsv1: false,
        opcode: 8,
        payload: new Uint8Array(0),
      }]);
    });
    it(`${role} ignores frames after a close frame`, () => {
      const conn = open(role);
      conn.receiveData(concatBytes([
        peerFrame(role, { opcode: 8, payload: closeBody(1000) }),
        peerFrame(role, { opcode: 1, payload: 'late' }),
      ]));
      expect(messages(conn.takeEvents())).toEqual([]);
    });
  }
});

describe('limits (RFC 6455 §10.4): max frame and message size → 1009 before buffering', () => {
  for (const role of ROLES) {
    it(`${role} fails with 1009 on a frame header announcing more than maxFrameSize`, () => {
      const conn = open(role, { maxFrameSize: 1000 });
      const wire = peerFrame(role, { opcode: 2, payload: payloadOf(1001) });
      conn.receiveData(wire.slice(0, 8)); // header only: refused before any payload arrives
      expect(expectClosedWith(conn, 1009).error).toMatchObject({ code: 'FRAME_TOO_BIG' });
    });
    it(`${role} fails with 1009 when fragments add up to more than maxMessageSize`, () => {
      const conn = open(role, { maxMessageSize: 100 });
      conn.receiveData(peerFrame(role, { opcode: 2, fin: false, payload: payloadOf(60) }));
      conn.receiveData(peerFrame(role, { opcode: 0, fin: true, payload: payloadOf(60) }));
      expect(expectClosedWith(conn, 1009).error).toMatchObject({ code: 'MESSAGE_TOO_BIG' });
    });
    it(`${role} accepts a message of exactly maxMessageSize`, () => {
      const conn = open(role, { maxMessageSize: 100 });
      conn.receiveData(peerFrame(role, { opcode: 2, payload: payloadOf(100) }));
      expect(messages(conn.takeEvents())).toHaveLength(1);
    });
  }
});

describe('streaming mode', () => {
  it('delivers a large message as start / chunks / end without assembling it', () => {
    const conn = openServer({ streaming: true });
    const data = payloadOf(100_000);
    const wire = peerFrame('server', { opcode: 2, payload: data });
    for (let i = 0; i < wire.length; i += 8192) conn.receiveData(wire.slice(i, i + 8192));
    const events = conn.takeEvents();
    expect(events[0]).toEqual({ type: 'messageStart', messageType: 'binary', compressed: false });
    expect(events.at(-1)).toEqual({ type: 'messageEnd' });
    const chunks = events.filter((e) => e.type === 'messageChunk');
    expect(chunks.length).toBeGreaterThan(10);
    expect(concatBytes(chunks.map((e) => (e.type === 'messageChunk' ? e.data : new Uint8Array())))).toEqual(
      data,
    );
  });
});

describe('RFC 6455 §8.1 with an injected whole-buffer validator', () => {
  const isUtf8Strict = (b: Uint8Array) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(b);
      return true;
    } catch {
      return false;
    }
  };
  it('a code point split between two input chunks is valid (the cut keeps the open sequence for later)', () => {
    const conn = openServer({ validateUtf8: isUtf8Strict });
    const wire = frame({ opcode: 1, payload: '€'.repeat(100) });
    conn.receiveData(wire.slice(0, 6 + 100)); // 100 payload bytes: 33 code points and 1 byte of the next
    conn.receiveData(wire.slice(6 + 100));
    expect(messages(conn.takeEvents())).toEqual([{ type: 'text', data: '€'.repeat(100) }]);
  });
  it('an invalid byte in the middle of a large piece fails fast, before the frame ends', () => {
    const conn = openServer({ validateUtf8: isUtf8Strict });
    const payload = concatBytes([bytes('a'.repeat(200)), bytes([0xc0, 0x80]), bytes('b'.repeat(300))]);
    const wire = frame({ opcode: 1, payload });
    conn.receiveData(wire.slice(0, 400));
    expectClosedWith(conn, 1007);
  });
});

describe('RFC 6455 §7.1.7 ordering: messages before a violation are delivered and may be answered first', () => {
  for (const role of ROLES) {
    it(`${role}: text, then a reserved opcode, in one chunk → the echo goes out before the 1002 close`, () => {
      const conn = open(role);
      conn.receiveData(concatBytes([
        peerFrame(role, { opcode: 1, payload: 'first' }),
        peerFrame(role, { opcode: 5, payload: 'bad' }),
        peerFrame(role, { opcode: 9, payload: 'late ping' }),
      ]));
      expect(conn.takeOutput()).toEqual([]);
      expect(conn.takeEvents()).toEqual([{ type: 'text', data: 'first' }]);
      conn.sendText('first'); // the application echoes
      expect(serverFrames(conn.takeOutput()).map((f) => f.opcode)).toEqual([1]);
      // The caller asks for more events: the held violation applies now.
      expect(expectClosedWith(conn, 1002).error).toMatchObject({ code: 'RESERVED_OPCODE' });
      const [close] = serverFrames(conn.takeOutput());
      expect([close!.opcode, close!.payload[0], close!.payload[1]]).toEqual([8, 0x03, 0xea]);
    });
    it(`${role}: a caller that only re-arms its timer still fails the connection (pollTimeout is due now)`, () => {
      const conn = open(role);
      conn.handleTimeout(50);
      conn.receiveData(concatBytes([
        peerFrame(role, { opcode: 2, payload: 'x' }),
        peerFrame(role, { opcode: 0, payload: 'y' }),
      ]));
      conn.takeEvents();
      expect(conn.pollTimeout()).toBe(50);
      conn.handleTimeout(50);
      expectClosedWith(conn, 1002);
    });
  }
});
