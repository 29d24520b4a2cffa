/**
 * The opening handshake (RFC 6455 §4), grouped by section, server and client side by side.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandshakeError, type HeaderField, UsageError } from '../src/errors.ts';
import {
  acceptRequest,
  type AcceptResult,
  buildRequest,
  checkSameOrigin,
  type ClientHandshakeOptions,
  computeAccept,
  generateKey,
  rejectResponse,
  type ServerHandshakeOptions,
  validateResponse,
  WEBSOCKET_GUID,
} from '../src/handshake.ts';
import {
  getHeader,
  getHeaderValues,
  hasToken,
  type HttpRequest,
  type HttpResponse,
  RequestHeadParser,
  ResponseParser,
  serializeRequest,
  serializeResponse,
} from '../src/http.ts';
import { runs } from './fc-runs.ts';

// ---------------------------------------------------------------------------------------------------
// Helpers

const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));
const text = (bytes: Uint8Array) => String.fromCharCode(...bytes);
const crlf = (...lines: string[]) => lines.map((line) => `${line}\r\n`).join('');

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** A valid handshake request, with `change` applied to its headers (null removes a header). */
function request(
  change: Record<string, string | string[] | null> = {},
  line: Partial<HttpRequest> = {},
): HttpRequest {
  const base: Record<string, string | string[]> = {
    Host: 'server.example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
  };
  const headers: HeaderField[] = [];
  for (const [name, value] of Object.entries({ ...base, ...change })) {
    if (value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.push([name, one]);
  }
  return { method: 'GET', target: '/chat', version: 'HTTP/1.1', headers, ...line };
}

function accepted(result: AcceptResult): Extract<AcceptResult, { ok: true }> {
  if (!result.ok) {
    throw new Error(`expected the handshake to succeed, got ${result.error.code}: ${result.error.message}`);
  }
  return result;
}

/** Asserts a refusal: its error, status, and a response that says so and closes the connection. */
function expectRefused(result: AcceptResult, code: HandshakeError['code'], status: number): HttpResponse {
  if (result.ok) throw new Error(`expected ${code}, but the handshake succeeded`);
  expect(result.error).toBeInstanceOf(HandshakeError);
  expect(result.error.code).toBe(code);
  expect(result.error.status).toBe(status);
  expect(result.response.status).toBe(status);
  expect(hasToken(result.response.headers, 'connection', 'close')).toBe(true);
  expect(getHeader(result.response.headers, 'content-type')).toBe('text/plain; charset=utf-8');
  expect(text(result.response.body)).toContain(result.error.message);
  return result.response;
}

/** A valid 101 for KEY, with `change` applied to its headers (null removes a header). */
function response(change: Record<string, string | string[] | null> = {}, status = 101): HttpResponse {
  const base: Record<string, string | string[]> = {
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Accept': ACCEPT,
  };
  const headers: HeaderField[] = [];
  for (const [name, value] of Object.entries({ ...base, ...change })) {
    if (value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.push([name, one]);
  }
  return { version: 'HTTP/1.1', status, reason: '', headers, body: new Uint8Array(0) };
}

function expectClientError(
  check: ReturnType<typeof validateResponse>,
  code: HandshakeError['code'],
): HandshakeError {
  if (check.ok) throw new Error(`expected ${code}, but the response was accepted`);
  expect(check.error).toBeInstanceOf(HandshakeError);
  expect(check.error.code).toBe(code);
  return check.error;
}

const client = { key: KEY, subprotocols: [] as string[] };

/** Sends `req` through the wire format and the server parser, as a real server would see it. */
function overTheWire(req: HttpRequest): HttpRequest {
  const parsed = new RequestHeadParser(8192).push(serializeRequest(req));
  if (parsed.kind !== 'done') throw new Error(`request did not parse: ${JSON.stringify(parsed)}`);
  expect(parsed.rest).toHaveLength(0);
  return parsed.request;
}

/** Sends `res` through the wire format and the client parser. */
function backOverTheWire(res: HttpResponse): HttpResponse {
  const parser = new ResponseParser(8192, 65536);
  const parsed = parser.push(serializeResponse(res));
  if (parsed.kind !== 'done') throw new Error(`response did not parse: ${JSON.stringify(parsed)}`);
  return parsed.response;
}

// ---------------------------------------------------------------------------------------------------

describe('RFC 6455 §1.3 and §4.2.2: Sec-WebSocket-Accept', () => {
  it('computeAccept matches the RFC example: SHA-1 of key + GUID, base64', () => {
    expect(WEBSOCKET_GUID).toBe('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    expect(computeAccept(KEY)).toBe(ACCEPT);
  });

  it('computeAccept uses the key as sent, not decoded', () => {
    expect(computeAccept('AQIDBAUGBwgJCgsMDQ4PEC==')).not.toBe(computeAccept('AQIDBAUGBwgJCgsMDQ4PEA=='));
  });
});

describe('RFC 6455 §1.3: the example exchange, byte for byte', () => {
  const requestText = crlf(
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
  const responseText = crlf(
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    'Sec-WebSocket-Protocol: chat',
    '',
  );

  it('the client sends the RFC request', () => {
    const options = {
      host: 'server.example.com',
      target: '/chat',
      origin: 'http://example.com',
      subprotocols: ['chat', 'superchat'],
    };
    expect(text(serializeRequest(buildRequest(options, KEY)))).toBe(requestText);
  });

  it('the server answers the RFC response, and the client accepts it', () => {
    const parsed = new RequestHeadParser(8192).push(latin1(requestText));
    if (parsed.kind !== 'done') throw new Error('request did not parse');
    const result = accepted(
      acceptRequest(parsed.request, { subprotocols: ['chat'], checkOrigin: () => true }),
    );
    expect(text(serializeResponse(result.response))).toBe(responseText);
    expect(result.subprotocol).toBe('chat');

    const received = new ResponseParser(8192, 8192).push(latin1(responseText));
    if (received.kind !== 'done') throw new Error('response did not parse');
    expect(validateResponse(received.response, { key: KEY, subprotocols: ['chat', 'superchat'] })).toEqual({
      ok: true,
      subprotocol: 'chat',
      extensions: null,
    });
  });
});

describe('RFC 6455 §4.1: the client request', () => {
  it('generateKey base64-encodes 16 random bytes (item 7)', () => {
    const key = generateKey(Uint8Array.from({ length: 16 }, (_, i) => i + 1));
    expect(key).toBe('AQIDBAUGBwgJCgsMDQ4PEA==');
    expect(() => generateKey(new Uint8Array(15))).toThrow(UsageError);
    expect(() => generateKey(new Uint8Array(17))).toThrow(UsageError);
  });

  it('is a GET of HTTP/1.1 with Host, Upgrade, Connection, key and version 13 (items 1–9)', () => {
    const built = buildRequest({ host: '[::1]:8080', target: '/a?b=c' }, KEY);
    expect(built).toEqual({
      method: 'GET',
      target: '/a?b=c',
      version: 'HTTP/1.1',
      headers: [
        ['Host', '[::1]:8080'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', KEY],
        ['Sec-WebSocket-Version', '13'],
      ],
    });
  });

  it('offers extensions and adds extra headers at the end (item 11)', () => {
    const built = buildRequest(
      {
        host: 'h',
        target: '/',
        extensionsHeader: 'permessage-deflate; client_max_window_bits',
        headers: [['Cookie', 'a=b']],
      },
      KEY,
    );
    expect(built.headers.slice(-2)).toEqual([
      ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
      ['Cookie', 'a=b'],
    ]);
  });

  const invalid: [string, Partial<ClientHandshakeOptions>, string?][] = [
    ['a host with a path', { host: 'example.com/x' }],
    ['a host with userinfo', { host: 'user@example.com' }],
    ['an empty host', { host: '' }],
    ['a host with CRLF', { host: 'a\r\nX: y' }],
    ['a target that is not a path', { target: 'http://example.com/' }],
    ['a target with a space', { target: '/a b' }],
    ['a subprotocol that is not a token (item 10)', { subprotocols: ['a b'] }],
    ['an empty subprotocol (item 10)', { subprotocols: [''] }],
    ['duplicate subprotocols (item 10: MUST all be unique)', { subprotocols: ['chat', 'chat'] }],
    ['an origin with LF', { origin: 'http://a\nX: y' }],
    ['an extensions header with CR', { extensionsHeader: 'a\rb' }],
    ['an extra header value with CR', { headers: [['X', 'a\rb']] }],
    ['an extra header value with LF', { headers: [['X', 'a\nb']] }],
    ['an extra header value with NUL', { headers: [['X', 'a\0b']] }],
    ['an extra header name that is not a token', { headers: [['X Y', 'a']] }],
    ['an extra Host header', { headers: [['host', 'evil']] }],
    ['an extra Upgrade header', { headers: [['Upgrade', 'h2c']] }],
    ['an extra Connection header', { headers: [['Connection', 'close']] }],
    ['an extra Sec-WebSocket-Key header', { headers: [['Sec-WebSocket-Key', KEY]] }],
    ['an extra Sec-WebSocket-Version header', { headers: [['sec-websocket-version', '8']] }],
    ['an extra Sec-WebSocket-Protocol header', { headers: [['Sec-WebSocket-Protocol', 'x']] }],
    ['an extra Sec-WebSocket-Extensions header', { headers: [['Sec-WebSocket-Extensions', 'x']] }],
    ['an extra Origin header (use the option)', { headers: [['Origin', 'http://a']] }],
    ['an extra Content-Length header', { headers: [['Content-Length', '0']] }],
  ];
  it.each(invalid)('buildRequest throws a UsageError for %s', (_, change) => {
    expect(() => buildRequest({ host: 'example.com', target: '/', ...change }, KEY)).toThrow(UsageError);
  });

  it('buildRequest throws a UsageError for a key that is not base64 of 16 bytes', () => {
    expect(() => buildRequest({ host: 'h', target: '/' }, 'short')).toThrow(UsageError);
  });
});

describe('RFC 6455 §4.2.1: the server reads the client handshake', () => {
  it('accepts a minimal valid request and answers 101 with the accept value (§4.2.2 item 5)', () => {
    const result = accepted(acceptRequest(request()));
    expect(result.response).toEqual({
      version: 'HTTP/1.1',
      status: 101,
      reason: 'Switching Protocols',
      headers: [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', ACCEPT],
      ],
      body: new Uint8Array(0),
    });
    expect(result).toMatchObject({ subprotocol: null, extensions: null, extensionsHeader: null });
  });

  describe('item 1: an HTTP/1.1 or higher GET', () => {
    it('answers another method with 405 and Allow: GET (RFC 9110 §15.5.6)', () => {
      const res = expectRefused(acceptRequest(request({}, { method: 'POST' })), 'INVALID_METHOD', 405);
      expect(getHeader(res.headers, 'allow')).toBe('GET');
    });

    it('compares the method case-sensitively (RFC 9110 §9.1)', () => {
      expectRefused(acceptRequest(request({}, { method: 'get' })), 'INVALID_METHOD', 405);
    });

    it.each(['HTTP/1.0', 'HTTP/0.9', '1.1', 'HTTP/1.1 '])('refuses version %j with 400', (version) => {
      expectRefused(acceptRequest(request({}, { version })), 'INVALID_HTTP_VERSION', 400);
    });

    it('accepts a later version', () => {
      accepted(acceptRequest(request({}, { version: 'HTTP/1.2' })));
    });
  });

  describe('item 2: a Host header field', () => {
    it('refuses a missing Host with 400 (RFC 9112 §3.2)', () => {
      expectRefused(acceptRequest(request({ Host: null })), 'MISSING_HOST', 400);
    });

    it('refuses two Host fields with 400 (RFC 9112 §3.2)', () => {
      expectRefused(acceptRequest(request({ Host: ['a', 'b'] })), 'MISSING_HOST', 400);
    });

    it.each(['', 'a b', 'a/b', 'u@h', 'h:p'])('refuses the invalid Host %j with 400', (host) => {
      expectRefused(acceptRequest(request({ Host: host })), 'MISSING_HOST', 400);
    });

    it.each(['example.com', 'example.com:8080', '127.0.0.1:1', '[::1]', '[fe80::1%25eth0]:80'])(
      'accepts Host %j',
      (host) => {
        accepted(acceptRequest(request({ Host: host })));
      },
    );
  });

  describe('item 3: Upgrade containing "websocket"', () => {
    it('answers a request without Upgrade (a plain HTTP request) with 426 and Upgrade: websocket', () => {
      const res = expectRefused(acceptRequest(request({ Upgrade: null })), 'INVALID_UPGRADE', 426);
      // What a person opening the URL in a browser reads.
      expect(text(res.body)).toBe(
        'WebSocket handshake failed: not a WebSocket request (no "websocket" in Upgrade)\n',
      );
      expect(getHeader(res.headers, 'upgrade')).toBe('websocket');
      // RFC 9110 §7.8: whoever sends Upgrade also sends the "upgrade" connection option.
      expect(hasToken(res.headers, 'connection', 'upgrade')).toBe(true);
    });

    it('answers another protocol with 426', () => {
      expectRefused(acceptRequest(request({ Upgrade: 'h2c' })), 'INVALID_UPGRADE', 426);
    });

    it.each(['WebSocket', 'WEBSOCKET', 'h2c, websocket', ' websocket , foo'])(
      'accepts Upgrade %j',
      (upgrade) => {
        accepted(acceptRequest(request({ Upgrade: upgrade })));
      },
    );
  });

  describe('item 4: Connection containing "Upgrade"', () => {
    it.each(['keep-alive, Upgrade', 'upgrade', 'UPGRADE,keep-alive'])(
      'accepts Connection %j',
      (connection) => {
        accepted(acceptRequest(request({ Connection: connection })));
      },
    );

    it('accepts the token in a second Connection field', () => {
      accepted(acceptRequest(request({ Connection: ['keep-alive', 'Upgrade'] })));
    });

    it.each([null, 'keep-alive', 'Upgraded', 'close'])('refuses Connection %j with 400', (connection) => {
      expectRefused(acceptRequest(request({ Connection: connection })), 'INVALID_CONNECTION', 400);
    });
  });

  describe('item 5: Sec-WebSocket-Key, base64 of 16 bytes, once', () => {
    it('refuses a missing key with 400', () => {
      expectRefused(acceptRequest(request({ 'Sec-WebSocket-Key': null })), 'INVALID_KEY', 400);
    });

    it('refuses two keys with 400 (§11.3.1: MUST NOT appear more than once)', () => {
      expectRefused(acceptRequest(request({ 'Sec-WebSocket-Key': [KEY, KEY] })), 'INVALID_KEY', 400);
    });

    it.each([
      ['not base64', 'not a base64 key!!!!!!!!'],
      ['15 bytes', 'AQIDBAUGBwgJCgsMDQ4P'],
      ['17 bytes', 'AQIDBAUGBwgJCgsMDQ4PEBE='],
      ['unpadded', 'dGhlIHNhbXBsZSBub25jZQ'],
      ['empty', ''],
    ])('refuses a key of %s with 400', (_, key) => {
      expectRefused(acceptRequest(request({ 'Sec-WebSocket-Key': key })), 'INVALID_KEY', 400);
    });
  });

  describe('item 6: Sec-WebSocket-Version 13 (§4.4)', () => {
    it.each([null, '8', '14', '13, 8', ' 13x'])(
      'answers version %j with 426 and Sec-WebSocket-Version: 13',
      (version) => {
        const res = expectRefused(
          acceptRequest(request({ 'Sec-WebSocket-Version': version })),
          'UNSUPPORTED_VERSION',
          426,
        );
        expect(getHeaderValues(res.headers, 'sec-websocket-version')).toEqual(['13']);
      },
    );

    it('answers two version fields with 426', () => {
      expectRefused(
        acceptRequest(request({ 'Sec-WebSocket-Version': ['13', '13'] })),
        'UNSUPPORTED_VERSION',
        426,
      );
    });

    it('checks the version before the key, so a client of another version learns ours', () => {
      const result = acceptRequest(request({ 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Key': 'x' }));
      expectRefused(result, 'UNSUPPORTED_VERSION', 426);
    });
  });

  describe('item 7 and §10.2: Origin', () => {
    it('accepts a request without Origin by default (not a browser)', () => {
      accepted(acceptRequest(request({ Origin: null })));
    });

    it.each(['http://server.example.com', 'https://SERVER.example.com', 'http://server.example.com/'])(
      'accepts the same-origin Origin %j by default',
      (origin) => {
        accepted(acceptRequest(request({ Origin: origin })));
      },
    );

    it('compares host and port', () => {
      accepted(acceptRequest(request({ Host: 'h:8080', Origin: 'http://h:8080' })));
      expectRefused(
        acceptRequest(request({ Host: 'h:8080', Origin: 'http://h:8081' })),
        'FORBIDDEN_ORIGIN',
        403,
      );
      expectRefused(acceptRequest(request({ Host: 'h:8080', Origin: 'http://h' })), 'FORBIDDEN_ORIGIN', 403);
    });

    it.each([
      ['a cross origin', 'http://evil.example.com'],
      ['"null"', 'null'],
      ['an unparsable origin', 'server.example.com'],
      ['an origin with userinfo', 'http://u@server.example.com'],
      ['two origins', ['http://server.example.com', 'http://server.example.com']],
    ])('refuses %s with 403 by default', (_, origin) => {
      expectRefused(acceptRequest(request({ Origin: origin })), 'FORBIDDEN_ORIGIN', 403);
    });

    it('uses a custom checkOrigin, which sees the Origin value and the request', () => {
      const seen: (string | undefined)[] = [];
      const checkOrigin = (origin: string | undefined, req: HttpRequest) => {
        seen.push(origin);
        expect(req.target).toBe('/chat');
        return origin === 'http://evil.example.com';
      };
      accepted(acceptRequest(request({ Origin: 'http://evil.example.com' }), { checkOrigin }));
      expectRefused(acceptRequest(request({ Origin: null }), { checkOrigin }), 'FORBIDDEN_ORIGIN', 403);
      expect(seen).toEqual(['http://evil.example.com', undefined]);
    });

    it('exports the default policy as checkSameOrigin', () => {
      expect(checkSameOrigin(undefined, request())).toBe(true);
      expect(checkSameOrigin('http://server.example.com', request())).toBe(true);
      expect(checkSameOrigin('http://other', request())).toBe(false);
    });
  });

  describe('item 8 and §4.2.2 item 5.4: Sec-WebSocket-Protocol', () => {
    it('picks the first of the server subprotocols that the client offered', () => {
      const result = accepted(
        acceptRequest(request({ 'Sec-WebSocket-Protocol': 'a, b, c' }), { subprotocols: ['c', 'b'] }),
      );
      expect(result.subprotocol).toBe('c');
      expect(getHeaderValues(result.response.headers, 'sec-websocket-protocol')).toEqual(['c']);
    });

    it('reads offers from every Sec-WebSocket-Protocol field', () => {
      const result = accepted(
        acceptRequest(request({ 'Sec-WebSocket-Protocol': ['a', ' b ,, c'] }), { subprotocols: ['c'] }),
      );
      expect(result.subprotocol).toBe('c');
    });

    it('selects none, and sends no header, when nothing matches or nothing is offered', () => {
      for (const offer of ['x, y', null]) {
        const result = accepted(
          acceptRequest(request({ 'Sec-WebSocket-Protocol': offer }), { subprotocols: ['c'] }),
        );
        expect(result.subprotocol).toBeNull();
        expect(getHeader(result.response.headers, 'sec-websocket-protocol')).toBeUndefined();
      }
    });

    it('compares subprotocols case-sensitively', () => {
      const result = accepted(
        acceptRequest(request({ 'Sec-WebSocket-Protocol': 'Chat' }), { subprotocols: ['chat'] }),
      );
      expect(result.subprotocol).toBeNull();
    });

    it('ignores offers when the server has no subprotocols', () => {
      expect(accepted(acceptRequest(request({ 'Sec-WebSocket-Protocol': 'chat' }))).subprotocol).toBeNull();
    });

    it('lets selectSubprotocol decide, over subprotocols', () => {
      const selectSubprotocol = (offered: readonly string[]) => {
        expect(offered).toEqual(['a', 'b']);
        return 'b';
      };
      const options = { subprotocols: ['a'], selectSubprotocol };
      expect(accepted(acceptRequest(request({ 'Sec-WebSocket-Protocol': 'a, b' }), options)).subprotocol)
        .toBe('b');
    });

    it('throws a UsageError when selectSubprotocol returns a subprotocol that was not offered', () => {
      const options = { selectSubprotocol: () => 'z' };
      expect(() => acceptRequest(request({ 'Sec-WebSocket-Protocol': 'a' }), options)).toThrow(UsageError);
    });

    it('refuses offers that are not tokens with 400', () => {
      const result = acceptRequest(request({ 'Sec-WebSocket-Protocol': 'a b' }), { subprotocols: ['a'] });
      expectRefused(result, 'INVALID_SUBPROTOCOL', 400);
    });
  });

  describe('item 9 and §9.1: Sec-WebSocket-Extensions', () => {
    it('ignores extension offers without a negotiation hook', () => {
      const result = accepted(acceptRequest(request({ 'Sec-WebSocket-Extensions': 'permessage-deflate' })));
      expect(result.extensionsHeader).toBeNull();
      expect(getHeader(result.response.headers, 'sec-websocket-extensions')).toBeUndefined();
    });

    it('passes every Sec-WebSocket-Extensions value in order to the hook and sends its answer', () => {
      const negotiateExtensions = (values: readonly string[]) => {
        expect(values).toEqual(['foo', 'permessage-deflate; client_max_window_bits']);
        return { header: 'permessage-deflate', result: { deflate: true } };
      };
      const req = request({
        'Sec-WebSocket-Extensions': ['foo', 'permessage-deflate; client_max_window_bits'],
      });
      const result = accepted(acceptRequest(req, { negotiateExtensions }));
      expect(result.extensions).toEqual({ deflate: true });
      expect(result.extensionsHeader).toBe('permessage-deflate');
      expect(getHeaderValues(result.response.headers, 'sec-websocket-extensions')).toEqual([
        'permessage-deflate',
      ]);
    });

    it('calls the hook even without offers, and sends no header for null', () => {
      const result = accepted(
        acceptRequest(request(), {
          negotiateExtensions: (values) => ({ header: null, result: values.length }),
        }),
      );
      expect(result.extensions).toBe(0);
      expect(getHeader(result.response.headers, 'sec-websocket-extensions')).toBeUndefined();
    });

    it('answers a HandshakeError from the hook with its status', () => {
      const negotiateExtensions = () => {
        throw new HandshakeError('INVALID_EXTENSIONS', 400, 'bad permessage-deflate offer');
      };
      const res = expectRefused(acceptRequest(request(), { negotiateExtensions }), 'INVALID_EXTENSIONS', 400);
      expect(text(res.body)).toContain('bad permessage-deflate offer');
    });

    it('lets other errors from the hook propagate', () => {
      const negotiateExtensions = () => {
        throw new TypeError('bug');
      };
      expect(() => acceptRequest(request(), { negotiateExtensions })).toThrow(TypeError);
    });

    it('throws a UsageError when the hook returns a header with CR or LF', () => {
      const negotiateExtensions = () => ({ header: 'a\r\nX: y', result: null });
      expect(() => acceptRequest(request(), { negotiateExtensions })).toThrow(UsageError);
    });
  });

  describe('a handshake request has no body', () => {
    it('accepts Content-Length: 0', () => {
      accepted(acceptRequest(request({ 'Content-Length': '0' })));
    });

    it.each([
      ['Content-Length', '5'],
      ['Transfer-Encoding', 'chunked'],
    ])('refuses %s: %s with 400', (name, value) => {
      expectRefused(acceptRequest(request({ [name]: value })), 'MALFORMED_HTTP', 400);
    });
  });

  describe('extra response headers', () => {
    it('are appended to the 101', () => {
      const result = accepted(acceptRequest(request(), { headers: [['Set-Cookie', 'a=b'], ['X-Id', '1']] }));
      expect(result.response.headers.slice(-2)).toEqual([['Set-Cookie', 'a=b'], ['X-Id', '1']]);
    });

    it('are not sent on an error response', () => {
      const result = acceptRequest(request({ Host: null }), { headers: [['X-Id', '1']] });
      expect(getHeader(result.response.headers, 'x-id')).toBeUndefined();
    });

    it.each<[string, HeaderField]>([
      ['a value with CR', ['X', 'a\rb']],
      ['a value with LF', ['X', 'a\nb']],
      ['a value with NUL', ['X', 'a\0b']],
      ['a name that is not a token', ['X:Y', 'a']],
      ['an empty name', ['', 'a']],
      ['Upgrade', ['upgrade', 'websocket']],
      ['Connection', ['Connection', 'close']],
      ['Sec-WebSocket-Accept', ['Sec-WebSocket-Accept', ACCEPT]],
      ['Sec-WebSocket-Protocol', ['sec-websocket-protocol', 'chat']],
      ['Sec-WebSocket-Extensions', ['Sec-WebSocket-Extensions', 'x']],
      ['Content-Length', ['Content-Length', '0']],
    ])('throw a UsageError for %s, even for a valid request', (_, header) => {
      expect(() => acceptRequest(request(), { headers: [header] })).toThrow(UsageError);
    });
  });

  it('works on a request parsed by another HTTP server (version given as HTTP/1.1)', () => {
    // node:http lower-cases names and gives the version as '1.1', which the adapter prefixes.
    const nodeStyle: HttpRequest = {
      method: 'GET',
      target: '/chat',
      version: 'HTTP/1.1',
      headers: request().headers.map(([name, value]) => [name.toLowerCase(), value]),
    };
    accepted(acceptRequest(nodeStyle));
  });
});

describe('RFC 6455 §4.4 and error responses', () => {
  it('rejectResponse builds a short text/plain response that closes the connection', () => {
    const res = rejectResponse(403);
    expect(res).toEqual({
      version: 'HTTP/1.1',
      status: 403,
      reason: 'Forbidden',
      headers: [
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Content-Length', '14'],
        ['Connection', 'close'],
      ],
      body: latin1('403 Forbidden\n'),
    });
  });

  it('a 426 carries Upgrade: websocket and Sec-WebSocket-Version: 13', () => {
    const res = rejectResponse(426, 'old client');
    expect(getHeader(res.headers, 'sec-websocket-version')).toBe('13');
    expect(getHeader(res.headers, 'upgrade')).toBe('websocket');
    expect(getHeader(res.headers, 'connection')).toBe('Upgrade, close');
  });

  it('takes a string or bytes body and extra headers, which may replace Content-Type', () => {
    const res = rejectResponse(401, 'caf\u00e9', [['WWW-Authenticate', 'Basic'], [
      'Content-Type',
      'text/html',
    ]]);
    expect(res.body).toEqual(new Uint8Array([0x63, 0x61, 0x66, 0xc3, 0xa9]));
    expect(getHeaderValues(res.headers, 'content-type')).toEqual(['text/html']);
    expect(getHeader(res.headers, 'www-authenticate')).toBe('Basic');
    expect(rejectResponse(500, new Uint8Array([1, 2])).body).toEqual(new Uint8Array([1, 2]));
  });

  it('has an empty reason for an unknown status', () => {
    expect(rejectResponse(599).reason).toBe('');
  });

  it.each([
    [400, 'Bad Request'],
    [403, 'Forbidden'],
    [405, 'Method Not Allowed'],
    [426, 'Upgrade Required'],
    [431, 'Request Header Fields Too Large'],
  ])('names the reason of %i, a status the handshake itself answers with', (status, reason) => {
    expect(rejectResponse(status).reason).toBe(reason);
    expect(text(rejectResponse(status).body)).toBe(`${status} ${reason}\n`);
  });

  it.each([401, 404, 429, 500, 503])(
    'sends %i, which only applications choose, with an empty reason (RFC 9112 §4) and the status as the body',
    (status) => {
      const res = rejectResponse(status);
      expect(res.reason).toBe('');
      expect(text(res.body)).toBe(`${status}\n`);
      expect(text(serializeResponse(res)).split('\r\n')[0]).toBe(`HTTP/1.1 ${status} `);
    },
  );

  it.each<[string, number, HeaderField[]]>([
    ['a 1xx status', 101, []],
    ['a status above 599', 600, []],
    ['a fractional status', 400.5, []],
    ['a Connection header', 400, [['Connection', 'keep-alive']]],
    ['a Content-Length header', 400, [['Content-Length', '1']]],
    ['a header with LF', 400, [['X', 'a\nb']]],
  ])('rejectResponse throws a UsageError for %s', (_, status, headers) => {
    expect(() => rejectResponse(status, undefined, headers)).toThrow(UsageError);
  });

  it('the client reports a refusal as INVALID_STATUS with its status, headers and body', () => {
    const refused = acceptRequest(
      overTheWire(buildRequest({ host: 'h', target: '/', origin: 'http://evil' }, KEY)),
    );
    expect(refused.ok).toBe(false);
    const error = expectClientError(
      validateResponse(backOverTheWire(refused.response), client),
      'INVALID_STATUS',
    );
    expect(error.status).toBe(403);
    expect(getHeader(error.headers, 'connection')).toBe('close');
    expect(text(error.body)).toContain('Origin not allowed');
  });
});

describe('RFC 6455 §4.1: the client reads the server handshake', () => {
  it('accepts a valid 101 (server/client pair)', () => {
    const req = buildRequest({ host: 'h', target: '/' }, KEY);
    const res = accepted(acceptRequest(overTheWire(req))).response;
    expect(validateResponse(backOverTheWire(res), client)).toEqual({
      ok: true,
      subprotocol: null,
      extensions: null,
    });
  });

  it('fails on a status other than 101, keeping the status, headers and body', () => {
    const res: HttpResponse = {
      ...response({ 'X-Why': 'maintenance' }, 503),
      reason: 'Busy',
      body: latin1('later'),
    };
    const error = expectClientError(validateResponse(res, client), 'INVALID_STATUS');
    expect(error.status).toBe(503);
    expect(error.message).toContain('503 Busy');
    expect(getHeader(error.headers, 'x-why')).toBe('maintenance');
    expect(error.body).toEqual(latin1('later'));
  });

  it.each([null, 'h2c', 'websocket, h2c', 'websocket/13', ''])('fails on Upgrade %j', (upgrade) => {
    expectClientError(validateResponse(response({ Upgrade: upgrade }), client), 'INVALID_UPGRADE');
  });

  it('accepts Upgrade in any case', () => {
    expect(validateResponse(response({ Upgrade: 'WebSocket' }), client).ok).toBe(true);
  });

  it.each([null, 'keep-alive', 'close'])('fails on Connection %j', (connection) => {
    expectClientError(validateResponse(response({ Connection: connection }), client), 'INVALID_CONNECTION');
  });

  it('accepts Connection listing upgrade in any case among other tokens', () => {
    expect(validateResponse(response({ Connection: 'keep-alive, UPGRADE' }), client).ok).toBe(true);
  });

  it.each<[string, string | string[] | null]>([
    ['missing', null],
    ['for another key', computeAccept('AQIDBAUGBwgJCgsMDQ4PEA==')],
    ['in another case', ACCEPT.toLowerCase()],
    ['repeated', [ACCEPT, ACCEPT]],
  ])('fails on a Sec-WebSocket-Accept %s', (_, accept) => {
    const error = expectClientError(
      validateResponse(response({ 'Sec-WebSocket-Accept': accept }), client),
      'INVALID_ACCEPT',
    );
    expect(error.status).toBe(101);
  });

  describe('subprotocols', () => {
    it('accepts the subprotocol the server chose among those offered (server/client pair)', () => {
      const req = buildRequest({ host: 'h', target: '/', subprotocols: ['a', 'b'] }, KEY);
      const res = accepted(acceptRequest(overTheWire(req), { subprotocols: ['b'] })).response;
      expect(validateResponse(backOverTheWire(res), { key: KEY, subprotocols: ['a', 'b'] })).toMatchObject({
        ok: true,
        subprotocol: 'b',
      });
    });

    it('fails when the server chose a subprotocol that was not offered', () => {
      const res = response({ 'Sec-WebSocket-Protocol': 'c' });
      expectClientError(validateResponse(res, { key: KEY, subprotocols: ['a', 'b'] }), 'INVALID_SUBPROTOCOL');
      expectClientError(validateResponse(res, client), 'INVALID_SUBPROTOCOL');
    });

    it('fails when the server chose several subprotocols', () => {
      for (const chosen of ['a, b', ['a', 'b']]) {
        const res = response({ 'Sec-WebSocket-Protocol': chosen });
        expectClientError(
          validateResponse(res, { key: KEY, subprotocols: ['a', 'b'] }),
          'INVALID_SUBPROTOCOL',
        );
      }
    });

    it('accepts no subprotocol even when some were offered', () => {
      expect(validateResponse(response(), { key: KEY, subprotocols: ['a'] })).toMatchObject({
        ok: true,
        subprotocol: null,
      });
    });
  });

  describe('extensions', () => {
    it('fails on any extension when none was offered (no hook)', () => {
      const res = response({ 'Sec-WebSocket-Extensions': 'permessage-deflate' });
      expectClientError(validateResponse(res, client), 'INVALID_EXTENSIONS');
    });

    it('tolerates an empty Sec-WebSocket-Extensions field without a hook', () => {
      expect(validateResponse(response({ 'Sec-WebSocket-Extensions': '' }), client).ok).toBe(true);
    });

    it('passes every value to the hook and returns its result (server/client pair)', () => {
      const req = buildRequest({ host: 'h', target: '/', extensionsHeader: 'permessage-deflate' }, KEY);
      const negotiateExtensions = (values: readonly string[]) => ({ header: values[0]!, result: 'server' });
      const res = accepted(acceptRequest(overTheWire(req), { negotiateExtensions })).response;
      const acceptExtensions = (values: readonly string[]) => {
        expect(values).toEqual(['permessage-deflate']);
        return 'client';
      };
      expect(validateResponse(backOverTheWire(res), { ...client, acceptExtensions })).toMatchObject({
        ok: true,
        extensions: 'client',
      });
    });

    it('reports a HandshakeError from the hook with the response status and headers', () => {
      const acceptExtensions = () => {
        throw new HandshakeError('INVALID_EXTENSIONS', 0, 'unexpected parameter');
      };
      const res = response({ 'Sec-WebSocket-Extensions': 'permessage-deflate; x=1' });
      const error = expectClientError(
        validateResponse(res, { ...client, acceptExtensions }),
        'INVALID_EXTENSIONS',
      );
      expect(error.message).toBe('unexpected parameter');
      expect(error.status).toBe(101);
      expect(error.headers).toBe(res.headers);
    });

    it('lets other errors from the hook propagate', () => {
      const acceptExtensions = () => {
        throw new RangeError('bug');
      };
      expect(() => validateResponse(response(), { ...client, acceptExtensions })).toThrow(RangeError);
    });
  });
});

// ---------------------------------------------------------------------------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const VCHAR_OBS = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).concat(
  Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)),
);
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 10 });
const value = fc
  .array(fc.string({ unit: fc.constantFrom(...VCHAR_OBS), minLength: 1, maxLength: 6 }), { maxLength: 3 })
  .map((words) => words.join(' '));
const OWNED = new Set([
  'host',
  'upgrade',
  'connection',
  'origin',
  'content-length',
  'transfer-encoding',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-accept',
]);
const extraHeaders = fc.array(
  fc.tuple(token, value).filter(([name]) => !OWNED.has(name.toLowerCase())),
  { maxLength: 5 },
);
const cuts = fc.array(fc.nat(), { maxLength: 6 });

/** Pushes `data` cut at `at`; returns the result and every byte after the message (rest + unpushed). */
function pushAll<R extends { kind: string; rest?: Uint8Array }>(
  parser: { push(data: Uint8Array): R },
  data: Uint8Array,
  at: number[],
): { result: R; after: Uint8Array } {
  const points = [...new Set(at.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  let result: R | undefined;
  for (const point of [...points, data.length]) {
    result = parser.push(data.subarray(start, point));
    start = point;
    if (result.kind !== 'incomplete') break;
  }
  return { result: result!, after: new Uint8Array([...(result!.rest ?? []), ...data.subarray(start)]) };
}

describe('property: a client and a server always agree', () => {
  // buildRequest → serializeRequest → RequestHeadParser → acceptRequest → serializeResponse →
  // ResponseParser → validateResponse.
  it('a request built from random options is accepted, and its 101 is validated, across the wire', () => {
    fc.assert(
      fc.property(
        fc.record({
          host: fc.constantFrom('example.com', 'EXAMPLE.com:8443', '[::1]:9000', '10.0.0.1'),
          path: fc.string({ unit: fc.constantFrom(...VCHAR_OBS.slice(0, 94)), maxLength: 15 }),
          // Both lists are drawn from one pool, so that they often share subprotocols.
          protocols: fc.uniqueArray(token, { maxLength: 6 }).chain((pool) =>
            fc.record({ offered: fc.shuffledSubarray(pool), supported: fc.shuffledSubarray(pool) })
          ),
          sameOrigin: fc.boolean(),
          requestHeaders: extraHeaders,
          responseHeaders: extraHeaders,
          extensions: fc.option(value.filter((v) => v !== ''), { nil: undefined }),
        }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        cuts,
        cuts,
        fc.uint8Array({ maxLength: 12 }),
        (o, random, requestCuts, responseCuts, frames) => {
          const { offered, supported } = o.protocols;
          const key = generateKey(random);
          const options: ClientHandshakeOptions = {
            host: o.host,
            target: `/${o.path}`,
            subprotocols: offered,
            headers: o.requestHeaders,
            ...(o.sameOrigin ? { origin: `https://${o.host.toLowerCase()}` } : {}),
            ...(o.extensions !== undefined ? { extensionsHeader: o.extensions } : {}),
          };
          const req = buildRequest(options, key);

          const { result: parsedRequest } = pushAll(
            new RequestHeadParser(8192),
            serializeRequest(req),
            requestCuts,
          );
          if (parsedRequest.kind !== 'done') throw new Error(JSON.stringify(parsedRequest));
          expect(parsedRequest.request).toEqual(req);

          const server: ServerHandshakeOptions = {
            subprotocols: supported,
            headers: o.responseHeaders,
            negotiateExtensions: (values) => ({
              header: values.length > 0 ? values.join(', ') : null,
              result: values,
            }),
          };
          const result = accepted(acceptRequest(parsedRequest.request, server));
          const expected = supported.find((p) => offered.includes(p)) ?? null;
          expect(result.subprotocol).toBe(expected);

          const wire = new Uint8Array([...serializeResponse(result.response), ...frames]);
          const { result: parsedResponse, after } = pushAll(
            new ResponseParser(8192, 8192),
            wire,
            responseCuts,
          );
          if (parsedResponse.kind !== 'done') throw new Error(JSON.stringify(parsedResponse));
          expect(parsedResponse.response).toEqual(result.response);
          expect(after).toEqual(frames);

          const check = validateResponse(parsedResponse.response, {
            key,
            subprotocols: offered,
            acceptExtensions: (values) => values,
          });
          expect(check).toEqual({
            ok: true,
            subprotocol: expected,
            extensions: o.extensions === undefined ? [] : [o.extensions],
          });
        },
      ),
      { numRuns: runs },
    );
  });
});
