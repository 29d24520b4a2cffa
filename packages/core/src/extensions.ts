/**
 * The `Sec-WebSocket-Extensions` header: parser and formatter (RFC 6455 §9.1, RFC 7692 §5).
 *
 * Grammar (RFC 6455 §9.1, with the list rules of RFC 9110 §5.6.1):
 *
 * ```
 * Sec-WebSocket-Extensions = 1#extension
 * extension                = extension-token *( OWS ";" OWS extension-param )
 * extension-param          = token [ BWS "=" BWS ( token / quoted-string ) ]
 * ```
 *
 * A header may appear several times; its values then form one list, in order (RFC 9110 §5.3). Each
 * element is one offer (or, in a response, one accepted extension); the same extension name may appear in
 * several elements, which a client uses to offer fallbacks (RFC 7692 §5.1). The parser keeps every element
 * and every parameter in order, duplicates included: deciding what a duplicate means is the extension's
 * job (RFC 7692 §5 makes it grounds for declining), not the grammar's.
 */

/** One element of a `Sec-WebSocket-Extensions` list: an extension name and its parameters, in order. */
export interface ExtensionOffer {
  readonly name: string;
  /** Parameters in header order; `true` stands for a parameter given without a value. */
  readonly params: ReadonlyArray<readonly [name: string, value: string | true]>;
}

import { UsageError } from './errors.ts';

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT /
// ALPHA (RFC 9110 §5.6.2), as a 128-entry table so that the scanner does one lookup per byte.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** Whether `s` is a non-empty token (RFC 9110 §5.6.2). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTchar(s.charCodeAt(i))) return false;
  return true;
}

/** Scans one header field value; the cursor is a closure-free object so the hot loop stays monomorphic. */
class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.pos);
  }

  /** OWS = *( SP / HTAB ) (RFC 9110 §5.6.3). */
  skipOws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB) return;
      this.pos++;
    }
  }

  /** A token, or '' when none starts here. */
  token(): string {
    const start = this.pos;
    while (this.pos < this.s.length && isTchar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /**
   * quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, unescaped (RFC 9110 §5.6.4); null when
   * malformed. The cursor is on the opening quote.
   */
  quotedString(): string | null {
    this.pos++;
    let out = '';
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos++);
      if (c === DQUOTE) return out;
      if (c === BACKSLASH) {
        if (this.pos >= this.s.length) return null;
        const e = this.s.charCodeAt(this.pos++);
        // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
        if (e !== HTAB && (e < SP || e === 0x7f || e > 0xff)) return null;
        out += this.s[this.pos - 1];
        continue;
      }
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (c !== HTAB && (c < SP || c === 0x7f || c > 0xff)) return null;
      out += this.s[this.pos - 1];
    }
    return null; // no closing quote
  }
}

/** Parses one field value into `into`; false when it is malformed. */
function parseField(value: string, into: ExtensionOffer[]): boolean {
  const sc = new Scanner(value);
  for (;;) {
    sc.skipOws();
    if (sc.done) return true;
    // RFC 9110 §5.6.1: a recipient MUST accept (and ignore) empty list elements, so ", ,a" is one element.
    if (sc.peek() === 0x2c) {
      sc.pos++;
      continue;
    }
    const name = sc.token();
    if (name === '') return false;
    const params: Array<readonly [string, string | true]> = [];
    sc.skipOws();
    while (!sc.done && sc.peek() === 0x3b /* ; */) {
      sc.pos++;
      sc.skipOws();
      const param = sc.token();
      if (param === '') return false;
      sc.skipOws();
      let paramValue: string | true = true;
      if (!sc.done && sc.peek() === 0x3d /* = */) {
        sc.pos++;
        sc.skipOws();
        if (sc.done) return false;
        if (sc.peek() === DQUOTE) {
          const unquoted = sc.quotedString();
          // RFC 6455 §9.1: when the quoted-string form is used, the value after unescaping MUST be a token.
          if (unquoted === null || !isToken(unquoted)) return false;
          paramValue = unquoted;
        } else {
          paramValue = sc.token();
          if (paramValue === '') return false;
        }
        sc.skipOws();
      }
      params.push([param, paramValue]);
    }
    into.push({ name, params });
    if (sc.done) return true;
    if (sc.peek() !== 0x2c /* , */) return false;
    sc.pos++;
  }
}

/**
 * Parses the values of every `Sec-WebSocket-Extensions` header field of a request or response, in order.
 *
 * Returns the list elements in order (an empty array when there are none, e.g. no header at all), or
 * `null` when any field is malformed. Empty elements and fields are ignored (RFC 9110 §5.6.1).
 *
 * @param values The field values, one per header line, in the order they were received.
 */
export function parseExtensions(values: readonly string[]): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  for (const value of values) if (!parseField(value, offers)) return null;
  return offers;
}

/**
 * Formats one list element, e.g. `permessage-deflate; client_max_window_bits=10`.
 *
 * @throws {UsageError} `INVALID_ARGUMENT` when the name, a parameter name or a value is not a token:
 * RFC 6455 §9.1 allows nothing else, even quoted, so a non-token can only be a programming error.
 */
export function formatExtension(offer: ExtensionOffer): string {
  if (!isToken(offer.name)) {
    throw new UsageError('INVALID_ARGUMENT', `extension name is not a token: ${JSON.stringify(offer.name)}`);
  }
  let out = offer.name;
  for (const [name, value] of offer.params) {
    if (!isToken(name)) {
      throw new UsageError('INVALID_ARGUMENT', `extension parameter is not a token: ${JSON.stringify(name)}`);
    }
    if (value === true) {
      out += `; ${name}`;
    } else {
      if (!isToken(value)) {
        throw new UsageError(
          'INVALID_ARGUMENT',
          `extension parameter value is not a token: ${JSON.stringify(value)}`,
        );
      }
      out += `; ${name}=${value}`;
    }
  }
  return out;
}
