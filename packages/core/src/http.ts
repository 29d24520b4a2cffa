/**
 * The HTTP/1.1 subset the WebSocket opening handshake needs (RFC 9112, RFC 9110), sans-I/O: incremental
 * parsers for a request head and for a response (head and bounded body), serialisers, and header helpers.
 *
 * Theory of operation. Both parsers are one state machine, which reads CRLF-terminated lines keeping only
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

import { HandshakeError, type HeaderField, usageError } from './errors.ts';

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
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const TOKEN = new RegExp(`^${TCHAR}+$`);
// RFC 9110 §5.5: field-value = *field-content; field-vchar = VCHAR / obs-text, plus SP and HTAB inside.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// RFC 9112 §3.2: request-target forms are made of URI characters: printable ASCII, no whitespace.
const REQUEST_TARGET = /^[\x21-\x7e]+$/;
// RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, case-sensitive.
const HTTP_VERSION = /^HTTP\/[0-9]\.[0-9]$/;
// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. Like h11, the SP before
// an empty reason may be missing.
const STATUS_LINE = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?$/;
// RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE.
const QUOTED_STRING = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
/**
 * Regular-expression source of one `;` parameter, `name[=value]` with optional whitespace around `;` and
 * `=`, the value a token or a quoted-string. Chunk extensions (RFC 9112 §7.1.1: chunk-ext = *( BWS ";"
 * BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )) and WebSocket extension parameters (RFC 6455 §9.1)
 * share this grammar. Groups: the name, a token value, a quoted value (with its quotes).
 * @internal
 */
export const PARAMETER = `[ \\t]*;[ \\t]*(${TCHAR}+)(?:[ \\t]*=[ \\t]*(?:(${TCHAR}+)|(${QUOTED_STRING})))?`;
const CHUNK_EXT = new RegExp(`^(?:${PARAMETER})*$`);
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/** Longest chunk-size line (size and extensions) accepted; real ones are a few bytes. */
const MAX_CHUNK_LINE = 4096;

/** @internal */
export const CONTENT_LENGTH = 'Content-Length';
/** @internal */
export const TRANSFER_ENCODING = 'Transfer-Encoding';

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

/** The elements of every field `name` (a comma-separated list, RFC 9110 §5.6.1), in wire order. */
export function getHeaderList(headers: readonly HeaderField[], name: string): string[] {
  return getHeaderValues(headers, name).flatMap(parseTokenList);
}

