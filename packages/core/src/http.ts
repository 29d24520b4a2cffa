/**
 * The HTTP/1.1 subset the WebSocket opening handshake needs (RFC 9112, RFC 9110), sans-I/O: incremental
 * parsers for a request head and for a response (head and bounded body), serialisers, and header helpers.
 *
 * Theory of operation. Both parsers read CRLF-terminated lines with {@link LineReader}, which keeps only
 * the bytes of the current, unfinished line (copied, so callers may reuse their buffers) and never more
 * than the remaining head budget: a head that does not end within `maxHeadSize` bytes fails on the first
 * byte past the limit, whatever the chunking. Each line is checked as soon as it is complete, so a
 * malformed request line fails before the rest of the head arrives. Bytes after the head are returned in
 * `rest`, a view of the last pushed chunk (not a copy): for a 101 response or a WebSocket request they
 * are the first WebSocket frames.
 *
 * Strictness, in the spirit of h11 (and stricter where RFC 9112 allows a choice, because lenient HTTP
 * parsing is how request smuggling happens):
 * - Lines end with CRLF only. A bare LF or a bare CR anywhere in the head is MALFORMED_HTTP (RFC 9112
 *   §2.2 lets a recipient accept a bare LF; we do not, so that we never disagree with a proxy in front).
 * - Whitespace between a field name and the colon is rejected (RFC 9112 §5.1).
 * - obs-fold is rejected in requests (RFC 9112 §5.2 allows a 400); in responses it is replaced by SP, as
 *   RFC 9112 §5.2 requires of a user agent.
 * - Field names are tokens and field values are field-vchar, SP and HTAB (RFC 9110 §5.1, §5.5): every
 *   other control character, DEL included, is rejected.
 * - Header text is Latin-1: each byte is one UTF-16 code unit, so values round-trip byte for byte.
 *
 * Error statuses: request errors carry the status to send (400, or 431 for an oversized head). Response
 * errors follow {@link HandshakeError}'s client convention: 0 while the head is not complete, the received
 * status (and headers) once it is.
 *
 * @module
 */

import { HandshakeError, type HeaderField, UsageError } from './errors.ts';

/** A parsed or to-be-sent HTTP request head. Header names keep their case; lookups ignore it. */
export interface HttpRequest {
  /** The method token, case-sensitive (RFC 9110 §9.1), e.g. `'GET'`. */
  method: string;
  /** The request-target as sent, e.g. `'/chat?x=1'`. */
  target: string;
  /** The protocol version, e.g. `'HTTP/1.1'`. */
  version: string;
  /** Header fields in wire order, duplicates kept. */
  headers: HeaderField[];
}

/** A parsed or to-be-sent HTTP response. */
export interface HttpResponse {
  /** The protocol version, e.g. `'HTTP/1.1'`. */
  version: string;
  /** The three-digit status code. */
  status: number;
  /** The reason phrase, possibly empty; clients ignore it (RFC 9112 §4). */
  reason: string;
  /** Header fields in wire order, duplicates kept. */
  headers: HeaderField[];
  /** The body, with any chunked framing removed; empty for 1xx, 204 and 304. */
  body: Uint8Array;
}

// RFC 9110 §5.6.2: token = 1*tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: field-value = *field-content; field-vchar = VCHAR / obs-text, plus SP and HTAB inside.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// RFC 9112 §3.2: request-target forms are made of URI characters: printable ASCII, no whitespace.
const REQUEST_TARGET = /^[\x21-\x7e]+$/;
// RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, case-sensitive.
const HTTP_VERSION = /^HTTP\/[0-9]\.[0-9]$/;
// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. Like h11, the SP before
// an empty reason may be missing.
const STATUS_LINE = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?$/;
// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
// RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE.
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const QUOTED_STRING = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const CHUNK_EXT = new RegExp(
  `^(?:[ \\t]*;[ \\t]*${TCHAR}+(?:[ \\t]*=[ \\t]*(?:${TCHAR}+|${QUOTED_STRING}))?)*$`,
);
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/** Longest chunk-size line (size and extensions) accepted; real ones are a few bytes. */
const MAX_CHUNK_LINE = 4096;

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);

/** Whether `text` is an RFC 9110 §5.6.2 token (header names, methods, subprotocols). */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * Whether `text` may be sent as a field value: field-vchar, SP and HTAB only (RFC 9110 §5.5), so no CR,
 * LF, NUL or other control character, and no character above U+00FF.
 */
