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

import { decodeLatin1, encodeLatin1 } from './base64.ts';
import { HandshakeError, type HeaderField, usageError } from './errors.ts';
import { EMPTY } from './frames.ts';

/**
 * A parsed or to-be-sent HTTP request head. Header names keep their case; lookups ignore it.
 *
 * A request read by {@link RequestHeadParser} (so a server engine's `request`, and a server `Conn`'s) keeps
 * its header section as the one string it arrived as, and builds `headers` from it on every read: a new
 * array each time (equal to the one before), so that an open connection does not hold an array, a pair and
 * two strings per header for a value that is rarely read again. Changing the array returned changes
 * nothing; assigning `headers` replaces the fields. All its properties are own and enumerable, so it
 * compares, spreads and serialises like a plain object.
 */
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
/**
 * RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, case-sensitive. Groups: major, minor.
 * @internal
 */
export const HTTP_VERSION = /^HTTP\/([0-9])\.([0-9])$/;
// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. Like h11, the SP before
// an empty reason may be missing.
// RFC 9110 §15: status codes are 100 to 599; the first digit must at least name a class.
const STATUS_LINE = /^(HTTP\/[0-9]\.[0-9]) ([1-9][0-9]{2})(?: (.*))?$/;
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
    // Lengths first: most fields are not the one looked for, and a lowercase copy of each is garbage.
    if (fieldName.length === wanted.length && fieldName.toLowerCase() === wanted) values.push(value);
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

/**
 * Joins `parts`, whose total length is `length`, into `out` (by default a new array); a single part is
 * returned as it is. @internal
 */
export function concat(parts: readonly Uint8Array[], length: number, out?: Uint8Array): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  out ??= new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A limit must be a number ≥ 0 (Infinity allowed): NaN would silently disable the bound. */
function checkLimit(limit: number, name: string): void {
  if (!(limit >= 0)) throw usageError(`${name} must be a number >= 0, got ${limit}`);
}

/** The message of a field whose name or value is invalid; the value is not quoted (it may be a secret). */
function invalidField(name: string): string {
  return `invalid header field ${JSON.stringify(name)}`;
}

/** Parses a field line into `fields`, or returns why it is malformed. `fold` allows obs-fold (responses). */
function addFieldLine(fields: [string, string][], line: string, fold: boolean): string | null {
  const first = line.charCodeAt(0);
  if (first === 0x20 || first === 0x09) {
    // RFC 9112 §2.2: whitespace before the first field line is invalid (it could hide a field).
    if (fields.length === 0) return 'whitespace before the first header';
    // RFC 9112 §5.2: a server may reject obs-fold with 400, and we do.
    if (!fold) return 'obsolete line folding';
    const continuation = trimOws(line);
    const previous = fields[fields.length - 1]!;
    if (!FIELD_VALUE.test(continuation)) return invalidField(previous[0]);
    // RFC 9112 §5.2: a user agent MUST replace obs-fold with SP before interpreting the value.
    previous[1] = continuation === '' ? previous[1] : trimOws(`${previous[1]} ${continuation}`);
    return null;
  }
  const colon = line.indexOf(':');
  if (colon === -1) return 'header line without a colon';
  const name = line.slice(0, colon);
  const value = trimOws(line.slice(colon + 1));
  // RFC 9112 §5.1: a server MUST reject whitespace between field name and colon; a name is a token.
  // RFC 9110 §5.5: CR, LF and NUL are invalid and dangerous in a value; other CTLs are invalid too.
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return invalidField(name);
  fields.push([name, value]);
  return null;
}

/**
 * Builds the header fields of a request's field lines, joined by LF (each was checked when it arrived, by
 * this same function, so the result is what an eager parse gave).
 */
function requestFields(lines: string): HeaderField[] {
  const fields: [string, string][] = [];
  if (lines === '') return fields;
  for (const line of lines.split('\n')) addFieldLine(fields, line, false);
  return fields;
}

/** `headers` of every {@link ParsedRequest}: one accessor pair, so all of them share one shape. */
let requestHeaders: PropertyDescriptor;

