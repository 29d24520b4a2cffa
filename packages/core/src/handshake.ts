/**
 * The WebSocket opening handshake (RFC 6455 §4) as pure functions over {@link HttpRequest} and
 * {@link HttpResponse}: the server validates a request and builds its 101 (or error) response, the client
 * builds its request and validates the server's response. No I/O, no randomness: the client's nonce comes
 * in as an argument.
 *
 * Server decisions (each also stated where it is implemented):
 * - A method other than GET gets 405 with `Allow: GET` (RFC 9110 §15.5.6): the endpoint exists but only
 *   for GET. Code INVALID_METHOD.
 * - A request without the `websocket` token in `Upgrade` (typically a plain browser request) gets 426
 *   Upgrade Required with `Upgrade: websocket`, as gorilla/websocket and python-websockets do.
 * - A missing `upgrade` token in `Connection` gets 400; an unsupported `Sec-WebSocket-Version` gets 426 with
 *   `Sec-WebSocket-Version: 13` (RFC 6455 §4.4). The version is checked before the key, so a client of
 *   another version learns which one we speak.
 * - A request with a body (Transfer-Encoding, or a Content-Length other than 0) gets 400: those bytes would
 *   otherwise be taken for WebSocket frames (python-websockets refuses them too).
 * - Error responses carry a short text/plain body and `Connection: close`.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from './base64.ts';
import { HandshakeError, type HandshakeErrorCode, type HeaderField, usageError } from './errors.ts';
import {
  checkHeaderFields,
  CONTENT_LENGTH,
  getHeader,
  getHeaderList,
  getHeaderValues,
  hasToken,
  HTTP_VERSION,
  type HttpRequest,
  type HttpResponse,
  isFieldValue,
  isToken,
  parseTokenList,
  TRANSFER_ENCODING,
} from './http.ts';
import { utf8Encoder } from './platform.ts';
import { sha1 } from './sha1.ts';

/** The GUID RFC 6455 §1.3 appends to the client's key to compute `Sec-WebSocket-Accept`. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The only protocol version this library speaks (RFC 6455 §4.1). */
const VERSION = '13';

// Header names, as sent; lookups ignore case (RFC 9110 §5.1). The Sec-WebSocket-* names share their
// prefix, joined at load time (once), so that the minified core spells it out only once.
const HOST = 'Host';
const UPGRADE = 'Upgrade';
const CONNECTION = 'Connection';
const ORIGIN = 'Origin';
const CONTENT_TYPE = 'Content-Type';
const SEC = 'Sec-WebSocket-';
const SEC_WEBSOCKET_KEY = SEC + 'Key';
const SEC_WEBSOCKET_ACCEPT = SEC + 'Accept';
const SEC_WEBSOCKET_VERSION = SEC + 'Version';
const SEC_WEBSOCKET_PROTOCOL = SEC + 'Protocol';
/** @internal */
export const SEC_WEBSOCKET_EXTENSIONS = SEC + 'Extensions';
/** The protocol version of every message the handshake builds. */
const HTTP_1_1 = 'HTTP/1.1';
/** Said by both sides when `Connection` lacks the `upgrade` token. */
const NO_UPGRADE_TOKEN = 'no "Upgrade" in Connection';
/** The Upgrade token of the protocol (RFC 6455 §4.1), compared ASCII case-insensitively. */
const WEBSOCKET = 'websocket';

/**
 * The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2 item 5): the
 * base64 of the SHA-1 of the key, as sent (not decoded), followed by {@link WEBSOCKET_GUID}.
 */
export function computeAccept(key: string): string {
  return encodeBase64(sha1(utf8Encoder.encode(key + WEBSOCKET_GUID)));
}

/**
 * A `Sec-WebSocket-Key` from 16 random bytes, which the caller draws (RFC 6455 §4.1: "a randomly selected
 * 16-byte value that has been base64-encoded", a fresh nonce per connection). Throws
 * UsageError('INVALID_ARGUMENT') unless given exactly 16 bytes.
 */
