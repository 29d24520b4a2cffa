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

import { usageError } from './errors.ts';
import { isToken, PARAMETER, parseTokenList } from './http.ts';

export { isToken };

// extension = extension-token *( OWS ";" OWS extension-param ), the whole of one trimmed list element.
const ELEMENT = new RegExp(`^([^ \\t;]+)((?:${PARAMETER})*)$`);
const PARAMETERS = new RegExp(PARAMETER, 'g');

/**
 * Parses the values of every `Sec-WebSocket-Extensions` header field of a request or response, in order.
 *
 * Returns the list elements in order (an empty array when there are none, e.g. no header at all), or
 * `null` when any field is malformed. Empty elements and fields are ignored (RFC 9110 §5.6.1).
 *
 * Splitting a field at every comma before parsing its elements is exact here: a comma inside a quoted
 * value could never be valid, since a value must be a token once unescaped (RFC 6455 §9.1), and the
 * element holding its opening quote then has no closing one and is malformed.
 *
 * @param values The field values, one per header line, in the order they were received.
 */
export function parseExtensions(values: readonly string[]): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  for (const value of values) {
    for (const element of parseTokenList(value)) {
      const match = ELEMENT.exec(element);
      if (match === null || !isToken(match[1]!)) return null;
      const params: [string, string | true][] = [];
      for (const [, name, token, quoted] of match[2]!.matchAll(PARAMETERS)) {
        // RFC 6455 §9.1: a quoted value, once unescaped, must still be a token (RFC 7692 §7.1.2 too).
        const unquoted = quoted?.slice(1, -1).replace(/\\(.)/g, '$1');
        if (unquoted !== undefined && !isToken(unquoted)) return null;
        params.push([name!, token ?? unquoted ?? true]);
      }
      offers.push({ name: match[1]!, params });
    }
  }
  return offers;
}

/**
 * Formats one list element, e.g. `permessage-deflate; client_max_window_bits=10`.
 *
 * @throws {UsageError} `INVALID_ARGUMENT` when the name, a parameter name or a value is not a token:
 * RFC 6455 §9.1 allows nothing else, even quoted, so a non-token can only be a programming error.
 */
export function formatExtension(offer: ExtensionOffer): string {
  const check = (what: string, text: string): void => {
    if (!isToken(text)) throw usageError(`extension ${what} is not a token: ${JSON.stringify(text)}`);
  };
  check('name', offer.name);
  let out = offer.name;
  for (const [name, value] of offer.params) {
    check('parameter', name);
    if (value !== true) check('parameter value', value);
    out += value === true ? `; ${name}` : `; ${name}=${value}`;
  }
  return out;
}
