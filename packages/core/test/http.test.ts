/**
 * HTTP/1.1 heads for the handshake (RFC 9112, RFC 9110): every parser is tested on the whole input, one
 * byte at a time, and with trailing bytes that must come back in `rest`, plus fast-check properties.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandshakeError, type HeaderField, UsageError } from '../src/errors.ts';
import {
  getHeader,
  getHeaderValues,
  hasToken,
  type HttpRequest,
  type HttpResponse,
  isFieldValue,
  isToken,
  parseTokenList,
  RequestHeadParser,
  ResponseParser,
  serializeRequest,
  serializeResponse,
} from '../src/http.ts';
import { runs } from './fc-runs.ts';

// ---------------------------------------------------------------------------------------------------
// Helpers

/** Latin-1 bytes of `text` (one byte per code unit), like header text on the wire. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Splits `data` at the given cut points (taken modulo its length). */
function splitAt(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => (data.length === 0 ? 0 : cut % (data.length + 1))))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  chunks.push(data.subarray(start));
  return chunks;
}

function bytewise(data: Uint8Array): Uint8Array[] {
  return Array.from(data, (_, i) => data.subarray(i, i + 1));
}

type Chunking = { name: string; split: (data: Uint8Array) => Uint8Array[] };
/** The three ways every parser is fed. */
const chunkings: Chunking[] = [
  { name: 'whole', split: (data) => [data] },
  { name: 'one byte at a time', split: bytewise },
  { name: 'in two halves', split: (data) => splitAt(data, [data.length >> 1]) },
];

interface Parser<R> {
  push(data: Uint8Array): { kind: 'incomplete' } | R;
}

/**
 * Feeds `chunks` (copies, scribbled over after each push to prove the parser keeps no reference) until
 * a result; returns it with every byte after the message: `rest` plus the chunks not pushed.
 */
function feed<R extends { kind: string }>(
  parser: Parser<R>,
  chunks: readonly Uint8Array[],
): { result: R | { kind: 'incomplete' }; after: Uint8Array; pushes: number } {
  let pushes = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!.slice();
    const result = parser.push(chunk);
    pushes++;
    if (result.kind !== 'incomplete') {
      const rest = 'rest' in result ? (result.rest as Uint8Array).slice() : new Uint8Array(0);
      chunk.fill(0x21);
      return { result, after: concat(rest, ...chunks.slice(i + 1)), pushes };
    }
    chunk.fill(0x21);
  }
  return { result: { kind: 'incomplete' }, after: new Uint8Array(0), pushes };
}

function parseRequest(data: Uint8Array, split: (data: Uint8Array) => Uint8Array[] = (d) => [d], max = 8192) {
  return feed(new RequestHeadParser(max), split(data));
}

function expectRequest(
  outcome: ReturnType<typeof parseRequest>,
): { request: HttpRequest; after: Uint8Array } {
  if (outcome.result.kind !== 'done') {
    throw new Error(`expected a request, got ${JSON.stringify(outcome.result)}`);
  }
  return { request: (outcome.result as { request: HttpRequest }).request, after: outcome.after };
}

function expectHandshakeError(
  result: { kind: string; error?: HandshakeError },
  code: HandshakeError['code'],
  status: number,
): HandshakeError {
  expect(result.kind).toBe('error');
  expect(result.error).toBeInstanceOf(HandshakeError);
  expect(result.error!.code).toBe(code);
  expect(result.error!.status).toBe(status);
  return result.error!;
}

function parseResponse(
  data: Uint8Array,
  split: (data: Uint8Array) => Uint8Array[] = (d) => [d],
  { maxHead = 8192, maxBody = 65536, eof = false } = {},
) {
  const parser = new ResponseParser(maxHead, maxBody);
  const outcome = feed(parser, split(data));
  if (outcome.result.kind === 'incomplete' && eof) {
    const result = parser.end();
    return { result, after: 'rest' in result ? result.rest : new Uint8Array(0), pushes: outcome.pushes };
  }
  return outcome;
}

function expectResponse(
  outcome: ReturnType<typeof parseResponse>,
): { response: HttpResponse; after: Uint8Array } {
  if (outcome.result.kind !== 'done') {
    throw new Error(`expected a response, got ${JSON.stringify(outcome.result)}`);
  }
  return { response: (outcome.result as { response: HttpResponse }).response, after: outcome.after };
}

const crlf = (...lines: string[]) => latin1(lines.map((line) => `${line}\r\n`).join(''));

// The RFC 6455 §1.3 example request.
const RFC_REQUEST = crlf(
  'GET /chat HTTP/1.1',
  'Host: server.example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Origin: http://example.com',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Version: 13',
  '',
);
const RFC_REQUEST_HEADERS: HeaderField[] = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
  ['Origin', 'http://example.com'],
  ['Sec-WebSocket-Protocol', 'chat, superchat'],
  ['Sec-WebSocket-Version', '13'],
];
// A masked text frame "Hello" (RFC 6455 §5.7): bytes that follow the head and must survive.
const FRAME = new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);

// ---------------------------------------------------------------------------------------------------