export function generateKey(random16: Uint8Array): string {
  if (random16.length !== 16) {
    throw usageError(`generateKey needs 16 random bytes, got ${random16.length}`);
  }
  return encodeBase64(random16);
}

/** Whether `key` is a valid `Sec-WebSocket-Key`: base64 of exactly 16 bytes (RFC 6455 §4.2.1 item 5). */
function isValidKey(key: string): boolean {
  return decodeBase64(key)?.length === 16;
}

// RFC 3986 §3.2.2–3.2.3: host (IP-literal in brackets, or IPv4 / reg-name) and an optional port. Userinfo
// is not allowed in Host (RFC 9110 §7.2) nor in an origin.
const AUTHORITY = /^(?:\[[0-9A-Za-z:._~%-]+\]|[0-9A-Za-z\-._~!$&'()*+,;=%]+)(?::[0-9]*)?$/;
// RFC 6454 §6.2: scheme "://" host [ ":" port ]. A path is tolerated, as gorilla/websocket does.
const SERIALIZED_ORIGIN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(?:[/?#].*)?$/;

/** Whether `text` is a plausible `Host` value: host[:port], IPv6 in brackets. */
function isAuthority(text: string): boolean {
  return AUTHORITY.test(text);
}

/**
 * The default origin policy, gorilla/websocket's: accepts a request without `Origin` (not from a
 * browser), or whose `Origin` authority (host[:port]) equals its `Host` header, ASCII case-insensitively.
 * Rejects `null`, unparsable origins and several `Origin` fields. Use it inside a custom `checkOrigin` to
 * extend it.
 */
export function checkSameOrigin(origin: string | undefined, request: HttpRequest): boolean {
  if (origin === undefined) return true;
  const match = SERIALIZED_ORIGIN.exec(origin);
  const host = getHeaderValues(request.headers, HOST);
  if (match === null || host.length !== 1) return false;
  const authority = match[1]!;
  return isAuthority(authority) && authority.toLowerCase() === host[0]!.toLowerCase();
}

/** Server-side handshake policy, given to {@link acceptRequest}. */
export interface ServerHandshakeOptions {
  /**
   * Origin policy (RFC 6455 §4.2.2 item 4, §10.2): return false to answer 403. Receives the `Origin`
   * header (repeated fields joined with `', '`) or `undefined`. Default: {@link checkSameOrigin}.
   */
  checkOrigin?: (origin: string | undefined, request: HttpRequest) => boolean;
  /** Subprotocols the server supports, in server preference order: the first one the client offered wins. */
  subprotocols?: readonly string[];
  /**
   * A custom subprotocol selector, taking precedence over `subprotocols`: receives the offered tokens in
   * order and returns one of them, or null for none. Returning anything else throws a UsageError.
   */
  selectSubprotocol?: (offered: readonly string[], request: HttpRequest) => string | null;
  /**
   * Extension negotiation (used by permessage-deflate): receives every `Sec-WebSocket-Extensions` value in
   * order (possibly none) and returns the response header value (or null for none) and an opaque result.
   * May throw a HandshakeError (usually 400 INVALID_EXTENSIONS) for an unacceptable offer. Without it,
   * offered extensions are ignored, as RFC 6455 §9.1 allows.
   */
  negotiateExtensions?: (
    values: readonly string[],
    request: HttpRequest,
  ) => { header: string | null; result: unknown };
  /**
   * Extra headers for the 101 response. A name that is not a token, a value with CR, LF, NUL or another
   * control character, or a header the handshake sets itself (Upgrade, Connection, Sec-WebSocket-Accept,
   * -Protocol, -Extensions) or that would break framing (Content-Length, Transfer-Encoding) makes
   * {@link acceptRequest} throw UsageError('INVALID_ARGUMENT').
   */
  headers?: readonly HeaderField[];
}

/** The outcome of {@link acceptRequest}: the response to send either way, and what was negotiated. */
export type AcceptResult =
  | {
    ok: true;
    response: HttpResponse;
    subprotocol: string | null;
    extensions: unknown;
    extensionsHeader: string | null;
  }
  | { ok: false; response: HttpResponse; error: HandshakeError };

/** Headers that would break the framing of a handshake message. */
const FRAMING = `${CONNECTION} ${CONTENT_LENGTH} ${TRANSFER_ENCODING}`;
/** Headers the server handshake owns. */
const SERVER_OWNED =
  `${FRAMING} ${UPGRADE} ${SEC_WEBSOCKET_ACCEPT} ${SEC_WEBSOCKET_PROTOCOL} ${SEC_WEBSOCKET_EXTENSIONS}`;
/** Headers the client handshake owns. `Origin` has its own option. */
const CLIENT_OWNED =
  `${FRAMING} ${HOST} ${UPGRADE} ${SEC_WEBSOCKET_KEY} ${SEC_WEBSOCKET_VERSION} ${SEC_WEBSOCKET_PROTOCOL} ${SEC_WEBSOCKET_EXTENSIONS} ${ORIGIN}`;

/** Checks extra headers given for a handshake message: valid, and none of `owned` (names as above). */
function checkExtraHeaders(headers: readonly HeaderField[], owned: string): void {
  checkHeaderFields(headers);
  for (const [name] of headers) {
    if (owned.toLowerCase().split(' ').includes(name.toLowerCase())) {
      throw usageError(`${name} is set by the handshake`);
    }
  }
}

/**
 * Validates a handshake request per RFC 6455 §4.2.1 and builds the answer: the 101 Switching Protocols
 * response with the negotiated subprotocol and extensions, or an error response (see the module notes
 * for the statuses). The request may come from {@link RequestHeadParser} or from another HTTP server
 * (node:http's 'upgrade' event), with `version` like `'HTTP/1.1'`. Peer errors are returned, not thrown;
 * invalid options and a selector returning a subprotocol that was not offered throw a UsageError.
 */
export function acceptRequest(request: HttpRequest, options: ServerHandshakeOptions = {}): AcceptResult {
  const extraHeaders = options.headers ?? [];
  checkExtraHeaders(extraHeaders, SERVER_OWNED);
  const headers = request.headers;
  const refuse = (
    code: HandshakeErrorCode,
    status: number,
    message: string,
    fields?: HeaderField[],
  ): AcceptResult => ({
    ok: false,
    response: rejectResponse(status, `WebSocket handshake failed: ${message}\n`, fields),
    error: new HandshakeError(code, status, message),
  });
  /** "missing X header" when absent, "invalid X header" when present (several, or a bad value). */
  const missingOrInvalid = (values: readonly string[], name: string) =>
    `${values.length === 0 ? 'missing' : 'invalid'} ${name} header`;

  // RFC 6455 §4.2.1 item 1: the handshake is a GET; RFC 9110 §15.5.6: a 405 MUST list allowed methods.
  if (request.method !== 'GET') {
    return refuse('INVALID_METHOD', 405, `method ${request.method} is not GET`, [['Allow', 'GET']]);
  }
  // RFC 6455 §4.2.1 item 1: HTTP/1.1 or higher.
  const version = HTTP_VERSION.exec(request.version);
  if (version === null || Number(version[1]) * 10 + Number(version[2]) < 11) {
    return refuse('INVALID_HTTP_VERSION', 400, `${request.version} is older than ${HTTP_1_1}`);
  }
  // RFC 6455 §4.2.1 item 2 and RFC 9112 §3.2: a server MUST answer 400 to a missing Host, to several
  // Host fields, or to an invalid one.
  const host = getHeaderValues(headers, HOST);
  if (host.length !== 1 || !isAuthority(host[0]!)) {
    return refuse('MISSING_HOST', 400, missingOrInvalid(host, HOST));
  }
  // RFC 6455 §4.2.1 item 3: Upgrade includes "websocket", ASCII case-insensitively. Without it this is
  // not a WebSocket request at all (typically a browser opening the URL): 426 says what this endpoint
  // speaks (RFC 9110 §15.5.22), and the body says it to a person.
  if (!hasToken(headers, UPGRADE, WEBSOCKET)) {
    return refuse('INVALID_UPGRADE', 426, 'not a WebSocket request (no "websocket" in Upgrade)');
  }
  // RFC 6455 §4.2.1 item 4: Connection includes the "Upgrade" token, ASCII case-insensitively.
  if (!hasToken(headers, CONNECTION, UPGRADE)) return refuse('INVALID_CONNECTION', 400, NO_UPGRADE_TOKEN);
  // Any body would be taken for WebSocket frames; some clients send "Content-Length: 0", which is fine.
  const contentLength = getHeaderList(headers, CONTENT_LENGTH);
  if (
    getHeaderValues(headers, TRANSFER_ENCODING).length > 0 || contentLength.some((value) => value !== '0')
  ) {
    return refuse('MALFORMED_HTTP', 400, 'the request has a body');
  }
  // RFC 6455 §4.2.1 item 6, §4.2.2 item 4 and §4.4: version 13, else 426 with the versions we support.
  const versions = getHeaderValues(headers, SEC_WEBSOCKET_VERSION);
  if (versions.length !== 1 || versions[0] !== VERSION) {
    return refuse('UNSUPPORTED_VERSION', 426, `${SEC_WEBSOCKET_VERSION} must be ${VERSION}`);
  }
  // RFC 6455 §4.2.1 item 5: the key is base64 of 16 bytes; §11.3.1: it MUST NOT appear more than once.
  const keys = getHeaderValues(headers, SEC_WEBSOCKET_KEY);
  if (keys.length !== 1 || !isValidKey(keys[0]!)) {
    return refuse('INVALID_KEY', 400, missingOrInvalid(keys, SEC_WEBSOCKET_KEY));
  }
  const key = keys[0]!;
  // RFC 6455 §4.2.2 item 4 and §10.2: the server may refuse origins; 403 is the status it names.
  const checkOrigin = options.checkOrigin ?? checkSameOrigin;
  if (!checkOrigin(getHeader(headers, ORIGIN), request)) {
    return refuse('FORBIDDEN_ORIGIN', 403, `${ORIGIN} not allowed`);
  }
  // RFC 6455 §4.2.1 item 8 and §11.3.4: Sec-WebSocket-Protocol is a list of tokens, possibly repeated.
  const offered = getHeaderList(headers, SEC_WEBSOCKET_PROTOCOL);
  if (!offered.every(isToken)) {
    return refuse('INVALID_SUBPROTOCOL', 400, missingOrInvalid(offered, SEC_WEBSOCKET_PROTOCOL));
  }
  const subprotocol = selectSubprotocol(offered, request, options);
  let extensionsHeader: string | null = null;
  let extensions: unknown = null;
  if (options.negotiateExtensions !== undefined) {
    // RFC 6455 §9.1: the server picks among the offered extensions; the hook owns their grammar.
    let negotiated: { header: string | null; result: unknown };
    try {
      negotiated = options.negotiateExtensions(getHeaderValues(headers, SEC_WEBSOCKET_EXTENSIONS), request);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      // The hook should say 400; anything that is not an error status is answered as 400.
      const status = error.status >= 400 && error.status <= 599 ? error.status : 400;
      return refuse(error.code, status, error.message);
    }
    if (negotiated.header !== null && (negotiated.header === '' || !isFieldValue(negotiated.header))) {
      throw usageError(`negotiateExtensions returned an invalid ${SEC_WEBSOCKET_EXTENSIONS}`);
    }
    extensionsHeader = negotiated.header;
    extensions = negotiated.result;
  }

  // RFC 6455 §4.2.2 item 5: the 101 with Upgrade, Connection and Sec-WebSocket-Accept, and the chosen
  // subprotocol and extensions, if any.
  const responseHeaders: HeaderField[] = [
    [UPGRADE, WEBSOCKET],
    [CONNECTION, UPGRADE],
    [SEC_WEBSOCKET_ACCEPT, computeAccept(key)],
  ];
  if (subprotocol !== null) responseHeaders.push([SEC_WEBSOCKET_PROTOCOL, subprotocol]);
  if (extensionsHeader !== null) responseHeaders.push([SEC_WEBSOCKET_EXTENSIONS, extensionsHeader]);
  responseHeaders.push(...extraHeaders);
  const response: HttpResponse = {
    version: HTTP_1_1,
    status: 101,
    reason: 'Switching Protocols',
    headers: responseHeaders,
    body: new Uint8Array(0),
  };
  return { ok: true, response, subprotocol, extensions, extensionsHeader };
}

function selectSubprotocol(
  offered: readonly string[],
  request: HttpRequest,
  options: ServerHandshakeOptions,
): string | null {
  if (options.selectSubprotocol !== undefined) {
    const selected = options.selectSubprotocol(offered, request);
    // RFC 6455 §4.2.2 item 5.4: the server MUST answer with one of the client's values, or none.
    if (selected !== null && !offered.includes(selected)) {
      throw usageError(`selectSubprotocol returned ${JSON.stringify(selected)}, which was not offered`);
    }
    return selected;
  }
  return options.subprotocols?.find((protocol) => offered.includes(protocol)) ?? null;
}

/**
 * Reason phrases of the statuses the core itself answers with. Any other status gets an empty reason:
 * RFC 9112 §4 makes the phrase optional and tells clients to ignore it, and the status code says it all.
 */
const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
};

/**
 * An error response to a handshake, also for refusals by the application: `status` (200–599, not 1xx),
 * a short text/plain body (default: the status and its reason phrase, which is empty for statuses the core
 * does not send itself: RFC 9112 §4 allows it) and `Connection: close`, since the connection
 * ends after it. A 426 also carries `Upgrade: websocket` (RFC 9110 §15.5.22 MUST) with the matching
 * `Connection: Upgrade, close` (RFC 9110 §7.8), and `Sec-WebSocket-Version: 13` (RFC 6455 §4.4).
 * `headers` are appended; a `Content-Type`, `Upgrade` or `Sec-WebSocket-Version` given there replaces the
 * default one. Throws UsageError('INVALID_ARGUMENT') for an invalid status or header, or for Connection,
 * Content-Length or Transfer-Encoding, which it owns.
 */
export function rejectResponse(
  status: number,
  body?: string | Uint8Array,
  headers: readonly HeaderField[] = [],
): HttpResponse {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw usageError(`invalid status for a refusal: ${status}`);
  }
  // The headers rejectResponse sets itself.
  checkExtraHeaders(headers, FRAMING);
  const reason = REASONS[status] ?? '';
  const bytes = typeof body === 'string'
    ? utf8Encoder.encode(body)
    : body ?? utf8Encoder.encode(`${status} ${reason}`.trimEnd() + '\n');
  const given = (name: string) => getHeaderValues(headers, name).length > 0;
  const fields: HeaderField[] = [];
  if (!given(CONTENT_TYPE)) fields.push([CONTENT_TYPE, 'text/plain; charset=utf-8']);
  fields.push([CONTENT_LENGTH, String(bytes.length)]);
  if (status === 426) {
    fields.push([CONNECTION, 'Upgrade, close']);
    if (!given(UPGRADE)) fields.push([UPGRADE, WEBSOCKET]);
    if (!given(SEC_WEBSOCKET_VERSION)) fields.push([SEC_WEBSOCKET_VERSION, VERSION]);
  } else {
    fields.push([CONNECTION, 'close']);
  }
  fields.push(...headers);
  return { version: HTTP_1_1, status, reason, headers: fields, body: bytes };
}

/** What a client needs to build its handshake request, given to {@link buildRequest}. */
export interface ClientHandshakeOptions {
  /** The `Host` header value: host[:port], IPv6 in brackets (RFC 9110 §7.2). */
  host: string;
  /** The request-target in origin-form: path and query, e.g. `'/chat?x=1'` (RFC 9112 §3.2.1). */
  target: string;
  /** The `Origin` header to send, if any (browsers always send one; RFC 6455 §4.1 item 8). */
  origin?: string | undefined;
  /** Subprotocols to offer, in preference order: unique tokens (RFC 6455 §4.1 item 10). */
  subprotocols?: readonly string[];
  /** The `Sec-WebSocket-Extensions` offer, built by the extension code (RFC 6455 §4.1 item 11). */
  extensionsHeader?: string | undefined;
  /**
   * Extra request headers. Same rules as the server's: tokens for names, no control characters in
   * values, and none of the headers the handshake sets (Host, Upgrade, Connection, Sec-WebSocket-*,
   * Origin) or that would imply a body (Content-Length, Transfer-Encoding).
   */
  headers?: readonly HeaderField[] | undefined;
}

/**
 * Builds the client's handshake request (RFC 6455 §4.1), headers in the order of the RFC §1.3 example.
 * `key` comes from {@link generateKey}. Throws UsageError('INVALID_ARGUMENT') for invalid options.
 */
export function buildRequest(options: ClientHandshakeOptions, key: string): HttpRequest {
  const invalid = (what: string, value: unknown) => usageError(`invalid ${what} ${JSON.stringify(value)}`);
  // RFC 6455 §4.1 items 2 and 4: the authority goes in Host, the path and query in the request line.
  if (!isAuthority(options.host)) throw invalid('host', options.host);
  if (!/^\/[\x21-\x7e]*$/.test(options.target)) throw invalid('target (not a path)', options.target);
  // RFC 6455 §4.1 item 7: the nonce is base64 of 16 bytes.
  if (!isValidKey(key)) throw invalid('key (use generateKey)', key);
  const headers: HeaderField[] = [
    [HOST, options.host],
    [UPGRADE, WEBSOCKET],
    [CONNECTION, UPGRADE],
    [SEC_WEBSOCKET_KEY, key],
  ];
  if (options.origin !== undefined) {
    if (options.origin === '' || !isFieldValue(options.origin)) throw invalid('origin', options.origin);
    headers.push([ORIGIN, options.origin]);
  }
  const subprotocols = options.subprotocols ?? [];
  for (const protocol of subprotocols) {
    // RFC 6455 §4.1 item 10: elements MUST be tokens and MUST all be unique.
    if (!isToken(protocol)) throw invalid('subprotocol', protocol);
  }
  if (new Set(subprotocols).size !== subprotocols.length) {
    throw invalid('subprotocols (duplicates)', subprotocols);
  }
  if (subprotocols.length > 0) headers.push([SEC_WEBSOCKET_PROTOCOL, subprotocols.join(', ')]);
  // RFC 6455 §4.1 item 9: version 13.
  headers.push([SEC_WEBSOCKET_VERSION, VERSION]);
  if (options.extensionsHeader !== undefined) {
    if (options.extensionsHeader === '' || !isFieldValue(options.extensionsHeader)) {
      throw invalid(SEC_WEBSOCKET_EXTENSIONS, options.extensionsHeader);
    }
    headers.push([SEC_WEBSOCKET_EXTENSIONS, options.extensionsHeader]);
  }
  const extraHeaders = options.headers ?? [];
  checkExtraHeaders(extraHeaders, CLIENT_OWNED);
  headers.push(...extraHeaders);
  return { method: 'GET', target: options.target, version: HTTP_1_1, headers };
}

/** What {@link validateResponse} checks the server's response against. */
export interface ClientValidation {
  /** The `Sec-WebSocket-Key` that was sent. */
  key: string;
  /** The subprotocols that were offered. */
  subprotocols: readonly string[];
  /**
   * Accepts the server's `Sec-WebSocket-Extensions` values (every field, in order, possibly none) and
   * returns an opaque result, or throws HandshakeError('INVALID_EXTENSIONS'). Without it, any extension
   * in the response fails the handshake (none was offered).
   */
  acceptExtensions?: ((values: readonly string[]) => unknown) | undefined;
}

/** The outcome of {@link validateResponse}. */
export type ResponseCheck = { ok: true; subprotocol: string | null; extensions: unknown } | {
  ok: false;
  error: HandshakeError;
};

/**
 * The client's checks of the server's response (RFC 6455 §4.1, "if the response ..."), in the RFC's
 * order. Failures are returned as a HandshakeError carrying the response's status, headers and body:
 * INVALID_STATUS (not 101), INVALID_UPGRADE, INVALID_CONNECTION, INVALID_ACCEPT, INVALID_EXTENSIONS,
 * INVALID_SUBPROTOCOL.
 */
export function validateResponse(response: HttpResponse, check: ClientValidation): ResponseCheck {
  const headers = response.headers;
  const fail = (code: HandshakeErrorCode, message: string): ResponseCheck => ({
    ok: false,
    error: new HandshakeError(code, response.status, message, headers, response.body),
  });
  // RFC 6455 §4.1: any status other than 101 means the handshake did not happen.
  if (response.status !== 101) {
    const reason = response.reason === '' ? '' : ` ${response.reason}`;
    return fail('INVALID_STATUS', `the server answered ${response.status}${reason} instead of 101`);
  }
  // RFC 6455 §4.1: Upgrade MUST be "websocket", ASCII case-insensitively, else fail the connection.
  const upgrade = getHeaderList(headers, UPGRADE);
  if (upgrade.length !== 1 || upgrade[0]!.toLowerCase() !== WEBSOCKET) {
    return fail('INVALID_UPGRADE', `${UPGRADE} is not "${WEBSOCKET}"`);
  }
  // RFC 6455 §4.1: Connection MUST contain the "Upgrade" token, ASCII case-insensitively.
  if (!hasToken(headers, CONNECTION, UPGRADE)) {
    return fail('INVALID_CONNECTION', NO_UPGRADE_TOKEN);
  }
  // RFC 6455 §4.1: Sec-WebSocket-Accept MUST be the expected value exactly (once, case-sensitive).
  const accept = getHeaderValues(headers, SEC_WEBSOCKET_ACCEPT);
  if (accept.length !== 1 || accept[0] !== computeAccept(check.key)) {
    return fail('INVALID_ACCEPT', `wrong or missing ${SEC_WEBSOCKET_ACCEPT}`);
  }
  // RFC 6455 §4.1: an extension that was not offered MUST fail the connection.
  const extensionValues = getHeaderValues(headers, SEC_WEBSOCKET_EXTENSIONS);
  let extensions: unknown = null;
  if (check.acceptExtensions !== undefined) {
    try {
      extensions = check.acceptExtensions(extensionValues);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return fail(error.code, error.message);
    }
  } else if (extensionValues.some((value) => parseTokenList(value).length > 0)) {
    return fail('INVALID_EXTENSIONS', 'the server chose an extension, none was offered');
  }
  // RFC 6455 §4.1: a subprotocol that was not offered MUST fail the connection; one at most (§4.2.2).
  const selected = getHeaderList(headers, SEC_WEBSOCKET_PROTOCOL);
  const subprotocol = selected[0] ?? null;
  if (selected.length > 1 || (subprotocol !== null && !check.subprotocols.includes(subprotocol))) {
    return fail(
      'INVALID_SUBPROTOCOL',
      `the server chose "${selected.join(', ')}", not one offered subprotocol`,
    );
  }
  return { ok: true, subprotocol, extensions };
}