/** Whether any field `name` lists `token`, both compared ASCII case-insensitively. */
export function hasToken(headers: readonly HeaderField[], name: string, token: string): boolean {
  const wanted = token.toLowerCase();
  return getHeaderList(headers, name).some((element) => element.toLowerCase() === wanted);
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

/** Joins `parts`, whose total length is `length`; a single part is returned as it is. @internal */
export function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A limit must be a number ≥ 0 (Infinity allowed): NaN would silently disable the bound. */
function checkLimit(limit: number, name: string): void {
  if (!(limit >= 0)) throw usageError(`${name} must be a number ≥ 0, got ${limit}`);
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

/** Final results of {@link ResponseParser}. */
export type ResponseEndResult =
  | { kind: 'done'; response: HttpResponse; rest: Uint8Array }
  | { kind: 'error'; error: HandshakeError };

/** Result of {@link ResponseParser.push}. */
export type ResponseParseResult = { kind: 'incomplete' } | ResponseEndResult;

type ParseResult = RequestParseResult | ResponseParseResult;
type ErrorResult = { kind: 'error'; error: HandshakeError };

// Parser states, ordered so that ranges mean something: up to FIELDS the head is incomplete; up to
// TRAILER lines count against the head limit; up to CHUNK_DATA_END the parser reads lines. START is the
// request line or the status line; TRAILER follows the last chunk.
const START = 0;
const FIELDS = 1;
const TRAILER = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA_END = 4;
const LENGTH_BODY = 5;
const CHUNK_DATA = 6;
const EOF_BODY = 7;
const DONE = 8;
const ERROR = 9;

const INCOMPLETE = { kind: 'incomplete' } as const;

/**
 * The one state machine behind {@link RequestHeadParser} and {@link ResponseParser}: they read heads alike
 * (a start line, field lines, an empty line), and only a response has a body.
 *
 * Lines are read across pushes by {@link HttpParser.#line}, which keeps only the bytes of the current,
 * unfinished line and never more than the state's budget (the rest of the head limit, or a chunk line's).
 */
class HttpParser {
  readonly #response: boolean;
  readonly #maxHeadSize: number;
  readonly #maxBodySize: number;
  /** The unfinished line: copied pieces of earlier pushes, and their total length. */
  #parts: Uint8Array[] = [];
  #partsLength = 0;
  /** Where the current push has got to in its chunk. */
  #position = 0;
  /** Head bytes read so far (interim responses and trailers included). */
  #used = 0;
  #state = START;
  #error: HandshakeError | null = null;
  /** Request: method, target, version. Response: version, reason. */
  #startLine: string[] = [];
  #status = 0;
  #fields: [string, string][] = [];
  #body: Uint8Array[] = [];
  #bodySize = 0;
  #remaining = 0;

  constructor(response: boolean, maxHeadSize: number, maxBodySize = 0) {
    checkLimit(maxHeadSize, 'maxHeadSize');
    checkLimit(maxBodySize, 'maxBodySize');
    this.#response = response;
    this.#maxHeadSize = maxHeadSize;
    this.#maxBodySize = maxBodySize;
  }

  push(data: Uint8Array): ParseResult {
    if (this.#state === ERROR) return { kind: 'error', error: this.#error! };
    this.#checkNotDone();
    this.#position = 0;
    for (;;) {
      const state = this.#state;
      if (state === LENGTH_BODY || state === CHUNK_DATA) {
        const take = Math.min(this.#remaining, data.length - this.#position);
        this.#collect(data.subarray(this.#position, this.#position += take));
        if ((this.#remaining -= take) > 0) return INCOMPLETE;
        if (state === LENGTH_BODY) return this.#finish(data);
        this.#state = CHUNK_DATA_END;
        continue;
      }
      if (state === EOF_BODY) {
        const chunk = data.subarray(this.#position);
        if (this.#bodySize + chunk.length > this.#maxBodySize) return this.#bodyTooLarge();
        this.#collect(chunk);
        return INCOMPLETE;
      }
      const line = this.#line(data);
      if (typeof line !== 'string') return line;
      let reason: string | null = null;
      if (state === START) {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
        if (line === '' && !this.#response) continue;
        reason = this.#response ? this.#parseStatusLine(line) : this.#parseRequestLine(line);
        if (reason === null) this.#state = FIELDS;
      } else if (state === FIELDS) {
        if (line !== '') reason = addFieldLine(this.#fields, line, this.#response);
        else if (!this.#response) return this.#finish(data);
        else {
          const result = this.#startBody(data);
          if (result !== null) return result;
        }
      } else if (state === CHUNK_SIZE) {
        const result = this.#parseChunkSize(line);
        if (result !== null) return result;
      } else if (state === CHUNK_DATA_END) {
        // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF.
        if (line !== '') return this.#fail('MALFORMED_HTTP', 'chunk data not followed by CRLF');
        this.#state = CHUNK_SIZE;
      } else {
        if (line === '') return this.#finish(data);
        // RFC 9110 §6.5.1: trailer fields may be discarded; they are only checked to be well formed.
        reason = addFieldLine([['trailer', '']], line, false);
      }
      if (reason !== null) return this.#fail('MALFORMED_HTTP', reason);
    }
  }

  end(): ResponseEndResult {
    const state = this.#state;
    if (state === ERROR) return { kind: 'error', error: this.#error! };
    this.#checkNotDone();
    if (state === EOF_BODY) return this.#finish(EMPTY) as ResponseEndResult;
    return this.#fail(
      'UNEXPECTED_EOF',
      `connection closed before the end of the response ${this.#inHead() ? 'head' : 'body'}`,
    );
  }

  #checkNotDone(): void {
    if (this.#state === DONE) {
      throw usageError(
        `the ${this.#response ? 'response' : 'request head'} is already parsed`,
        'INVALID_STATE',
      );
    }
  }

  #inHead(): boolean {
    return this.#state <= FIELDS;
  }

  /**
   * Reads the next CRLF-terminated line of the current push, within the state's budget. Returns the line
   * (Latin-1, without its CRLF), or the result to return from push: `incomplete` when the push ended
   * first (the unfinished line is kept), an error for a line that is too long or malformed.
   */
  #line(data: Uint8Array): string | ParseResult {
    const state = this.#state;
    const start = this.#position;
    const budget = state === CHUNK_SIZE
      ? MAX_CHUNK_LINE
      : state === CHUNK_DATA_END
      ? 2
      : this.#maxHeadSize - this.#used;
    const available = Math.max(0, budget - this.#partsLength);
    const window = data.subarray(start, start + available);
    const lf = window.indexOf(LF);
    if (lf === -1) {
      if (data.length - start > available) {
        return state === CHUNK_SIZE
          ? this.#fail('MALFORMED_HTTP', 'chunk size line too long')
          : state === CHUNK_DATA_END
          ? this.#fail('MALFORMED_HTTP', 'chunk data not followed by CRLF')
          : this.#fail(
            'HEADERS_TOO_LARGE',
            state === TRAILER
              ? 'trailer section too large'
              : `${this.#response ? 'response' : 'request'} head larger than ${this.#maxHeadSize} bytes`,
          );
      }
      if (window.length > 0) {
        // Copied: the caller may reuse its buffer once push() returns.
        this.#parts.push(window.slice());
        this.#partsLength += window.length;
      }
      return INCOMPLETE;
    }
    const segment = window.subarray(0, lf);
    const last = lf > 0 ? segment[lf - 1] : this.#parts.at(-1)?.at(-1);
    this.#parts.push(segment);
    const bytes = concat(this.#parts, this.#partsLength + lf);
    if (state <= TRAILER) this.#used += bytes.length + 1;
    this.#parts = [];
    this.#partsLength = 0;
    this.#position = start + lf + 1;
    const line = decodeLatin1(bytes.subarray(0, bytes.length - 1));
    // RFC 9112 §2.2: the line terminator is CRLF; we do not take the option to accept a bare LF. A bare CR
    // is invalid; rejecting it is the option that cannot be misread.
    const reason = last !== CR ? 'line ends with a bare LF' : line.includes('\r') ? 'bare CR in line' : null;
    if (reason === null) return line;
    return this.#fail(
      'MALFORMED_HTTP',
      state === CHUNK_DATA_END ? 'chunk data not followed by CRLF' : reason,
    );
  }

  #parseRequestLine(line: string): string | null {
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single spaces.
    const parts = line.split(' ');
    if (parts.length !== 3) return 'malformed request line';
    const [method, target, version] = parts as [string, string, string];
    if (!TOKEN.test(method)) return 'invalid method in request line';
    if (!REQUEST_TARGET.test(target)) return 'invalid request target';
    if (!HTTP_VERSION.test(version)) return 'invalid HTTP version in request line';
    this.#startLine = parts;
    return null;
  }

  #parseStatusLine(line: string): string | null {
    const match = STATUS_LINE.exec(line);
    if (match === null) return 'malformed status line';
    const status = Number(match[2]);
    const reason = match[3] ?? '';
    // RFC 9110 §15: status codes are 100 to 599; the first digit must at least name a class.
    if (status < 100) return 'invalid status code';
    if (!FIELD_VALUE.test(reason)) return 'invalid character in reason phrase';
    this.#startLine = [match[1]!, reason];
    this.#status = status;
    return null;
  }

  /** The head is complete: decides the body framing (RFC 9112 §6.3). Returns a result, or null to go on. */
  #startBody(data: Uint8Array): ParseResult | null {
    const status = this.#status;
    // RFC 9112 §6.3 (8): unless said otherwise below, the body lasts until the server closes the connection.
    this.#state = EOF_BODY;
    // RFC 9112 §6.3 (1): 1xx, 204 and 304 responses end with the head, whatever their fields say.
    if (status === 101 || status === 204 || status === 304) return this.#finish(data);
    if (status < 200) {
      // RFC 9110 §15.2: a client MUST be able to parse 1xx responses before the final one; they are
      // discarded. Their bytes keep counting against the head limit, so a flood of them ends.
      this.#fields = [];
      this.#state = START;
      return null;
    }
    const transferEncoding = getHeaderValues(this.#fields, TRANSFER_ENCODING);
    const contentLength = getHeaderValues(this.#fields, CONTENT_LENGTH);
    if (transferEncoding.length > 0) {
      // RFC 9112 §6.3 (3): both fields at once "ought to be handled as an error" (smuggling).
      if (contentLength.length > 0) {
        return this.#fail('MALFORMED_HTTP', 'both Transfer-Encoding and Content-Length');
      }
      const codings = transferEncoding.flatMap(parseTokenList);
      // Like h11, only chunked alone is supported: we could not decode any other coding anyway.
      if (codings.length !== 1 || codings[0]!.toLowerCase() !== 'chunked') {
        return this.#fail('MALFORMED_HTTP', 'unsupported Transfer-Encoding');
      }
      this.#state = CHUNK_SIZE;
    } else if (contentLength.length > 0) {
      const lengths = new Set(contentLength.flatMap(parseTokenList));
      const [length] = lengths;
      // RFC 9112 §6.3 (5): an invalid Content-Length MUST make a user agent discard the response;
      // identical repeated values are allowed (RFC 9110 §8.6).
      if (lengths.size !== 1 || !/^[0-9]+$/.test(length!)) {
        return this.#fail('MALFORMED_HTTP', 'invalid Content-Length');
      }
      const size = Number(length);
      if (size > this.#maxBodySize) return this.#bodyTooLarge();
      this.#remaining = size;
      this.#state = LENGTH_BODY;
      if (size === 0) return this.#finish(data);
    }
    return null;
  }

  #parseChunkSize(line: string): ParseResult | null {
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
    if (digits === 0) return this.#fail('MALFORMED_HTTP', 'invalid chunk size');
    if (!CHUNK_EXT.test(line.slice(digits))) return this.#fail('MALFORMED_HTTP', 'invalid chunk extension');
    // RFC 9112 §7.1: last-chunk, then the trailer section and an empty line.
    this.#remaining = size;
    this.#state = size === 0 ? TRAILER : CHUNK_DATA;
    return null;
  }

  #collect(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    // Copied: the caller may reuse its buffer once push() returns.
    this.#body.push(bytes.slice());
    this.#bodySize += bytes.length;
  }

  /** Done: the request or response, and the bytes of `data` after it. */
  #finish(data: Uint8Array): ParseResult {
    this.#state = DONE;
    const rest = data.subarray(this.#position);
    const [a, b, c] = this.#startLine as [string, string, string];
    const headers = this.#fields;
    if (!this.#response) {
      return { kind: 'done', request: { method: a, target: b, version: c, headers }, rest };
    }
    const body = this.#body.length === 0 ? new Uint8Array(0) : concat(this.#body, this.#bodySize);
    return { kind: 'done', response: { version: a, status: this.#status, reason: b, headers, body }, rest };
  }

  #bodyTooLarge(): ErrorResult {
    return this.#fail('BODY_TOO_LARGE', `response body larger than ${this.#maxBodySize} bytes`);
  }

  /**
   * Ends in error. A request's carries the status to answer: 431 for an oversized head, else 400. A
   * response's carries 0 while the head is incomplete, then the status received and its fields.
   */
  #fail(
    code: 'MALFORMED_HTTP' | 'HEADERS_TOO_LARGE' | 'BODY_TOO_LARGE' | 'UNEXPECTED_EOF',
    message: string,
  ): ErrorResult {
    const head = this.#inHead();
    this.#state = ERROR;
    this.#error = this.#response
      ? new HandshakeError(code, head ? 0 : this.#status, message, head ? [] : this.#fields)
      : new HandshakeError(code, code === 'HEADERS_TOO_LARGE' ? 431 : 400, message);
    return { kind: 'error', error: this.#error };
  }
}

/**
 * Incremental parser of a request head: request line, header fields, empty line (RFC 9112 §2.1). It does
 * not read a body: the caller decides what the bytes in `rest` are (for a WebSocket handshake, frames).
 *
 * Call {@link RequestHeadParser.push} with each chunk received until the result is not `'incomplete'`.
 * Errors carry the status to answer with: 400 (MALFORMED_HTTP) or 431 (HEADERS_TOO_LARGE).
 */
export class RequestHeadParser {
  readonly #parser: HttpParser;

  /**
   * @param maxHeadSize The largest head accepted, in bytes, counting every CRLF and any empty lines
   * before the request line. The engine uses 8 KiB.
   */
  constructor(maxHeadSize: number) {
    this.#parser = new HttpParser(false, maxHeadSize);
  }

  /**
   * Feeds received bytes. Returns `'incomplete'` until the head is complete, then `'done'` with the
   * request and the bytes that followed it (`rest`, a view of `data`), or `'error'`. Never throws on any
   * input; after an error, every push returns the same error. Pushing after `'done'` is a usage error.
   */
  push(data: Uint8Array): RequestParseResult {
    return this.#parser.push(data) as RequestParseResult;
  }
}

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
  readonly #parser: HttpParser;

  /**
   * @param maxHeadSize The largest head accepted, in bytes (interim responses and trailers count too).
   * @param maxBodySize The largest body accepted, in bytes, after removing chunked framing.
   */
  constructor(maxHeadSize: number, maxBodySize: number) {
    this.#parser = new HttpParser(true, maxHeadSize, maxBodySize);
  }

  /**
   * Feeds received bytes. Returns `'incomplete'` until the response is complete, then `'done'` with the
   * response and the bytes after it (`rest`, a view of `data`), or `'error'`. Never throws on any input;
   * after an error, every call returns the same error. Pushing after `'done'` is a usage error.
   */
  push(data: Uint8Array): ResponseParseResult {
    return this.#parser.push(data) as ResponseParseResult;
  }

  /**
   * Reports the transport's end of file. Completes a body delimited by the end of the connection (RFC
   * 9112 §6.3); anything else still incomplete is an UNEXPECTED_EOF error.
   */
  end(): ResponseEndResult {
    return this.#parser.end();
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
      throw usageError(`invalid header name ${JSON.stringify(name)}`);
    }
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
      throw usageError(`invalid value for header ${name}`);
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
  if (!TOKEN.test(request.method)) throw usageError('invalid request method');
  if (!REQUEST_TARGET.test(request.target)) {
    throw usageError('invalid request target');
  }
  if (!HTTP_VERSION.test(request.version)) throw usageError('invalid HTTP version');
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
  if (!HTTP_VERSION.test(response.version)) throw usageError('invalid HTTP version');
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw usageError(`invalid status code ${status}`);
  }
  if (!FIELD_VALUE.test(response.reason)) throw usageError('invalid reason phrase');
  checkHeaderFields(response.headers);
  let headers = response.headers;
  const lengths = getHeaderValues(headers, CONTENT_LENGTH);
  if (status < 200 || status === 204 || status === 304) {
    // RFC 9112 §6.3 (1): these responses end with the head; a body would be read as the next message.
    if (body.length > 0) throw usageError(`a ${status} response cannot have a body`);
    // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 1xx or 204 response.
    if ((status < 200 || status === 204) && lengths.length > 0) {
      throw usageError(`a ${status} response cannot have a Content-Length`);
    }
  } else {
    if (getHeaderValues(headers, TRANSFER_ENCODING).length > 0) {
      throw usageError('Transfer-Encoding is not supported; the body is sent whole');
    }
    if (lengths.length === 0) {
      headers = [...headers, [CONTENT_LENGTH, String(body.length)]];
    } else if (lengths.length !== 1 || lengths[0] !== String(body.length)) {
      throw usageError('Content-Length does not match the body');
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