export function isFieldValue(text: string): boolean {
  return FIELD_VALUE.test(text);
}

/** Removes optional whitespace (SP, HTAB) from both ends, and nothing else (RFC 9110 §5.6.3). */
function trimOws(text: string): string {
  return text.replace(OWS_EDGES, '');
}

/**
 * The value of header `name` (case-insensitive), or `undefined` when absent. Repeated fields are joined
 * with `', '`, which RFC 9110 §5.3 makes equivalent for list-valued fields.
 */
export function getHeader(headers: readonly HeaderField[], name: string): string | undefined {
  const values = getHeaderValues(headers, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/** Every value of header `name` (case-insensitive), in wire order. */
export function getHeaderValues(headers: readonly HeaderField[], name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [fieldName, value] of headers) {
    if (fieldName.toLowerCase() === wanted) values.push(value);
  }
  return values;
}

/**
 * Splits a comma-separated list (`#element`, RFC 9110 §5.6.1): elements are trimmed of OWS and empty
 * elements are skipped, as recipients must accept them. Elements are returned as they are; check them
 * with {@link isToken} where the grammar requires tokens.
 */
export function parseTokenList(value: string): string[] {
  const tokens: string[] = [];
  for (const element of value.split(',')) {
    const trimmed = trimOws(element);
    if (trimmed !== '') tokens.push(trimmed);
  }
  return tokens;
}

/** Whether any field `name` lists `token`, both compared ASCII case-insensitively. */
export function hasToken(headers: readonly HeaderField[], name: string, token: string): boolean {
  const wanted = token.toLowerCase();
  for (const value of getHeaderValues(headers, name)) {
    for (const element of parseTokenList(value)) {
      if (element.toLowerCase() === wanted) return true;
    }
  }
  return false;
}

/** Decodes bytes as Latin-1, one code unit per byte, in slices to stay clear of argument-count limits. */
function decodeLatin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** Encodes a string whose code units are all ≤ 0xFF (checked by the callers) as Latin-1 bytes. */
function encodeLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** One step of {@link LineReader.read}. `size` counts the whole line with its CRLF. */
type LineStep =
  | { kind: 'line'; line: string; size: number; end: number }
  | { kind: 'more' }
  | { kind: 'overflow' }
  | { kind: 'malformed'; reason: string };

/**
 * Reads one CRLF-terminated line across pushes. Only the unfinished line is buffered, and never more
 * than the caller's budget, so memory stays bounded by the head limit.
 */
class LineReader {
  #parts: Uint8Array[] = [];
  #length = 0;

  /** Reads from `data[start..]` a line of at most `budget` bytes including its CRLF. */
  read(data: Uint8Array, start: number, budget: number): LineStep {
    const available = Math.max(0, budget - this.#length);
    const window = data.subarray(start, start + available);
    const lf = window.indexOf(LF);
    if (lf === -1) {
      if (data.length - start > available) return { kind: 'overflow' };
      if (window.length > 0) {
        // Copied: the caller may reuse its buffer once push() returns.
        this.#parts.push(window.slice());
        this.#length += window.length;
      }
      return { kind: 'more' };
    }
    const segment = window.subarray(0, lf);
    const last = segment.length > 0 ? segment[segment.length - 1] : this.#parts.at(-1)?.at(-1);
    // RFC 9112 §2.2: the line terminator is CRLF; we do not take the option to accept a bare LF.
    if (last !== CR) return { kind: 'malformed', reason: 'line ends with a bare LF' };
    this.#parts.push(segment);
    const size = this.#length + lf + 1;
    const bytes = concat(this.#parts, this.#length + segment.length);
    this.#parts = [];
    this.#length = 0;
    const line = decodeLatin1(bytes.subarray(0, bytes.length - 1));
    // RFC 9112 §2.2: a bare CR is invalid; rejecting it is the option that cannot be misread.
    if (line.includes('\r')) return { kind: 'malformed', reason: 'bare CR in line' };
    return { kind: 'line', line, size, end: start + lf + 1 };
  }
}

/** A limit must be a number ≥ 0 (Infinity allowed): NaN would silently disable the bound. */
function checkLimit(limit: number, name: string): void {
  if (!(limit >= 0)) throw new UsageError('INVALID_ARGUMENT', `${name} must be a number ≥ 0, got ${limit}`);
}

/** Parses a field line into `fields`, or returns why it is malformed. `fold` allows obs-fold (responses). */
function addFieldLine(fields: [string, string][], line: string, fold: boolean): string | null {
  const first = line.charCodeAt(0);
  if (first === 0x20 || first === 0x09) {
    // RFC 9112 §2.2: whitespace before the first field line is invalid (it could hide a field).
    if (fields.length === 0) return 'whitespace before the first header field';
    // RFC 9112 §5.2: a server may reject obs-fold with 400, and we do.
    if (!fold) return 'obsolete line folding in header field';
    const continuation = trimOws(line);
    if (!FIELD_VALUE.test(continuation)) return 'invalid character in header field value';
    // RFC 9112 §5.2: a user agent MUST replace obs-fold with SP before interpreting the value.
    const previous = fields[fields.length - 1]!;
    previous[1] = continuation === '' ? previous[1] : trimOws(`${previous[1]} ${continuation}`);
    return null;
  }
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  if (colon === -1) return 'header line without a colon';
  // RFC 9112 §5.1: a server MUST reject whitespace between field name and colon; a name is a token.
  if (!TOKEN.test(name)) return `invalid header field name ${JSON.stringify(name)}`;
  const value = trimOws(line.slice(colon + 1));
  // RFC 9110 §5.5: CR, LF and NUL are invalid and dangerous; other CTLs are invalid too.
  if (!FIELD_VALUE.test(value)) return `invalid character in header field ${JSON.stringify(name)}`;
  fields.push([name, value]);
  return null;
}

/** Result of {@link RequestHeadParser.push}. */
export type RequestParseResult =
  | { kind: 'incomplete' }
  | { kind: 'done'; request: HttpRequest; rest: Uint8Array }
  | { kind: 'error'; error: HandshakeError };

/**
 * Incremental parser of a request head: request line, header fields, empty line (RFC 9112 §2.1). It does
 * not read a body: the caller decides what the bytes in `rest` are (for a WebSocket handshake, frames).
 *
 * Call {@link RequestHeadParser.push} with each chunk received until the result is not `'incomplete'`.
 * Errors carry the status to answer with: 400 (MALFORMED_HTTP) or 431 (HEADERS_TOO_LARGE).
 */
export class RequestHeadParser {
  readonly #maxHeadSize: number;
  readonly #reader = new LineReader();
  #used = 0;
  #state: 'request-line' | 'fields' | 'done' | 'error' = 'request-line';
  #error: HandshakeError | null = null;
  #method = '';
  #target = '';
  #version = '';
  #fields: [string, string][] = [];

  /**
   * @param maxHeadSize The largest head accepted, in bytes, counting every CRLF and any empty lines
   * before the request line. The engine uses 8 KiB.
   */
  constructor(maxHeadSize: number) {
    checkLimit(maxHeadSize, 'maxHeadSize');
    this.#maxHeadSize = maxHeadSize;
  }

  /**
   * Feeds received bytes. Returns `'incomplete'` until the head is complete, then `'done'` with the
   * request and the bytes that followed it (`rest`, a view of `data`), or `'error'`. Never throws on any
   * input; after an error, every push returns the same error. Pushing after `'done'` is a usage error.
   */
  push(data: Uint8Array): RequestParseResult {
    if (this.#state === 'error') return { kind: 'error', error: this.#error! };
    if (this.#state === 'done') throw new UsageError('INVALID_STATE', 'the request head is already parsed');
    let position = 0;
    for (;;) {
      const step = this.#reader.read(data, position, this.#maxHeadSize - this.#used);
      switch (step.kind) {
        case 'more':
          return { kind: 'incomplete' };
        case 'overflow':
          return this.#fail('HEADERS_TOO_LARGE', 431, `request head larger than ${this.#maxHeadSize} bytes`);
        case 'malformed':
          return this.#fail('MALFORMED_HTTP', 400, step.reason);
      }
      this.#used += step.size;
      position = step.end;
      const line = step.line;
      if (this.#state === 'request-line') {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
        if (line === '') continue;
        const reason = this.#parseRequestLine(line);
        if (reason !== null) return this.#fail('MALFORMED_HTTP', 400, reason);
        this.#state = 'fields';
      } else if (line === '') {
        this.#state = 'done';
        const request: HttpRequest = {
          method: this.#method,
          target: this.#target,
          version: this.#version,
          headers: this.#fields,
        };
        return { kind: 'done', request, rest: data.subarray(position) };
      } else {
        const reason = addFieldLine(this.#fields, line, false);
        if (reason !== null) return this.#fail('MALFORMED_HTTP', 400, reason);
      }
    }
  }

  #parseRequestLine(line: string): string | null {
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single spaces.
    const parts = line.split(' ');
    if (parts.length !== 3) return 'malformed request line';
    const [method, target, version] = parts as [string, string, string];
    if (!TOKEN.test(method)) return 'invalid method in request line';
    if (!REQUEST_TARGET.test(target)) return 'invalid request target';
    if (!HTTP_VERSION.test(version)) return 'invalid HTTP version in request line';
    this.#method = method;
    this.#target = target;
    this.#version = version;
    return null;
  }

  #fail(code: 'MALFORMED_HTTP' | 'HEADERS_TOO_LARGE', status: number, message: string): RequestParseResult {
    this.#state = 'error';
    this.#error = new HandshakeError(code, status, message);
    return { kind: 'error', error: this.#error };
  }
}

/** Final results of {@link ResponseParser}. */
export type ResponseEndResult =
  | { kind: 'done'; response: HttpResponse; rest: Uint8Array }
  | { kind: 'error'; error: HandshakeError };

/** Result of {@link ResponseParser.push}. */
export type ResponseParseResult = { kind: 'incomplete' } | ResponseEndResult;

type ResponseState =
  | 'status-line'
  | 'fields'
  | 'length-body'
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-data-end'
  | 'trailer'
  | 'eof-body'
  | 'done'
  | 'error';

/**
 * Incremental parser of the server's answer to the handshake: a response head and, unless the status is
 * 101, its body, delimited by Content-Length, chunked coding, or the end of the connection (RFC 9112
 * §6.3). Interim 1xx responses other than 101 are read and discarded, as RFC 9110 §15.2 requires of a
 * client. For a 101, everything after the head is returned in `rest`: those bytes are WebSocket frames.
 *
 * Limits: all heads (interim ones and trailers included) share `maxHeadSize`; the body is limited to
 * `maxBodySize` bytes, checked as soon as a length is known and before anything is buffered past it.
 *
 * Call {@link ResponseParser.push} with each chunk until the result is not `'incomplete'`; when the
 * transport reaches end of file first, call {@link ResponseParser.end}.
 */
export class ResponseParser {
  readonly #maxHeadSize: number;
  readonly #maxBodySize: number;
  readonly #reader = new LineReader();
  #used = 0;
  #state: ResponseState = 'status-line';
  #error: HandshakeError | null = null;
  #version = '';
  #status = 0;
  #reason = '';
  #fields: [string, string][] = [];
  #body: Uint8Array[] = [];
  #bodySize = 0;
  #remaining = 0;

  /**
   * @param maxHeadSize The largest head accepted, in bytes (interim responses and trailers count too).
   * @param maxBodySize The largest body accepted, in bytes, after removing chunked framing.
   */
  constructor(maxHeadSize: number, maxBodySize: number) {
    checkLimit(maxHeadSize, 'maxHeadSize');
    checkLimit(maxBodySize, 'maxBodySize');
    this.#maxHeadSize = maxHeadSize;
    this.#maxBodySize = maxBodySize;
  }

  /**
   * Feeds received bytes. Returns `'incomplete'` until the response is complete, then `'done'` with the
   * response and the bytes after it (`rest`, a view of `data`), or `'error'`. Never throws on any input;
   * after an error, every call returns the same error. Pushing after `'done'` is a usage error.
   */
  push(data: Uint8Array): ResponseParseResult {
    if (this.#state === 'error') return { kind: 'error', error: this.#error! };
    if (this.#state === 'done') throw new UsageError('INVALID_STATE', 'the response is already parsed');
    let position = 0;
    for (;;) {
      switch (this.#state) {
        case 'status-line':
        case 'fields': {
          const step = this.#reader.read(data, position, this.#maxHeadSize - this.#used);
          if (step.kind === 'more') return { kind: 'incomplete' };
          if (step.kind === 'overflow') {
            return this.#headFail(
              'HEADERS_TOO_LARGE',
              `response head larger than ${this.#maxHeadSize} bytes`,
            );
          }
          if (step.kind === 'malformed') return this.#headFail('MALFORMED_HTTP', step.reason);
          this.#used += step.size;
          position = step.end;
          if (this.#state === 'status-line') {
            const reason = this.#parseStatusLine(step.line);
            if (reason !== null) return this.#headFail('MALFORMED_HTTP', reason);
            this.#state = 'fields';
          } else if (step.line !== '') {
            const reason = addFieldLine(this.#fields, step.line, true);
            if (reason !== null) return this.#headFail('MALFORMED_HTTP', reason);
          } else {
            const result = this.#startBody(data, position);
            if (result !== null) return result;
          }
          break;
        }
        case 'length-body': {
          const take = Math.min(this.#remaining, data.length - position);
          this.#collect(data.subarray(position, position + take));
          position += take;
          this.#remaining -= take;
          if (this.#remaining > 0) return { kind: 'incomplete' };
          return this.#finish(data.subarray(position));
        }
        case 'chunk-size': {
          const step = this.#reader.read(data, position, MAX_CHUNK_LINE);
          if (step.kind === 'more') return { kind: 'incomplete' };
          if (step.kind === 'overflow') return this.#bodyFail('MALFORMED_HTTP', 'chunk size line too long');
          if (step.kind === 'malformed') return this.#bodyFail('MALFORMED_HTTP', step.reason);
          position = step.end;
          const result = this.#parseChunkSize(step.line);
          if (result !== null) return result;
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.#remaining, data.length - position);
          this.#collect(data.subarray(position, position + take));
          position += take;
          this.#remaining -= take;
          if (this.#remaining > 0) return { kind: 'incomplete' };
          this.#state = 'chunk-data-end';
          break;
        }
        case 'chunk-data-end': {
          // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF.
          const step = this.#reader.read(data, position, 2);
          if (step.kind === 'more') return { kind: 'incomplete' };
          if (step.kind !== 'line' || step.line !== '') {
            return this.#bodyFail('MALFORMED_HTTP', 'chunk data not followed by CRLF');
          }
          position = step.end;
          this.#state = 'chunk-size';
          break;
        }
        case 'trailer': {
          const step = this.#reader.read(data, position, this.#maxHeadSize - this.#used);
          if (step.kind === 'more') return { kind: 'incomplete' };
          if (step.kind === 'overflow') {
            return this.#bodyFail('HEADERS_TOO_LARGE', 'trailer section too large');
          }
          if (step.kind === 'malformed') return this.#bodyFail('MALFORMED_HTTP', step.reason);
          this.#used += step.size;
          position = step.end;
          if (step.line === '') return this.#finish(data.subarray(position));
          // RFC 9110 §6.5.1: trailer fields may be discarded; they are only checked to be well formed.
          const reason = addFieldLine([['trailer', '']], step.line, false);
          if (reason !== null) return this.#bodyFail('MALFORMED_HTTP', reason);
          break;
        }
        case 'eof-body': {
          const chunk = data.subarray(position);
          if (this.#bodySize + chunk.length > this.#maxBodySize) return this.#bodyTooLarge();
          this.#collect(chunk);
          return { kind: 'incomplete' };
        }
      }
    }
  }

  /**
   * Reports the transport's end of file. Completes a body delimited by the end of the connection (RFC
   * 9112 §6.3); anything else still incomplete is an UNEXPECTED_EOF error.
   */
  end(): ResponseEndResult {
    switch (this.#state) {
      case 'error':
        return { kind: 'error', error: this.#error! };
      case 'done':
        throw new UsageError('INVALID_STATE', 'the response is already parsed');
      case 'eof-body':
        return this.#finish(EMPTY);
      case 'status-line':
      case 'fields':
        return this.#headFail('UNEXPECTED_EOF', 'connection closed before the end of the response head');
      default:
        return this.#bodyFail('UNEXPECTED_EOF', 'connection closed before the end of the response body');
    }
  }

  #parseStatusLine(line: string): string | null {
    const match = STATUS_LINE.exec(line);
    if (match === null) return 'malformed status line';
    const status = Number(match[2]);
    const reason = match[3] ?? '';
    // RFC 9110 §15: status codes are 100 to 599; the first digit must at least name a class.
    if (status < 100) return 'invalid status code';
    if (!FIELD_VALUE.test(reason)) return 'invalid character in reason phrase';
    this.#version = match[1]!;
    this.#status = status;
    this.#reason = reason;
    return null;
  }

  /** The head is complete: decides the body framing (RFC 9112 §6.3). Returns a result, or null to go on. */
  #startBody(data: Uint8Array, position: number): ResponseParseResult | null {
    const status = this.#status;
    // RFC 9112 §6.3 (1): 1xx, 204 and 304 responses end with the head, whatever their fields say.
    if (status === 101) return this.#finish(data.subarray(position));
    if (status < 200) {
      // RFC 9110 §15.2: a client MUST be able to parse 1xx responses before the final one; they are
      // discarded. Their bytes keep counting against the head limit, so a flood of them ends.
      this.#fields = [];
      this.#state = 'status-line';
      return null;
    }
    if (status === 204 || status === 304) return this.#finish(data.subarray(position));
    const transferEncoding = getHeaderValues(this.#fields, 'transfer-encoding');
    const contentLength = getHeaderValues(this.#fields, 'content-length');
    if (transferEncoding.length > 0) {
      // RFC 9112 §6.3 (3): both fields at once "ought to be handled as an error" (smuggling).
      if (contentLength.length > 0) {
        return this.#bodyFail('MALFORMED_HTTP', 'both Transfer-Encoding and Content-Length');
      }
      const codings = transferEncoding.flatMap(parseTokenList);
      // Like h11, only chunked alone is supported: we could not decode any other coding anyway.
      if (codings.length !== 1 || codings[0]!.toLowerCase() !== 'chunked') {
        return this.#bodyFail('MALFORMED_HTTP', 'unsupported Transfer-Encoding');
      }
      this.#state = 'chunk-size';
      return null;
    }
    if (contentLength.length > 0) {
      const lengths = new Set(contentLength.flatMap(parseTokenList));
      const [length] = lengths;
      // RFC 9112 §6.3 (5): an invalid Content-Length MUST make a user agent discard the response;
      // identical repeated values are allowed (RFC 9110 §8.6).
      if (lengths.size !== 1 || !/^[0-9]+$/.test(length!)) {
        return this.#bodyFail('MALFORMED_HTTP', 'invalid Content-Length');
      }
      const size = Number(length);
      if (size > this.#maxBodySize) return this.#bodyTooLarge();
      this.#remaining = size;
      this.#state = 'length-body';
      return size === 0 ? this.#finish(data.subarray(position)) : null;
    }
    // RFC 9112 §6.3 (8): otherwise the body lasts until the server closes the connection.
    this.#state = 'eof-body';
    return null;
  }

  #parseChunkSize(line: string): ResponseParseResult | null {
    let digits = 0;
    let size = 0;
    while (digits < line.length) {
      const value = parseInt(line[digits]!, 16);
      if (Number.isNaN(value)) break;
      size = size * 16 + value;
      digits++;
      // Checked per digit so that a long size cannot lose precision before it is compared.
      if (this.#bodySize + size > this.#maxBodySize) return this.#bodyTooLarge();
    }
    if (digits === 0) return this.#bodyFail('MALFORMED_HTTP', 'invalid chunk size');
    if (!CHUNK_EXT.test(line.slice(digits))) {
      return this.#bodyFail('MALFORMED_HTTP', 'invalid chunk extension');
    }
    if (size === 0) {
      // RFC 9112 §7.1: last-chunk, then the trailer section and an empty line.
      this.#state = 'trailer';
    } else {
      this.#remaining = size;
      this.#state = 'chunk-data';
    }
    return null;
  }

  #collect(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // Copied: the caller may reuse its buffer once push() returns.
    this.#body.push(bytes.slice());
    this.#bodySize += bytes.length;
  }

  #finish(rest: Uint8Array): ResponseEndResult {
    this.#state = 'done';
    const response: HttpResponse = {
      version: this.#version,
      status: this.#status,
      reason: this.#reason,
      headers: this.#fields,
      body: this.#body.length === 0 ? new Uint8Array(0) : concat(this.#body, this.#bodySize),
    };
    return { kind: 'done', response, rest };
  }

  #bodyTooLarge(): ResponseEndResult {
    return this.#bodyFail('BODY_TOO_LARGE', `response body larger than ${this.#maxBodySize} bytes`);
  }

  #headFail(
    code: 'MALFORMED_HTTP' | 'HEADERS_TOO_LARGE' | 'UNEXPECTED_EOF',
    message: string,
  ): ResponseEndResult {
    this.#state = 'error';
    this.#error = new HandshakeError(code, 0, message);
    return { kind: 'error', error: this.#error };
  }

  #bodyFail(
    code: 'MALFORMED_HTTP' | 'HEADERS_TOO_LARGE' | 'BODY_TOO_LARGE' | 'UNEXPECTED_EOF',
    message: string,
  ): ResponseEndResult {
    this.#state = 'error';
    this.#error = new HandshakeError(code, this.#status, message, this.#fields);
    return { kind: 'error', error: this.#error };
  }
}

/**
 * Checks header fields before they are sent: names must be tokens and values field values (no CR, LF,
 * NUL or other controls), which rules out header injection. Throws UsageError('INVALID_ARGUMENT').
 * @internal
 */
export function checkHeaderFields(headers: readonly HeaderField[]): void {
  for (const [name, value] of headers) {
    if (typeof name !== 'string' || !TOKEN.test(name)) {
      throw new UsageError('INVALID_ARGUMENT', `invalid header name ${JSON.stringify(name)}`);
    }
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
      throw new UsageError('INVALID_ARGUMENT', `invalid value for header ${name}`);
    }
  }
}

function fieldLines(headers: readonly HeaderField[]): string {
  let text = '';
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return text;
}

/**
 * Serialises a request head (request line, fields, empty line) to bytes. Every element is checked, so a
 * value can never inject a line; throws UsageError('INVALID_ARGUMENT') otherwise.
 */
export function serializeRequest(request: HttpRequest): Uint8Array {
  if (!TOKEN.test(request.method)) throw new UsageError('INVALID_ARGUMENT', 'invalid request method');
  if (!REQUEST_TARGET.test(request.target)) {
    throw new UsageError('INVALID_ARGUMENT', 'invalid request target');
  }
  if (!HTTP_VERSION.test(request.version)) throw new UsageError('INVALID_ARGUMENT', 'invalid HTTP version');
  checkHeaderFields(request.headers);
  return encodeLatin1(
    `${request.method} ${request.target} ${request.version}\r\n${fieldLines(request.headers)}\r\n`,
  );
}

/**
 * Serialises a response: status line, fields, empty line, then the body. For statuses that carry a body
 * (not 1xx, 204 or 304) a `Content-Length` is added unless one with the right value is already there.
 * Throws UsageError('INVALID_ARGUMENT') for invalid elements, a body on a status that cannot have one, a
 * `Transfer-Encoding`, or a `Content-Length` that does not match the body.
 */
export function serializeResponse(response: HttpResponse): Uint8Array {
  const { status, body } = response;
  if (!HTTP_VERSION.test(response.version)) throw new UsageError('INVALID_ARGUMENT', 'invalid HTTP version');
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new UsageError('INVALID_ARGUMENT', `invalid status code ${status}`);
  }
  if (!FIELD_VALUE.test(response.reason)) throw new UsageError('INVALID_ARGUMENT', 'invalid reason phrase');
  checkHeaderFields(response.headers);
  let headers = response.headers;
  const lengths = getHeaderValues(headers, 'content-length');
  if (status < 200 || status === 204 || status === 304) {
    // RFC 9112 §6.3 (1): these responses end with the head; a body would be read as the next message.
    if (body.length > 0) throw new UsageError('INVALID_ARGUMENT', `a ${status} response cannot have a body`);
    // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 1xx or 204 response.
    if ((status < 200 || status === 204) && lengths.length > 0) {
      throw new UsageError('INVALID_ARGUMENT', `a ${status} response cannot have a Content-Length`);
    }
  } else {
    if (getHeaderValues(headers, 'transfer-encoding').length > 0) {
      throw new UsageError('INVALID_ARGUMENT', 'Transfer-Encoding is not supported; the body is sent whole');
    }
    if (lengths.length === 0) {
      headers = [...headers, ['Content-Length', String(body.length)]];
    } else if (lengths.length !== 1 || lengths[0] !== String(body.length)) {
      throw new UsageError('INVALID_ARGUMENT', 'Content-Length does not match the body');
    }
  }
  // RFC 9112 §4: the SP before the reason phrase is sent even when the phrase is empty.
  const head = encodeLatin1(`${response.version} ${status} ${response.reason}\r\n${fieldLines(headers)}\r\n`);
  if (body.length === 0) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