/**
 * A request as {@link RequestHeadParser} returns it: the field lines kept as one flat string (one byte
 * per character), `headers` an own enumerable accessor that builds the fields from them on each read (see
 * {@link HttpRequest}). The first read gets the fields the parser built while validating (the
 * handshake's read, so they are not built twice); later ones build them again. An open server connection
 * keeps its request for `request`, and this is what an idle one holds of it.
 */
class ParsedRequest implements HttpRequest {
  method: string;
  target: string;
  version: string;
  declare headers: HeaderField[];
  /** The field lines as received (validated, without their CRLF), joined by LF. */
  readonly #lines: string;
  /** The fields the parser built while validating, handed out by the first read (the handshake's). */
  #parsed: HeaderField[] | null;

  static {
    requestHeaders = {
      get(this: ParsedRequest): HeaderField[] {
        const parsed = this.#parsed;
        if (parsed === null) return requestFields(this.#lines);
        this.#parsed = null;
        return parsed;
      },
      // Assigned fields replace the received ones: `headers` becomes a plain data property.
      set(this: ParsedRequest, headers: HeaderField[]): void {
        this.#parsed = null;
        Object.defineProperty(this, 'headers', {
          value: headers,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      },
      enumerable: true,
      configurable: true,
    };
  }

  constructor(method: string, target: string, version: string, lines: string, parsed: HeaderField[]) {
    // The usual method and version as literals: shared strings instead of a copy per connection.
    this.method = method === 'GET' ? 'GET' : method;
    this.target = target;
    this.version = version === 'HTTP/1.1' ? 'HTTP/1.1' : version;
    this.#lines = lines;
    this.#parsed = parsed;
    Object.defineProperty(this, 'headers', requestHeaders);
  }
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

/** Said by every parser error about the CRLF that must end chunk data. */
const NO_CRLF_AFTER_CHUNK = 'chunk data not followed by CRLF';

/** What {@link createParser} returns: the methods of {@link RequestHeadParser} and {@link ResponseParser}. */
interface Parser {
  push(data: Uint8Array): ParseResult;
  end(): ResponseEndResult;
}

/**
 * The one state machine behind {@link RequestHeadParser} and {@link ResponseParser}: they read heads alike
 * (a start line, field lines, an empty line), and only a response has a body. Its state lives in the
 * closure (a factory rather than a class: the minified core is smaller without `this.#` on every access).
 * The engines drop their parser once the head or response is read, so its closures do not outlive the
 * handshake.
 *
 * Lines are read across pushes by `readLine`, which keeps only the bytes of the current, unfinished line
 * and never more than the state's budget (the rest of the head limit, or a chunk line's).
 */
function createParser(response: boolean, maxHeadSize: number, maxBodySize = 0): Parser {
  checkLimit(maxHeadSize, 'maxHeadSize');
  checkLimit(maxBodySize, 'maxBodySize');
  /** The unfinished line: copied pieces of earlier pushes, and their total length. */
  let parts: Uint8Array[] = [];
  let partsLength = 0;
  /** Where the current push has got to in its chunk. */
  let position = 0;
  /** Head bytes read so far (interim responses and trailers included). */
  let used = 0;
  let state = START;
  /** The error, returned again by every later call. */
  let failure: ErrorResult | undefined;
  /** Request: method, target, version. Response: version, reason. */
  let startLine: string[] = [];
  let status = 0;
  let fields: [string, string][] = [];
  /** Request: the field lines, kept to build the request's `headers` from (see ParsedRequest). */
  const lines: string[] = [];
  const body: Uint8Array[] = [];
  let bodySize = 0;
  let remaining = 0;

  /**
   * Ends in error. A request's carries the status to answer: 431 for an oversized head, else 400. A
   * response's carries 0 while the head is incomplete, then the status received and its fields.
   */
  const fail = (
    code: 'MALFORMED_HTTP' | 'HEADERS_TOO_LARGE' | 'BODY_TOO_LARGE' | 'UNEXPECTED_EOF',
    message: string,
  ): ErrorResult => {
    const head = state <= FIELDS;
    state = ERROR;
    return failure = {
      kind: 'error',
      error: response
        ? new HandshakeError(code, head ? 0 : status, message, head ? [] : fields)
        : new HandshakeError(code, code === 'HEADERS_TOO_LARGE' ? 431 : 400, message),
    };
  };
  const malformed = (message: string) => fail('MALFORMED_HTTP', message);
  const bodyTooLarge = () => fail('BODY_TOO_LARGE', `response body larger than ${maxBodySize} bytes`);

  const checkNotDone = (): void => {
    if (state === DONE) {
      throw usageError(`the ${response ? 'response' : 'request head'} is already parsed`, 'INVALID_STATE');
    }
  };

  const collect = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    // Copied: the caller may reuse its buffer once push() returns.
    body.push(bytes.slice());
    bodySize += bytes.length;
  };

  /** Done: the request or response, and the bytes of `data` after it. */
  const finish = (data: Uint8Array): ParseResult => {
    state = DONE;
    const rest = data.subarray(position);
    const [a, b, c] = startLine as [string, string, string];
    return response
      ? {
        kind: 'done',
        response: { version: a, status, reason: b, headers: fields, body: concat(body, bodySize) },
        rest,
      }
      // One flat string: a join copies the lines into a new sequential string, which keeps no line alive.
      : { kind: 'done', request: new ParsedRequest(a, b, c, lines.join('\n'), fields), rest };
  };

  /**
   * Reads the next CRLF-terminated line of the current push, within the state's budget. Returns the line
   * (Latin-1, without its CRLF), or the result to return from push: `incomplete` when the push ended
   * first (the unfinished line is kept), an error for a line that is too long or malformed.
   */
  const readLine = (data: Uint8Array): string | ParseResult => {
    const start = position;
    const budget = state === CHUNK_SIZE ? MAX_CHUNK_LINE : state === CHUNK_DATA_END ? 2 : maxHeadSize - used;
    // Where the line may go up to in this push. Read in place: no view or array per line, in the usual case
    // of a line within one push.
    const limit = start + Math.max(0, budget - partsLength);
    let lf = data.indexOf(LF, start);
    if (lf < 0 || lf >= limit) {
      if (data.length > limit) {
        // Trailers and interim responses share the head limit, so they are reported as the head.
        return state === CHUNK_SIZE
          ? malformed('chunk size line too long')
          : state === CHUNK_DATA_END
          ? malformed(NO_CRLF_AFTER_CHUNK)
          : fail(
            'HEADERS_TOO_LARGE',
            `${response ? 'response' : 'request'} head larger than ${maxHeadSize} bytes`,
          );
      }
      if (data.length > start) {
        // Copied: the caller may reuse its buffer once push() returns.
        parts.push(data.slice(start));
        partsLength += data.length - start;
      }
      return INCOMPLETE;
    }
    position = lf + 1;
    // The line is bytes[from, lf), CR included: in `data`, or the kept pieces joined with this one.
    let bytes = data;
    let from = start;
    if (partsLength > 0) {
      parts.push(data.subarray(start, lf));
      lf = partsLength + lf - start;
      bytes = concat(parts, lf);
      from = 0;
      parts = [];
      partsLength = 0;
    }
    if (state <= TRAILER) used += lf - from + 1;
    const line = decodeLatin1(bytes, from, lf - 1);
    // RFC 9112 §2.2: the line terminator is CRLF; we do not take the option to accept a bare LF. A bare CR
    // is invalid; rejecting it is the option that cannot be misread.
    if (lf > from && bytes[lf - 1] === CR && !line.includes('\r')) return line;
    return malformed(state === CHUNK_DATA_END ? NO_CRLF_AFTER_CHUNK : 'bare CR or LF in the head');
  };

  /** RFC 9112 §3: request-line = method SP request-target SP HTTP-version, single spaces. */
  const parseRequestLine = (line: string): string | null => {
    const parts = line.split(' ');
    const [method, target, version] = parts as [string, string, string];
    if (
      parts.length !== 3 || !TOKEN.test(method) || !REQUEST_TARGET.test(target) || !HTTP_VERSION.test(version)
    ) {
      return 'malformed request line';
    }
    startLine = parts;
    return null;
  };

  const parseStatusLine = (line: string): string | null => {
    const match = STATUS_LINE.exec(line);
    const reason = match?.[3] ?? '';
    if (match === null || !FIELD_VALUE.test(reason)) return 'malformed status line';
    startLine = [match[1]!, reason];
    status = Number(match[2]);
    return null;
  };

  /** The head is complete: decides the body framing (RFC 9112 §6.3). Returns a result, or null to go on. */
  const startBody = (data: Uint8Array): ParseResult | null => {
    // RFC 9112 §6.3 (8): unless said otherwise below, the body lasts until the server closes the connection.
    state = EOF_BODY;
    // RFC 9112 §6.3 (1): 1xx, 204 and 304 responses end with the head, whatever their fields say.
    if (status === 101 || status === 204 || status === 304) return finish(data);
    if (status < 200) {
      // RFC 9110 §15.2: a client MUST be able to parse 1xx responses before the final one; they are
      // discarded. Their bytes keep counting against the head limit, so a flood of them ends.
      fields = [];
      state = START;
      return null;
    }
    const transferEncoding = getHeaderValues(fields, TRANSFER_ENCODING);
    const contentLength = getHeaderValues(fields, CONTENT_LENGTH);
    if (transferEncoding.length > 0) {
      // RFC 9112 §6.3 (3): both fields at once "ought to be handled as an error" (smuggling).
      if (contentLength.length > 0) return malformed(`${TRANSFER_ENCODING} and ${CONTENT_LENGTH} both given`);
      const codings = transferEncoding.flatMap(parseTokenList);
      // Like h11, only chunked alone is supported: we could not decode any other coding anyway.
      if (codings.length !== 1 || codings[0]!.toLowerCase() !== 'chunked') {
        return malformed(`unsupported ${TRANSFER_ENCODING}`);
      }
      state = CHUNK_SIZE;
    } else if (contentLength.length > 0) {
      const lengths = new Set(contentLength.flatMap(parseTokenList));
      const [length] = lengths;
      // RFC 9112 §6.3 (5): an invalid Content-Length MUST make a user agent discard the response;
      // identical repeated values are allowed (RFC 9110 §8.6).
      if (lengths.size !== 1 || !/^[0-9]+$/.test(length!)) return malformed(`invalid ${CONTENT_LENGTH}`);
      const size = Number(length);
      if (size > maxBodySize) return bodyTooLarge();
      remaining = size;
      state = LENGTH_BODY;
      if (size === 0) return finish(data);
    }
    return null;
  };

  const parseChunkSize = (line: string): ParseResult | null => {
    let digits = 0;
    let size = 0;
    while (digits < line.length) {
      const value = parseInt(line[digits]!, 16);
      if (Number.isNaN(value)) break;
      size = size * 16 + value;
      digits++;
      // Checked per digit so that a long size cannot lose precision before it is compared.
      if (bodySize + size > maxBodySize) return bodyTooLarge();
    }
    if (digits === 0 || !CHUNK_EXT.test(line.slice(digits))) return malformed('invalid chunk size line');
    // RFC 9112 §7.1: last-chunk, then the trailer section and an empty line.
    remaining = size;
    state = size === 0 ? TRAILER : CHUNK_DATA;
    return null;
  };

  return {
    push(data) {
      if (failure !== undefined) return failure;
      checkNotDone();
      position = 0;
      for (;;) {
        const current = state;
        if (current === LENGTH_BODY || current === CHUNK_DATA) {
          const take = Math.min(remaining, data.length - position);
          collect(data.subarray(position, position += take));
          if ((remaining -= take) > 0) return INCOMPLETE;
          if (current === LENGTH_BODY) return finish(data);
          state = CHUNK_DATA_END;
          continue;
        }
        if (current === EOF_BODY) {
          const chunk = data.subarray(position);
          if (bodySize + chunk.length > maxBodySize) return bodyTooLarge();
          collect(chunk);
          return INCOMPLETE;
        }
        const line = readLine(data);
        if (typeof line !== 'string') return line;
        let reason: string | null = null;
        if (current === START) {
          // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
          if (line === '' && !response) continue;
          reason = response ? parseStatusLine(line) : parseRequestLine(line);
          if (reason === null) state = FIELDS;
        } else if (current === FIELDS) {
          if (line !== '') {
            reason = addFieldLine(fields, line, response);
            if (!response) lines.push(line);
          } else if (!response) return finish(data);
          else {
            const result = startBody(data);
            if (result !== null) return result;
          }
        } else if (current === CHUNK_SIZE) {
          const result = parseChunkSize(line);
          if (result !== null) return result;
        } else if (current === CHUNK_DATA_END) {
          // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF.
          if (line !== '') return malformed(NO_CRLF_AFTER_CHUNK);
          state = CHUNK_SIZE;
        } else {
          if (line === '') return finish(data);
          // RFC 9110 §6.5.1: trailer fields may be discarded; they are only checked to be well formed.
          reason = addFieldLine([['trailer', '']], line, false);
        }
        if (reason !== null) return malformed(reason);
      }
    },

    end() {
      if (failure !== undefined) return failure;
      checkNotDone();
      if (state === EOF_BODY) return finish(EMPTY) as ResponseEndResult;
      return fail(
        'UNEXPECTED_EOF',
        `connection closed before the end of the response ${state <= FIELDS ? 'head' : 'body'}`,
      );
    },
  };
}

/**
 * Incremental parser of a request head: request line, header fields, empty line (RFC 9112 §2.1). It does
 * not read a body: the caller decides what the bytes in `rest` are (for a WebSocket handshake, frames).
 *
 * Call {@link RequestHeadParser.push} with each chunk received until the result is not `'incomplete'`.
 * Errors carry the status to answer with: 400 (MALFORMED_HTTP) or 431 (HEADERS_TOO_LARGE).
 */
export class RequestHeadParser {
  readonly #parser: Parser;

  /**
   * @param maxHeadSize The largest head accepted, in bytes, counting every CRLF and any empty lines
   * before the request line. The engine uses 8 KiB.
   */
  constructor(maxHeadSize: number) {
    this.#parser = createParser(false, maxHeadSize);
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
  readonly #parser: Parser;

  /**
   * @param maxHeadSize The largest head accepted, in bytes (interim responses and trailers count too).
   * @param maxBodySize The largest body accepted, in bytes, after removing chunked framing.
   */
  constructor(maxHeadSize: number, maxBodySize: number) {
    this.#parser = createParser(true, maxHeadSize, maxBodySize);
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
    // A name or value that is not a string fails its test: `test` converts it to a string first, and
    // neither "undefined" nor "[object Object]" passes both checks with the type check kept.
    if (
      typeof name !== 'string' || typeof value !== 'string' || !TOKEN.test(name) || !FIELD_VALUE.test(value)
    ) {
      throw usageError(invalidField(name));
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
  if (
    !TOKEN.test(request.method) || !REQUEST_TARGET.test(request.target) || !HTTP_VERSION.test(request.version)
  ) {
    throw usageError('invalid request line');
  }
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
  if (
    !HTTP_VERSION.test(response.version) || !Number.isInteger(status) || status < 100 || status > 999 ||
    !FIELD_VALUE.test(response.reason)
  ) {
    throw usageError(`invalid status line for status ${status}`);
  }
  checkHeaderFields(response.headers);
  let headers = response.headers;
  const lengths = getHeaderValues(headers, CONTENT_LENGTH);
  if (status < 200 || status === 204 || status === 304) {
    // RFC 9112 §6.3 (1): these responses end with the head; a body would be read as the next message.
    // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 1xx or 204 response.
    if (body.length > 0 || ((status < 200 || status === 204) && lengths.length > 0)) {
      throw usageError(`a ${status} response cannot have ${body.length > 0 ? 'a body' : CONTENT_LENGTH}`);
    }
  } else {
    if (getHeaderValues(headers, TRANSFER_ENCODING).length > 0) {
      throw usageError(`${TRANSFER_ENCODING} is not supported (the body is sent whole)`);
    }
    if (lengths.length === 0) {
      headers = [...headers, [CONTENT_LENGTH, String(body.length)]];
    } else if (lengths.length !== 1 || lengths[0] !== String(body.length)) {
      throw usageError(`${CONTENT_LENGTH} does not match the body`);
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