describe('header helpers (RFC 9110 §5)', () => {
  const headers: HeaderField[] = [
    ['Connection', 'keep-alive'],
    ['X-Other', 'a'],
    ['connection', ' Upgrade ,, '],
  ];

  it('getHeader ignores case and joins repeated fields with ", " (RFC 9110 §5.3)', () => {
    expect(getHeader(headers, 'CONNECTION')).toBe('keep-alive,  Upgrade ,, ');
    expect(getHeader(headers, 'x-other')).toBe('a');
    expect(getHeader(headers, 'missing')).toBeUndefined();
  });

  it('getHeaderValues returns every occurrence in order', () => {
    expect(getHeaderValues(headers, 'Connection')).toEqual(['keep-alive', ' Upgrade ,, ']);
    expect(getHeaderValues(headers, 'missing')).toEqual([]);
  });

  it('parseTokenList trims OWS and skips empty elements (RFC 9110 §5.6.1)', () => {
    expect(parseTokenList(' a ,b,\t, ,c\t')).toEqual(['a', 'b', 'c']);
    expect(parseTokenList('')).toEqual([]);
    expect(parseTokenList(',,')).toEqual([]);
  });

  it('hasToken finds a token case-insensitively across all fields', () => {
    expect(hasToken(headers, 'connection', 'upgrade')).toBe(true);
    expect(hasToken(headers, 'connection', 'KEEP-ALIVE')).toBe(true);
    expect(hasToken(headers, 'connection', 'close')).toBe(false);
    expect(hasToken(headers, 'upgrade', 'websocket')).toBe(false);
  });

  it('isToken and isFieldValue follow RFC 9110 §5.6.2 and §5.5', () => {
    expect(isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
    for (const bad of ['', 'a b', 'a:b', 'a,b', '"a"', 'a\x7f', 'é']) expect(isToken(bad)).toBe(false);
    expect(isFieldValue('a b\tc\x80\xff')).toBe(true);
    for (const bad of ['a\r', 'a\n', 'a\0', 'a\x7f', 'a\x01', '\u0100']) {
      expect(isFieldValue(bad)).toBe(false);
    }
  });
});

describe('RequestHeadParser (RFC 9112 §2–§5)', () => {
  describe.each(chunkings)('fed $name', ({ split }) => {
    it('parses the RFC 6455 §1.3 request, keeping field order and case', () => {
      const { request, after } = expectRequest(parseRequest(RFC_REQUEST, split));
      expect(request).toEqual({
        method: 'GET',
        target: '/chat',
        version: 'HTTP/1.1',
        headers: RFC_REQUEST_HEADERS,
      });
      expect(after).toEqual(new Uint8Array(0));
    });

    it('returns the bytes after the head in rest, exactly', () => {
      const { request, after } = expectRequest(parseRequest(concat(RFC_REQUEST, FRAME, FRAME), split));
      expect(request.headers).toEqual(RFC_REQUEST_HEADERS);
      expect(after).toEqual(concat(FRAME, FRAME));
    });

    it('reports a malformed head as MALFORMED_HTTP 400', () => {
      const outcome = parseRequest(crlf('GET /chat HTTP/1.1', 'Host : x', ''), split);
      expectHandshakeError(outcome.result as never, 'MALFORMED_HTTP', 400);
    });
  });

  it('fails on a malformed request line before the rest of the head arrives', () => {
    const parser = new RequestHeadParser(8192);
    expectHandshakeError(parser.push(latin1('GET  /chat HTTP/1.1\r\nHost')), 'MALFORMED_HTTP', 400);
  });

  describe('keeps the header section as one string (an open connection holds its request)', () => {
    it('builds headers on each read: equal every time, a new array each time', () => {
      const { request } = expectRequest(parseRequest(RFC_REQUEST));
      const first = request.headers;
      expect(first).toEqual(RFC_REQUEST_HEADERS);
      expect(request.headers).toEqual(first);
      expect(request.headers).not.toBe(first);
      expect(getHeader(request.headers, 'sec-websocket-key')).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    });

    it('is not changed by changing a headers array it returned; assigning headers replaces them', () => {
      const { request } = expectRequest(parseRequest(RFC_REQUEST));
      request.headers.push(['X-Added', '1']);
      (request.headers[0] as [string, string])[1] = 'changed';
      expect(request.headers).toEqual(RFC_REQUEST_HEADERS);
      const replaced: HeaderField[] = [['Host', 'elsewhere']];
      request.headers = replaced;
      expect(request.headers).toBe(replaced);
      request.headers.push(['X-Added', '1']);
      expect(request.headers).toEqual([['Host', 'elsewhere'], ['X-Added', '1']]);
      request.headers = [];
      expect({ ...request }).toEqual({ method: 'GET', target: '/chat', version: 'HTTP/1.1', headers: [] });
    });

    it('has own enumerable method, target, version and headers, like a plain object', () => {
      const { request } = expectRequest(parseRequest(RFC_REQUEST));
      const plain = { method: 'GET', target: '/chat', version: 'HTTP/1.1', headers: RFC_REQUEST_HEADERS };
      expect(Object.keys(request).sort()).toEqual(['headers', 'method', 'target', 'version']);
      expect({ ...request }).toEqual(plain);
      expect(JSON.parse(JSON.stringify(request))).toEqual(plain);
    });

    it('a request without header fields has none', () => {
      const { request } = expectRequest(parseRequest(crlf('GET / HTTP/1.1', '')));
      expect(request.headers).toEqual([]);
    });
  });

  it('ignores empty lines before the request line (RFC 9112 §2.2)', () => {
    const { request } = expectRequest(parseRequest(concat(latin1('\r\n\r\n'), RFC_REQUEST)));
    expect(request.method).toBe('GET');
  });

  it('trims OWS around field values and keeps empty values (RFC 9112 §5.1)', () => {
    const head = crlf('GET / HTTP/1.1', 'A:  \t x y \t ', 'B:', 'C:\t', '');
    expect(expectRequest(parseRequest(head)).request.headers).toEqual([['A', 'x y'], ['B', ''], ['C', '']]);
  });

  it('keeps obs-text bytes as Latin-1 characters', () => {
    const head = concat(latin1('GET / HTTP/1.1\r\nX: caf'), new Uint8Array([0xe9, 0xff]), latin1('\r\n\r\n'));
    expect(expectRequest(parseRequest(head)).request.headers).toEqual([['X', 'caf\xe9\xff']]);
  });

  it('accepts any request-target of printable ASCII and any HTTP/d.d version', () => {
    const { request } = expectRequest(parseRequest(crlf('OPTIONS * HTTP/1.0', '')));
    expect(request).toEqual({ method: 'OPTIONS', target: '*', version: 'HTTP/1.0', headers: [] });
  });

  const malformed: [string, string | Uint8Array][] = [
    ['a bare LF ending a field line (bare LF policy: rejected)', 'GET / HTTP/1.1\r\nHost: x\n\r\n'],
    ['a bare LF ending the head', 'GET / HTTP/1.1\r\nHost: x\r\n\n'],
    ['a bare LF ending the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n'],
    ['a bare CR inside a line', 'GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n'],
    ['obs-fold (RFC 9112 §5.2)', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n'],
    ['obs-fold with HTAB', 'GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n'],
    ['whitespace before the colon (RFC 9112 §5.1)', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['a tab before the colon', 'GET / HTTP/1.1\r\nHost\t: x\r\n\r\n'],
    ['whitespace before the first field (RFC 9112 §2.2)', 'GET / HTTP/1.1\r\n Host: x\r\n\r\n'],
    ['a field line without a colon', 'GET / HTTP/1.1\r\nHost\r\n\r\n'],
    ['an empty field name', 'GET / HTTP/1.1\r\n: x\r\n\r\n'],
    ['a separator in a field name', 'GET / HTTP/1.1\r\nX(y): x\r\n\r\n'],
    ['NUL in a field value (RFC 9110 §5.5)', 'GET / HTTP/1.1\r\nX: a\0b\r\n\r\n'],
    ['DEL in a field value', 'GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n'],
    ['a control character in a field value', 'GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n'],
    ['two spaces in the request line (RFC 9112 §3)', 'GET  / HTTP/1.1\r\n\r\n'],
    ['a tab in the request line', 'GET\t/ HTTP/1.1\r\n\r\n'],
    ['a trailing space in the request line', 'GET / HTTP/1.1 \r\n\r\n'],
    ['a missing version', 'GET /\r\n\r\n'],
    ['a lower-case version (RFC 9112 §2.3)', 'GET / http/1.1\r\n\r\n'],
    ['a two-digit minor version', 'GET / HTTP/1.10\r\n\r\n'],
    ['a method that is not a token', 'G(T / HTTP/1.1\r\n\r\n'],
    ['a target with a non-ASCII byte', 'GET /caf\xe9 HTTP/1.1\r\n\r\n'],
    ['a target with a control character', 'GET /\x01 HTTP/1.1\r\n\r\n'],
    ['an empty request line after the skipped ones', '\r\n \r\n\r\n'],
  ];
  describe.each(chunkings)('rejects, fed $name,', ({ split }) => {
    it.each(malformed)('%s', (_, input) => {
      const data = typeof input === 'string' ? latin1(input) : input;
      expectHandshakeError(parseRequest(data, split).result as never, 'MALFORMED_HTTP', 400);
    });
  });

  it('returns the same error to every later push', () => {
    const parser = new RequestHeadParser(8192);
    const first = parser.push(latin1('GET / HTTP/1.1\n'));
    expect(parser.push(RFC_REQUEST)).toEqual(first);
  });

  it('throws a UsageError when pushed to after it is done', () => {
    const parser = new RequestHeadParser(8192);
    expect(parser.push(RFC_REQUEST).kind).toBe('done');
    expect(() => parser.push(FRAME)).toThrow(UsageError);
  });

  it('throws a UsageError for a limit that is not a number ≥ 0', () => {
    for (const limit of [Number.NaN, -1]) {
      expect(() => new RequestHeadParser(limit)).toThrow(UsageError);
      expect(() => new ResponseParser(limit, 1)).toThrow(UsageError);
      expect(() => new ResponseParser(1, limit)).toThrow(UsageError);
    }
  });

  it('returns incomplete for an empty push', () => {
    expect(new RequestHeadParser(8192).push(new Uint8Array(0))).toEqual({ kind: 'incomplete' });
  });

  describe('limits the head to maxHeadSize bytes (431, as h11 hints)', () => {
    const size = RFC_REQUEST.length;

    describe.each(chunkings)('fed $name', ({ split }) => {
      it('accepts a head of exactly maxHeadSize bytes, with more bytes after it', () => {
        const { after } = expectRequest(parseRequest(concat(RFC_REQUEST, FRAME), split, size));
        expect(after).toEqual(FRAME);
      });

      it('rejects a head one byte longer than maxHeadSize with HEADERS_TOO_LARGE 431', () => {
        const outcome = parseRequest(concat(RFC_REQUEST, FRAME), split, size - 1);
        expectHandshakeError(outcome.result as never, 'HEADERS_TOO_LARGE', 431);
      });
    });

    it('fails on the very byte that crosses the limit, one byte at a time', () => {
      const outcome = parseRequest(RFC_REQUEST, bytewise, size - 10);
      expectHandshakeError(outcome.result as never, 'HEADERS_TOO_LARGE', 431);
      expect(outcome.pushes).toBe(size - 10 + 1);
    });

    it('fails on the crossing byte for a line that never ends', () => {
      const parser = new RequestHeadParser(100);
      const line = latin1(`GET /${'a'.repeat(200)}`);
      for (let i = 0; i < 100; i++) expect(parser.push(line.subarray(i, i + 1)).kind).toBe('incomplete');
      expectHandshakeError(parser.push(line.subarray(100, 101)), 'HEADERS_TOO_LARGE', 431);
    });

    it('fails at once when one push carries more than the limit without a complete head', () => {
      const parser = new RequestHeadParser(100);
      expectHandshakeError(parser.push(latin1(`GET /${'a'.repeat(1_000_000)}`)), 'HEADERS_TOO_LARGE', 431);
    });

    it('counts skipped empty lines against the limit', () => {
      const outcome = parseRequest(concat(latin1('\r\n'), RFC_REQUEST), (d) => [d], size + 2);
      expect(outcome.result.kind).toBe('done');
      const over = parseRequest(concat(latin1('\r\n'), RFC_REQUEST), (d) => [d], size + 1);
      expectHandshakeError(over.result as never, 'HEADERS_TOO_LARGE', 431);
    });
  });
});

// ---------------------------------------------------------------------------------------------------

const SWITCHING = crlf(
  'HTTP/1.1 101 Switching Protocols',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
  'Sec-WebSocket-Protocol: chat',
  '',
);

describe('ResponseParser (RFC 9112 §4, §6)', () => {
  describe.each(chunkings)('fed $name', ({ split }) => {
    it('parses the RFC 6455 §1.3 101 response and returns every byte after the head in rest', () => {
      const { response, after } = expectResponse(parseResponse(concat(SWITCHING, FRAME, FRAME), split));
      expect(response).toEqual({
        version: 'HTTP/1.1',
        status: 101,
        reason: 'Switching Protocols',
        headers: [
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
          ['Sec-WebSocket-Protocol', 'chat'],
        ],
        body: new Uint8Array(0),
      });
      expect(after).toEqual(concat(FRAME, FRAME));
    });

    it('ignores Content-Length on a 101: the bytes after the head are frames (RFC 9112 §6.3)', () => {
      const data = concat(crlf('HTTP/1.1 101 Switching Protocols', 'Content-Length: 5', ''), FRAME);
      const { response, after } = expectResponse(parseResponse(data, split));
      expect(response.body).toEqual(new Uint8Array(0));
      expect(after).toEqual(FRAME);
    });

    it('reads a Content-Length body, keeping what follows', () => {
      const data = concat(crlf('HTTP/1.1 403 Forbidden', 'Content-Length: 5', ''), latin1('nope!'), FRAME);
      const { response, after } = expectResponse(parseResponse(data, split));
      expect(response.status).toBe(403);
      expect(response.body).toEqual(latin1('nope!'));
      expect(after).toEqual(FRAME);
    });

    it('reads an empty Content-Length body', () => {
      const data = concat(crlf('HTTP/1.1 400 Bad Request', 'Content-Length: 0', ''), FRAME);
      const { response, after } = expectResponse(parseResponse(data, split));
      expect(response.body).toEqual(new Uint8Array(0));
      expect(after).toEqual(FRAME);
    });

    it('reads a chunked body with extensions and trailers (RFC 9112 §7.1)', () => {
      const data = concat(
        crlf('HTTP/1.1 400 Bad Request', 'Transfer-Encoding: Chunked', ''),
        latin1('5;name=value ; q="a\\"b"\r\nhello\r\n1\r\n \r\n00006\r\nworld!\r\n0\r\nX-Trailer: 1\r\n\r\n'),
        FRAME,
      );
      const { response, after } = expectResponse(parseResponse(data, split));
      expect(response.body).toEqual(latin1('hello world!'));
      expect(after).toEqual(FRAME);
    });

    it('reads a body until the end of the connection when it has no length (RFC 9112 §6.3)', () => {
      const data = concat(crlf('HTTP/1.0 500 Oops', ''), latin1('went wrong'));
      const { response, after } = expectResponse(parseResponse(data, split, { eof: true }));
      expect(response).toMatchObject({ version: 'HTTP/1.0', status: 500, reason: 'Oops' });
      expect(response.body).toEqual(latin1('went wrong'));
      expect(after).toEqual(new Uint8Array(0));
    });

    it('skips interim 1xx responses before the final one (RFC 9110 §15.2)', () => {
      const data = concat(
        crlf('HTTP/1.1 100 Continue', ''),
        crlf('HTTP/1.1 103 Early Hints', 'Link: </a>', ''),
        SWITCHING,
      );
      const { response } = expectResponse(parseResponse(concat(data, FRAME), split));
      expect(response.status).toBe(101);
      expect(response.headers).toHaveLength(4);
    });

    it.each([204, 304])('ends a %i response with its head', (status) => {
      const data = concat(crlf(`HTTP/1.1 ${status} X`, 'Content-Length: 5', ''), FRAME);
      const { response, after } = expectResponse(parseResponse(data, split));
      expect(response.body).toEqual(new Uint8Array(0));
      expect(after).toEqual(FRAME);
    });
  });

  it('accepts an empty reason phrase, with or without its space (RFC 9112 §4)', () => {
    for (const line of ['HTTP/1.1 101', 'HTTP/1.1 101 ']) {
      const { response } = expectResponse(parseResponse(crlf(line, '')));
      expect(response.reason).toBe('');
    }
  });

  it('replaces obs-fold with a space in a response, as a user agent must (RFC 9112 §5.2)', () => {
    const data = crlf('HTTP/1.1 101 Switching Protocols', 'X: a', ' \t b  ', '\tc', 'Y: d', '');
    expect(expectResponse(parseResponse(data)).response.headers).toEqual([['X', 'a b c'], ['Y', 'd']]);
  });

  it('accepts identical repeated Content-Length values (RFC 9110 §8.6)', () => {
    const data = concat(
      crlf('HTTP/1.1 200 OK', 'Content-Length: 2, 2', 'Content-Length: 2', ''),
      latin1('ok'),
    );
    expect(expectResponse(parseResponse(data)).response.body).toEqual(latin1('ok'));
  });

  const malformedHeads: [string, string][] = [
    ['a status line without a status', 'HTTP/1.1\r\n\r\n'],
    ['a two-digit status', 'HTTP/1.1 99 X\r\n\r\n'],
    ['a four-digit status', 'HTTP/1.1 1010 X\r\n\r\n'],
    ['a status below 100', 'HTTP/1.1 099 X\r\n\r\n'],
    ['a lower-case version', 'http/1.1 101 X\r\n\r\n'],
    ['a control character in the reason', 'HTTP/1.1 101 A\x01B\r\n\r\n'],
    ['a bare LF', 'HTTP/1.1 101 X\nUpgrade: websocket\r\n\r\n'],
    ['whitespace before a colon', 'HTTP/1.1 101 X\r\nUpgrade : websocket\r\n\r\n'],
    ['whitespace before the first field', 'HTTP/1.1 101 X\r\n Upgrade: websocket\r\n\r\n'],
    ['a NUL in a value', 'HTTP/1.1 101 X\r\nUpgrade: web\0socket\r\n\r\n'],
    ['an empty line before the status line', '\r\nHTTP/1.1 101 X\r\n\r\n'],
  ];
  describe.each(chunkings)('rejects, fed $name,', ({ split }) => {
    it.each(malformedHeads)('%s as MALFORMED_HTTP with status 0', (_, input) => {
      expectHandshakeError(parseResponse(latin1(input), split).result as never, 'MALFORMED_HTTP', 0);
    });
  });

  const malformedBodies: [string, string][] = [
    [
      'both Transfer-Encoding and Content-Length (RFC 9112 §6.3)',
      'Transfer-Encoding: chunked\r\nContent-Length: 3',
    ],
    ['a Transfer-Encoding other than chunked', 'Transfer-Encoding: gzip'],
    ['chunked that is not the only coding', 'Transfer-Encoding: gzip, chunked'],
    ['a non-numeric Content-Length (RFC 9112 §6.3)', 'Content-Length: 3x'],
    ['a negative Content-Length', 'Content-Length: -1'],
    ['conflicting Content-Length values', 'Content-Length: 3\r\nContent-Length: 4'],
    ['an empty Content-Length', 'Content-Length: '],
  ];
  it.each(malformedBodies)('rejects %s as MALFORMED_HTTP with the received status', (_, fields) => {
    const error = expectHandshakeError(
      parseResponse(latin1(`HTTP/1.1 400 Bad Request\r\n${fields}\r\n\r\nabc`)).result as never,
      'MALFORMED_HTTP',
      400,
    );
    expect(error.headers.length).toBeGreaterThan(0);
  });

  const badChunks: [string, string][] = [
    ['a chunk size that is not hexadecimal', 'x\r\n'],
    ['a chunk size with a space before it', ' 5\r\nhello\r\n0\r\n\r\n'],
    ['a chunk not followed by CRLF', '5\r\nhelloXY0\r\n\r\n'],
    // The CR that ends the chunk data is data, not the CR of the line after it.
    ['a chunk ending in CR followed by a bare LF', '5\r\nhell\r\n0\r\n\r\n'],
    ['a bare LF after a chunk', '5\r\nhello\n0\r\n\r\n'],
    ['an invalid chunk extension', '5;=\r\nhello\r\n0\r\n\r\n'],
    ['a bare LF after the chunk size', '5\nhello\r\n0\r\n\r\n'],
    ['a malformed trailer', '0\r\nX : y\r\n\r\n'],
    ['obs-fold in a trailer', '0\r\nX: y\r\n z\r\n\r\n'],
  ];
  describe.each(chunkings)('rejects, fed $name,', ({ split }) => {
    it.each(badChunks)('%s', (_, body) => {
      const data = latin1(`HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
      expectHandshakeError(parseResponse(data, split).result as never, 'MALFORMED_HTTP', 400);
    });
  });

  it('rejects a chunk-size line longer than 4 KiB', () => {
    const data = latin1(`HTTP/1.1 400 X\r\nTransfer-Encoding: chunked\r\n\r\n5;a=${'b'.repeat(5000)}\r\n`);
    expectHandshakeError(parseResponse(data).result as never, 'MALFORMED_HTTP', 400);
  });

  describe('limits', () => {
    describe.each(chunkings)('fed $name', ({ split }) => {
      it('accepts a head of exactly maxHeadSize bytes and rejects one byte more (status 0)', () => {
        const size = SWITCHING.length;
        const data = concat(SWITCHING, FRAME);
        expect(expectResponse(parseResponse(data, split, { maxHead: size })).after).toEqual(FRAME);
        const over = parseResponse(data, split, { maxHead: size - 1 });
        expectHandshakeError(over.result as never, 'HEADERS_TOO_LARGE', 0);
      });

      it('counts interim responses against the head limit', () => {
        const interim = crlf('HTTP/1.1 100 Continue', '');
        const data = concat(interim, SWITCHING);
        expect(parseResponse(data, split, { maxHead: data.length }).result.kind).toBe('done');
        const over = parseResponse(data, split, { maxHead: data.length - 1 });
        expectHandshakeError(over.result as never, 'HEADERS_TOO_LARGE', 0);
      });

      it('accepts a body of exactly maxBodySize bytes and rejects one more, for each framing', () => {
        const bodies = (n: number) => [
          { data: concat(crlf('HTTP/1.1 404 X', `Content-Length: ${n}`, ''), new Uint8Array(n)), eof: false },
          {
            data: concat(
              crlf('HTTP/1.1 404 X', 'Transfer-Encoding: chunked', ''),
              latin1(`${(n - 1).toString(16)}\r\n`),
              new Uint8Array(n - 1),
              latin1('\r\n1\r\nx\r\n0\r\n\r\n'),
            ),
            eof: false,
          },
          { data: concat(crlf('HTTP/1.1 404 X', ''), new Uint8Array(n)), eof: true },
        ];
        for (const { data, eof } of bodies(10)) {
          expect(expectResponse(parseResponse(data, split, { maxBody: 10, eof })).response.body).toHaveLength(
            10,
          );
        }
        for (const { data, eof } of bodies(11)) {
          const outcome = parseResponse(data, split, { maxBody: 10, eof });
          expectHandshakeError(outcome.result as never, 'BODY_TOO_LARGE', 404);
        }
      });
    });

    it('rejects a declared Content-Length over the limit before reading the body', () => {
      const parser = new ResponseParser(8192, 10);
      expectHandshakeError(
        parser.push(crlf('HTTP/1.1 404 X', 'Content-Length: 11', '')),
        'BODY_TOO_LARGE',
        404,
      );
    });

    it('rejects a huge chunk size without losing precision', () => {
      const parser = new ResponseParser(8192, 1 << 20);
      const head = crlf('HTTP/1.1 404 X', 'Transfer-Encoding: chunked', '');
      expectHandshakeError(parser.push(concat(head, latin1(`${'f'.repeat(40)}\r\n`))), 'BODY_TOO_LARGE', 404);
    });

    it('counts trailers against the head limit', () => {
      const head = crlf('HTTP/1.1 404 X', 'Transfer-Encoding: chunked', '');
      const data = concat(head, latin1(`0\r\nX: ${'y'.repeat(100)}\r\n\r\n`));
      expectHandshakeError(
        parseResponse(data, bytewise, { maxHead: head.length + 50 }).result as never,
        'HEADERS_TOO_LARGE',
        404,
      );
    });
  });

  describe('end of file (RFC 9112 §8)', () => {
    it('before any byte is UNEXPECTED_EOF with status 0', () => {
      expectHandshakeError(new ResponseParser(8192, 8192).end(), 'UNEXPECTED_EOF', 0);
    });

    it('inside the head is UNEXPECTED_EOF with status 0', () => {
      const parser = new ResponseParser(8192, 8192);
      parser.push(latin1('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'));
      expectHandshakeError(parser.end(), 'UNEXPECTED_EOF', 0);
    });

    it('inside a Content-Length or chunked body is UNEXPECTED_EOF with the status and headers', () => {
      for (
        const head of [
          crlf('HTTP/1.1 403 X', 'Content-Length: 10', ''),
          crlf('HTTP/1.1 403 X', 'Transfer-Encoding: chunked', ''),
        ]
      ) {
        const parser = new ResponseParser(8192, 8192);
        expect(parser.push(concat(head, latin1('a\r\nabc'))).kind).toBe('incomplete');
        const error = expectHandshakeError(parser.end(), 'UNEXPECTED_EOF', 403);
        expect(error.headers).toHaveLength(1);
      }
    });

    it('completes a body delimited by the end of the connection, even an empty one', () => {
      const parser = new ResponseParser(8192, 8192);
      expect(parser.push(crlf('HTTP/1.1 503 Busy', '')).kind).toBe('incomplete');
      const result = parser.end();
      expect(result.kind).toBe('done');
      expect(result.kind === 'done' && result.response.body).toEqual(new Uint8Array(0));
    });

    it('returns the same error again after an error, and throws a UsageError after done', () => {
      const failed = new ResponseParser(8192, 8192);
      const error = failed.push(latin1('nope\r\n'));
      expect(failed.end()).toEqual(error);
      expect(failed.push(SWITCHING)).toEqual(error);
      const done = new ResponseParser(8192, 8192);
      expect(done.push(SWITCHING).kind).toBe('done');
      expect(() => done.end()).toThrow(UsageError);
      expect(() => done.push(FRAME)).toThrow(UsageError);
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('serializeRequest', () => {
  it('writes the request line, the fields in order and an empty line', () => {
    const request = { method: 'GET', target: '/chat', version: 'HTTP/1.1', headers: RFC_REQUEST_HEADERS };
    expect(serializeRequest(request)).toEqual(RFC_REQUEST);
  });

  it('writes Latin-1 values byte for byte', () => {
    const bytes = serializeRequest({
      method: 'GET',
      target: '/',
      version: 'HTTP/1.1',
      headers: [['X', '\xe9']],
    });
    expect(bytes).toEqual(
      concat(latin1('GET / HTTP/1.1\r\nX: '), new Uint8Array([0xe9]), latin1('\r\n\r\n')),
    );
  });

  const bad: [string, Partial<HttpRequest>][] = [
    ['a method that is not a token', { method: 'G T' }],
    ['a target with a space', { target: '/a b' }],
    ['a target with CRLF', { target: '/\r\nX: y' }],
    ['an empty target', { target: '' }],
    ['a malformed version', { version: 'HTTP/1.1\r\n' }],
    ['a header name with a colon', { headers: [['X:', 'y']] }],
    ['a header value with CRLF (header injection)', { headers: [['X', 'y\r\nEvil: 1']] }],
    ['a header value with LF', { headers: [['X', 'y\nz']] }],
    ['a header value with NUL', { headers: [['X', 'y\0']] }],
    ['a header value above U+00FF', { headers: [['X', '\u20ac']] }],
  ];
  it.each(bad)('throws a UsageError for %s', (_, change) => {
    const request: HttpRequest = { method: 'GET', target: '/', version: 'HTTP/1.1', headers: [], ...change };
    expect(() => serializeRequest(request)).toThrow(UsageError);
  });
});

describe('serializeResponse', () => {
  const response = (change: Partial<HttpResponse>): HttpResponse => ({
    version: 'HTTP/1.1',
    status: 400,
    reason: 'Bad Request',
    headers: [['Content-Type', 'text/plain']],
    body: latin1('no'),
    ...change,
  });

  it('writes a 101 with no Content-Length', () => {
    const bytes = serializeResponse(
      response({ status: 101, reason: 'Switching Protocols', headers: [], body: new Uint8Array(0) }),
    );
    expect(bytes).toEqual(latin1('HTTP/1.1 101 Switching Protocols\r\n\r\n'));
  });

  it('adds Content-Length to a response with a body, then the body', () => {
    expect(serializeResponse(response({}))).toEqual(
      latin1('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nno'),
    );
  });

  it('adds Content-Length: 0 to an empty non-1xx response, so the client does not wait for EOF', () => {
    expect(serializeResponse(response({ body: new Uint8Array(0), headers: [] }))).toEqual(
      latin1('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'),
    );
  });

  it('keeps a Content-Length that matches the body', () => {
    const bytes = serializeResponse(response({ headers: [['content-length', '2']] }));
    expect(bytes).toEqual(latin1('HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nno'));
  });

  it('keeps the space before an empty reason phrase (RFC 9112 §4)', () => {
    expect(serializeResponse(response({ status: 599, reason: '', headers: [] }))).toEqual(
      latin1('HTTP/1.1 599 \r\nContent-Length: 2\r\n\r\nno'),
    );
  });

  it('round-trips through ResponseParser', () => {
    const original = response({ headers: [['A', 'b'], ['c', '']], body: latin1('body') });
    const { response: parsed } = expectResponse(parseResponse(serializeResponse(original)));
    expect(parsed).toEqual({ ...original, headers: [...original.headers, ['Content-Length', '4']] });
  });

  const bad: [string, Partial<HttpResponse>][] = [
    ['a body on a 101', { status: 101 }],
    ['a body on a 204', { status: 204 }],
    ['a Content-Length on a 204', {
      status: 204,
      body: new Uint8Array(0),
      headers: [['Content-Length', '0']],
    }],
    ['a Content-Length that does not match', { headers: [['Content-Length', '3']] }],
    ['two Content-Length fields', { headers: [['Content-Length', '2'], ['Content-Length', '2']] }],
    ['a Transfer-Encoding', { headers: [['Transfer-Encoding', 'chunked']] }],
    ['a status of two digits', { status: 99 }],
    ['a fractional status', { status: 200.5 }],
    ['a reason with CRLF', { reason: 'x\r\nEvil: 1' }],
    ['a header value with CR', { headers: [['X', 'a\rb']] }],
    ['a header name with a space', { headers: [['X Y', 'a']] }],
    ['a bad version', { version: 'HTTP/11' }],
  ];
  it.each(bad)('throws a UsageError for %s', (_, change) => {
    expect(() => serializeResponse(response(change))).toThrow(UsageError);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const VCHAR_OBS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).concat(
  Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)),
);
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });
/** A field value: field-vchar words separated by runs of SP/HTAB (RFC 9110 §5.5), possibly empty. */
const fieldValue = fc
  .array(
    fc.tuple(
      fc.string({ unit: fc.constantFrom(...VCHAR_OBS), minLength: 1, maxLength: 8 }),
      fc.constantFrom(' ', '\t', ' \t '),
    ),
    { maxLength: 4 },
  )
  .map((words) => words.map(([word, space], i) => (i === 0 ? word : space + word)).join(''));
const ows = fc.constantFrom('', ' ', '\t', '  \t');
/** Header fields plus the OWS to write around each value; names randomly cased by the token charset. */
const fields = fc.array(fc.tuple(token, fieldValue, ows, ows), { maxLength: 12 });
const cuts = fc.array(fc.nat(), { maxLength: 8 });

function writeFields(list: readonly [string, string, string, string][]): string {
  return list.map(([name, value, before, after]) => `${name}:${before}${value}${after}\r\n`).join('');
}

const validRequest = fc.record({
  method: token,
  target: fc.string({ unit: fc.constantFrom(...VCHAR_OBS.slice(0, 94)), minLength: 1, maxLength: 20 }),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
  fields,
});
const requestBytes = (
  r: { method: string; target: string; version: string; fields: [string, string, string, string][] },
) => latin1(`${r.method} ${r.target} ${r.version}\r\n${writeFields(r.fields)}\r\n`);

const bodyless = (name: string) => !['content-length', 'transfer-encoding'].includes(name.toLowerCase());
const validResponse = fc.record({
  status: fc.oneof(fc.constant(101), fc.integer({ min: 200, max: 999 })),
  reason: fc.oneof(fc.constant(''), fieldValue),
  fields: fields.map((list) => list.filter(([name]) => bodyless(name))),
  body: fc.uint8Array({ maxLength: 64 }),
  framing: fc.constantFrom('length', 'chunked'),
  chunks: cuts,
});
type ValidResponse = typeof validResponse extends fc.Arbitrary<infer T> ? T : never;
function responseBytes(r: ValidResponse): { bytes: Uint8Array; body: Uint8Array; framing: HeaderField[] } {
  const hasBody = r.status !== 101 && r.status !== 204 && r.status !== 304;
  const body = hasBody ? r.body : new Uint8Array(0);
  let framing: HeaderField[] = [];
  let encoded: Uint8Array = body;
  if (hasBody && r.framing === 'length') framing = [['Content-Length', String(body.length)]];
  if (hasBody && r.framing === 'chunked') {
    framing = [['Transfer-Encoding', 'chunked']];
    const pieces = splitAt(body, r.chunks).filter((piece) => piece.length > 0);
    encoded = concat(
      ...pieces.flatMap((piece) => [latin1(`${piece.length.toString(16)}\r\n`), piece, latin1('\r\n')]),
      latin1('0\r\n\r\n'),
    );
  }
  const head = `HTTP/1.1 ${r.status} ${r.reason}\r\n${writeFields(r.fields)}${
    writeFields(framing.map(([n, v]) => [n, v, ' ', ''] as [string, string, string, string]))
  }\r\n`;
  return { bytes: concat(latin1(head), encoded), body, framing };
}

/** Flips, inserts or deletes bytes of `data`. */
const mutation = fc.array(
  fc.tuple(fc.constantFrom('flip', 'insert', 'delete'), fc.nat(), fc.integer({ min: 0, max: 255 })),
  { minLength: 1, maxLength: 6 },
);
function mutate(data: Uint8Array, edits: readonly [string, number, number][]): Uint8Array {
  const bytes = [...data];
  for (const [kind, at, value] of edits) {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    if (kind === 'flip') bytes[i] = (bytes[i] ?? 0) ^ (value || 1);
    else if (kind === 'insert') bytes.splice(i, 0, value);
    else bytes.splice(i, 1);
  }
  return Uint8Array.from(bytes);
}

/** Feeds everything (calling end() on a response parser) and checks the outcome is well formed. */
function expectTerminates(parser: RequestHeadParser | ResponseParser, chunks: Uint8Array[]): void {
  let result: { kind: string; error?: unknown } = { kind: 'incomplete' };
  for (const chunk of chunks) {
    result = parser.push(chunk);
    if (result.kind !== 'incomplete') break;
  }
  if (result.kind === 'incomplete' && parser instanceof ResponseParser) result = parser.end();
  expect(['incomplete', 'done', 'error']).toContain(result.kind);
  if (parser instanceof ResponseParser) expect(result.kind).not.toBe('incomplete');
  if (result.kind === 'error') expect(result.error).toBeInstanceOf(HandshakeError);
}

describe('properties', () => {
  it('the request parser never throws on arbitrary bytes, in any chunking', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        cuts,
        fc.integer({ min: 0, max: 400 }),
        (data, at, max) => {
          expectTerminates(new RequestHeadParser(max), splitAt(data, at));
        },
      ),
      { numRuns: runs },
    );
  });

  it('the request parser never throws on mutated valid requests', () => {
    fc.assert(
      fc.property(validRequest, mutation, cuts, (request, edits, at) => {
        expectTerminates(new RequestHeadParser(8192), splitAt(mutate(requestBytes(request), edits), at));
      }),
      { numRuns: runs },
    );
  });

  it('the response parser never throws and always ends with a result, on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (data, at) => {
        expectTerminates(new ResponseParser(200, 100), splitAt(data, at));
      }),
      { numRuns: runs },
    );
  });

  it('the response parser never throws and always ends with a result, on mutated valid responses', () => {
    fc.assert(
      fc.property(validResponse, mutation, cuts, (response, edits, at) => {
        const { bytes } = responseBytes(response);
        expectTerminates(new ResponseParser(8192, 8192), splitAt(mutate(bytes, edits), at));
      }),
      { numRuns: runs },
    );
  });

  it('every valid request parses back to its fields, in any chunking, keeping trailing bytes', () => {
    fc.assert(
      fc.property(validRequest, fc.uint8Array({ maxLength: 20 }), cuts, (r, trailing, at) => {
        const { request, after } = expectRequest(
          parseRequest(concat(requestBytes(r), trailing), (d) => splitAt(d, at)),
        );
        expect(request).toEqual({
          method: r.method,
          target: r.target,
          version: r.version,
          headers: r.fields.map(([name, value]) => [name, value]),
        });
        expect(after).toEqual(trailing);
      }),
      { numRuns: runs },
    );
  });

  it("a parsed request's headers, built when read, equal an eager parse's on every read", () => {
    fc.assert(
      fc.property(validRequest, cuts, (r, at) => {
        const { request } = expectRequest(parseRequest(requestBytes(r), (d) => splitAt(d, at)));
        const eager: HeaderField[] = r.fields.map(([name, value]) => [name, value]);
        for (let read = 0; read < 3; read++) expect(request.headers).toEqual(eager);
        for (const [name] of r.fields) {
          expect(getHeaderValues(request.headers, name)).toEqual(getHeaderValues(eager, name));
          expect(getHeader(request.headers, name.toUpperCase())).toBe(getHeader(eager, name));
        }
        expect(JSON.parse(JSON.stringify(request))).toEqual({
          method: r.method,
          target: r.target,
          version: r.version,
          headers: eager,
        });
      }),
      { numRuns: runs },
    );
  });

  it('every valid response parses back to its fields and body, in any chunking, with trailing bytes', () => {
    fc.assert(
      fc.property(validResponse, fc.uint8Array({ maxLength: 20 }), cuts, (r, trailing, at) => {
        const { bytes, body, framing } = responseBytes(r);
        const { response, after } = expectResponse(
          parseResponse(concat(bytes, trailing), (d) => splitAt(d, at)),
        );
        expect(response).toEqual({
          version: 'HTTP/1.1',
          status: r.status,
          reason: r.reason,
          headers: [...r.fields.map(([name, value]) => [name, value]), ...framing],
          body,
        });
        expect(after).toEqual(trailing);
      }),
      { numRuns: runs },
    );
  });

  it('serializeRequest output parses back to the same request', () => {
    fc.assert(
      fc.property(validRequest, (r) => {
        const request: HttpRequest = {
          ...r,
          headers: r.fields.map(([name, value]) => [name, value] as const),
        };
        const { method, target, version, headers } = request;
        expect(expectRequest(parseRequest(serializeRequest(request))).request).toEqual({
          method,
          target,
          version,
          headers,
        });
      }),
      { numRuns: runs },
    );
  });
});
